package githubfake

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
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
		"first 0":     {EditsQuery, map[string]any{"id": id, "first": 0}},
		"bad cursor":  {EditsQuery, map[string]any{"id": id, "first": 1, "after": "nope"}},
		"unknown id":  {EditsQuery, map[string]any{"id": "I_x", "first": 1}},
		"101 ids":     {EditsBatchQuery, map[string]any{"ids": make([]string, 101), "first": 1}},
		"no ids":      {EditsBatchQuery, map[string]any{"first": 1}},
		"batch first": {EditsBatchQuery, map[string]any{"ids": []string{id}, "first": 101}},
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
	// A batch answers in the order of its ids, null with a NOT_FOUND
	// error at ["nodes", i] for an id that resolves to nothing.
	_, out = post("t0ken", EditsBatchQuery, map[string]any{"ids": []string{"I_x", id}, "first": 1})
	b, _ = json.Marshal(out)
	if !strings.Contains(string(b), `"nodes":[null,{"userContentEdits":{"nodes":[{`) || !strings.Contains(string(b), `"path":["nodes",0],"type":"NOT_FOUND"`) {
		t.Errorf("batch: %s", b)
	}
}

// GraphQL rate-limit faults answer as GitHub does: primary 200 with a
// RATE_LIMITED error and x-ratelimit-remaining 0 until x-ratelimit-reset;
// a secondary limit 200 or 403 with retry-after; then the query is served.
// A REST fault (no GraphQL) never fires on the GraphQL endpoint.
func TestGraphQLRateLimitFaults(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Token = "t0ken"
	s.Add(&Repo{Owner: "o", Name: "r", Issues: []*Issue{{Number: 1, Edits: []Edit{{Diff: "a"}}}}})
	s.AddFault(&Fault{Kind: "secondary"}) // REST, every path
	for _, kind := range []string{"primary", "secondary-200", "secondary"} {
		s.AddFault(&Fault{GraphQL: true, Kind: kind})
	}
	post := func() (*http.Response, string) {
		body, _ := json.Marshal(map[string]any{"query": EditsQuery, "variables": map[string]any{"id": issueNodeID("o/r", 1), "first": 1}})
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/graphql", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer t0ken")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return resp, b.String()
	}
	resp, body := post()
	if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Remaining") != "0" || resp.Header.Get("X-RateLimit-Reset") == "" || !strings.Contains(body, `"type":"RATE_LIMITED"`) {
		t.Errorf("primary: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = post()
	if resp.StatusCode != 200 || resp.Header.Get("Retry-After") != "1" || !strings.Contains(body, "secondary rate limit") {
		t.Errorf("secondary-200: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = post()
	if resp.StatusCode != 403 || resp.Header.Get("Retry-After") != "1" || !strings.Contains(body, "secondary-rate-limits") {
		t.Errorf("secondary: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = post()
	if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Remaining") == "0" || !strings.Contains(body, `"diff":"a"`) {
		t.Errorf("then served: %d %s", resp.StatusCode, body)
	}
}

// Faults "null-data" and "empty" answer 200 with {"data":null} or {} and
// no errors; a fault's Header replaces the headers its kind set.
func TestGraphQLOddFaults(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Token = "t0ken"
	s.Add(&Repo{Owner: "o", Name: "r", Issues: []*Issue{{Number: 1, Edits: []Edit{{Diff: "a"}}}}})
	s.AddFault(&Fault{GraphQL: true, Kind: "null-data"})
	s.AddFault(&Fault{GraphQL: true, Kind: "empty"})
	s.AddFault(&Fault{GraphQL: true, Kind: "secondary-200", Header: map[string]string{"Retry-After": "100000000000000"}})
	body, _ := json.Marshal(map[string]any{"query": EditsQuery, "variables": map[string]any{"id": issueNodeID("o/r", 1), "first": 1}})
	for _, want := range []string{`{"data":null}`, `{}`, `"errors"`, `"userContentEdits"`} {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/graphql", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer t0ken")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := strings.TrimSpace(string(b))
		if resp.StatusCode != http.StatusOK || !strings.Contains(got, want) || (want[0] == '{' && got != want) {
			t.Errorf("%d %s, want %s", resp.StatusCode, got, want)
		}
		if want == `"errors"` && resp.Header.Get("Retry-After") != "100000000000000" {
			t.Errorf("Retry-After %q, want the fault's Header", resp.Header.Get("Retry-After"))
		}
	}
}
