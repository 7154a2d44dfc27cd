package githubfake

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v62/github"
)

// mintJWT signs claims as GitHub's JWT page describes (RS256).
func mintJWT(t *testing.T, key *rsa.PrivateKey, alg string, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	head, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	body, _ := json.Marshal(claims)
	signed := enc.EncodeToString(head) + "." + enc.EncodeToString(body)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + enc.EncodeToString(sig)
}

func clientWith(t *testing.T, s *Server, token string) *gh.Client {
	t.Helper()
	c, err := gh.NewClient(nil).WithAuthToken(token).WithEnterpriseURLs(s.APIURL(), s.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func status(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) {
		return er.Response.StatusCode
	}
	return 0
}

// TestAppJWTAndInstallationToken: a JWT that GitHub refuses (expired,
// expiring more than 10 minutes ahead, issued in the future, signed by
// another key, not RS256, for an unknown App) gets 401; a good one mints
// an installation token, which reads the installation's repositories and
// clones them over smart HTTP, writes check runs as the App, and sees
// nothing of another account (404).
func TestAppJWTAndInstallationToken(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Token = "ghp_operator"
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	dir := filepath.Join(t.TempDir(), "r.git")
	if err := BuildRepo(dir, []Commit{{Files: map[string][]byte{"a.txt": []byte("a\n")}}}); err != nil {
		t.Fatal(err)
	}
	s.Add(&Repo{Owner: "acme", Name: "app", Dir: dir}, &Repo{Owner: "other", Name: "secret", Dir: dir})
	s.AddApp(&App{ID: 7, Slug: "scanner", Key: &key.PublicKey, Installations: map[int64]string{70: "acme"}})
	ctx := context.Background()
	now := time.Now().Unix()
	good := map[string]any{"iat": now - 60, "exp": now + 540, "iss": "7"}
	for name, jwt := range map[string]string{
		"expired":        mintJWT(t, key, "RS256", map[string]any{"iat": now - 700, "exp": now - 100, "iss": "7"}),
		"too long":       mintJWT(t, key, "RS256", map[string]any{"iat": now - 60, "exp": now + 660, "iss": "7"}),
		"future iat":     mintJWT(t, key, "RS256", map[string]any{"iat": now + 300, "exp": now + 540, "iss": "7"}),
		"another key":    mintJWT(t, other, "RS256", good),
		"not RS256":      mintJWT(t, key, "none", good),
		"unknown App":    mintJWT(t, key, "RS256", map[string]any{"iat": now - 60, "exp": now + 540, "iss": "8"}),
		"a user's token": s.Token,
	} {
		_, _, err := clientWith(t, s, jwt).Apps.CreateInstallationToken(ctx, 70, nil)
		t.Logf("%s: %v", name, err)
		if status(err) != http.StatusUnauthorized {
			t.Errorf("%s: %v; want 401", name, err)
		}
	}
	app := clientWith(t, s, mintJWT(t, key, "RS256", map[string]any{"iat": now - 60, "exp": now + 540, "iss": 7}))
	if _, _, err := app.Apps.CreateInstallationToken(ctx, 71, nil); status(err) != http.StatusNotFound {
		t.Errorf("another App's installation: %v; want 404", err)
	}
	a, _, err := app.Apps.Get(ctx, "")
	if err != nil || a.GetSlug() != "scanner" {
		t.Fatalf("GET /app: %+v %v", a, err)
	}
	it, _, err := app.Apps.CreateInstallationToken(ctx, 70, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(it.GetExpiresAt().Time); d < 59*time.Minute || d > time.Hour {
		t.Errorf("token expires in %s; want an hour", d)
	}
	inst := clientWith(t, s, it.GetToken())
	if _, _, err := inst.Repositories.Get(ctx, "acme", "app"); err != nil {
		t.Errorf("the installation's repository: %v", err)
	}
	if _, _, err := inst.Repositories.Get(ctx, "other", "secret"); status(err) != http.StatusNotFound {
		t.Errorf("another account's repository: %v; want 404", err)
	}
	if _, _, err := inst.Users.Get(ctx, ""); status(err) != http.StatusForbidden {
		t.Errorf("GET /user with an installation token: %v; want 403", err)
	}
	run, _, err := inst.Checks.CreateCheckRun(ctx, "acme", "app", gh.CreateCheckRunOptions{Name: "bks", HeadSHA: strings.Repeat("a", 40)})
	if err != nil || run.GetApp().GetID() != 7 {
		t.Errorf("check run as the App: %+v %v", run, err)
	}
	clone := func(token, repo string) error {
		url := strings.Replace(s.URL, "http://", "http://x-access-token:"+token+"@", 1) + "/git/" + repo + ".git"
		out, err := exec.Command("git", "clone", "-q", "--bare", url, filepath.Join(t.TempDir(), "c.git")).CombinedOutput()
		if err != nil {
			return errors.New(string(out))
		}
		return nil
	}
	if err := clone(it.GetToken(), "acme/app"); err != nil {
		t.Errorf("clone with the installation token: %v", err)
	}
	if err := clone(it.GetToken(), "other/secret"); err == nil {
		t.Error("the installation token cloned another account's repository")
	}
	s.Now = func() time.Time { return time.Now().Add(61 * time.Minute) }
	if _, _, err := inst.Repositories.Get(ctx, "acme", "app"); status(err) != http.StatusUnauthorized {
		t.Errorf("an expired installation token: %v; want 401", err)
	}
}

// TestCheckRunsRefuseUserTokens: a personal access token may read check
// runs but not write them (403, GitHub's message); it may set a commit
// status, whose state GitHub validates.
func TestCheckRunsRefuseUserTokens(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Token = "ghp_operator"
	s.Add(&Repo{Owner: "acme", Name: "app"})
	c := newClient(t, s)
	ctx := context.Background()
	sha := strings.Repeat("b", 40)
	_, _, err = c.Checks.CreateCheckRun(ctx, "acme", "app", gh.CreateCheckRunOptions{Name: "bks", HeadSHA: sha})
	t.Logf("create check run with a PAT: %v", err)
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusForbidden || er.Message != "You must authenticate via a GitHub App." {
		t.Errorf("create with a PAT: %v; want 403 You must authenticate via a GitHub App.", err)
	}
	if _, _, err := c.Checks.UpdateCheckRun(ctx, "acme", "app", 1, gh.UpdateCheckRunOptions{Name: "bks"}); status(err) != http.StatusForbidden {
		t.Errorf("update with a PAT: %v; want 403", err)
	}
	if _, _, err := c.Checks.ListCheckRunsForRef(ctx, "acme", "app", sha, nil); err != nil {
		t.Errorf("list with a PAT: %v", err)
	}
	if _, _, err := c.Repositories.CreateStatus(ctx, "acme", "app", sha, &gh.RepoStatus{State: gh.String("bogus")}); status(err) != http.StatusUnprocessableEntity {
		t.Errorf("a status with state bogus: %v; want 422", err)
	}
	st, _, err := c.Repositories.CreateStatus(ctx, "acme", "app", sha, &gh.RepoStatus{State: gh.String("failure"), Context: gh.String("bks")})
	if err != nil || st.GetCreator().GetLogin() != "octocat" {
		t.Errorf("status: %+v %v", st, err)
	}
	u, _, err := c.Users.Get(ctx, "")
	if err != nil || u.GetLogin() != "octocat" {
		t.Errorf("GET /user: %+v %v", u, err)
	}
}
