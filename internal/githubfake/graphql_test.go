package githubfake

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The GraphQL endpoint serves its one query and refuses the rest as
// GitHub does: no token (401), another query, first over 100, a bad
// cursor (200 with errors).
func TestGraphQLRefusals(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Token = "t0ken"
	s.Add(&Repo{Owner: "o", Name: "r", Issues: []*Issue{{Number: 1, Edits: []Edit{{Diff: "a"}, {Diff: "b"}}}}})
	id := issueNodeID("o/r", 1)
	post := func(auth, query string, vars map[string]any) (int, map[string]any) {
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/graphql", strings.NewReader(string(body)))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, _ := post("", EditsQuery, map[string]any{"id": id, "first": 1}); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	for name, c := range map[string]struct {
		query string
		vars  map[string]any
	}{
		"other query": {"query { viewer { login } }", nil},
		"no first":    {EditsQuery, map[string]any{"id": id}},
		"first 101":   {EditsQuery, map[string]any{"id": id, "first": 101}},
		"bad cursor":  {EditsQuery, map[string]any{"id": id, "first": 1, "after": "nope"}},
		"unknown id":  {EditsQuery, map[string]any{"id": "I_x", "first": 1}},
	} {
		code, out := post("t0ken", c.query, c.vars)
		if code != http.StatusOK || out["errors"] == nil {
			t.Errorf("%s: %d %v, want 200 with errors", name, code, out)
		}
	}
	// An installation on another account may not see o/r: its nodes
	// resolve to nothing, as on GitHub. It failed before: the edits came.
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	s.AddApp(&App{ID: 9, Slug: "elsewhere", Key: &key.PublicKey, Installations: map[int64]string{90: "x"}})
	now := time.Now().Unix()
	app := clientWith(t, s, mintJWT(t, key, "RS256", map[string]any{"iat": now - 60, "exp": now + 540, "iss": "9"}))
	it, _, err := app.Apps.CreateInstallationToken(context.Background(), 90, nil)
	if err != nil {
		t.Fatal(err)
	}
	if code, out := post(it.GetToken(), EditsQuery, map[string]any{"id": id, "first": 1}); code != http.StatusOK || out["errors"] == nil {
		t.Errorf("another account's installation: %d %v, want NOT_FOUND", code, out)
	}
	_, out := post("t0ken", EditsQuery, map[string]any{"id": id, "first": 1})
	b, _ := json.Marshal(out)
	if !strings.Contains(string(b), `"hasNextPage":true`) || !strings.Contains(string(b), `"diff":"a"`) {
		t.Errorf("page 1: %s", b)
	}
}
