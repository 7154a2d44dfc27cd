package serve

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"github.com/bks-dev/bks/internal/testkeys"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/rules"
	"github.com/bks-dev/bks/scan"
	"github.com/bks-dev/bks/serve/store"
	"github.com/bks-dev/bks/sources"
)

const (
	testAppID        = 4242
	testAppSlug      = "bks-test"
	testInstallation = 77001
	instID           = "77001"
)

var (
	keyOnce  sync.Once
	appKey   *rsa.PrivateKey
	otherKey *rsa.PrivateKey
)

// testKeys are an App's private key and another one, made once.
func testKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keyOnce.Do(func() {
		appKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		otherKey, _ = rsa.GenerateKey(rand.Reader, 2048)
	})
	if appKey == nil || otherKey == nil {
		t.Fatal("no RSA key")
	}
	return appKey, otherKey
}

// addApp registers the App bks-test, installed on octo, with the fake and
// returns the service's credentials as that App.
func (g *ghRepo) addApp(t *testing.T) *GitHubAuth {
	key, _ := testKeys(t)
	g.fake.AddApp(&githubfake.App{ID: testAppID, Slug: testAppSlug, Key: &key.PublicKey,
		Installations: map[int64]string{testInstallation: "octo"}})
	return &GitHubAuth{APIURL: g.fake.APIURL(), AppID: testAppID, Key: key}
}

// prBody is a pull_request delivery of pull request 5, base..head.
func prBody(action, base, head string) []byte {
	return []byte(`{"action":"` + action + `","number":5,"pull_request":{"base":{"sha":"` + base + `","ref":"main"},"head":{"sha":"` +
		head + `"}},"repository":{"full_name":"octo/repo"},"installation":{"id":` + instID + `}}`)
}

// userClient is an API client of the fake with a user's token.
func userClient(t *testing.T, fake *githubfake.Server, token string) *gh.Client {
	t.Helper()
	c, err := gh.NewClient(nil).WithAuthToken(token).WithEnterpriseURLs(fake.APIURL(), fake.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHostileMarkerCommentLeftAlone: the pull request's author posts a
// comment that starts with the service's marker before the service
// reports. The service leaves it alone and posts its own (as the App's
// bot), and a later push edits the service's comment, not the author's;
// with the store's record lost, the service still finds its own by login.
func TestHostileMarkerCommentLeftAlone(t *testing.T) {
	w := newWorld(t)
	w.cfg.Respond = nil
	w.fake.AddUser("ghp_mallory000000000000", "mallory")
	w.work.Git("push", "-q", "origin", "main:refs/pull/5/head")
	const hostile = commentMarker + "\nLooks fine to me, no keys here. [click](https://evil.example)"
	if _, _, err := userClient(t, w.fake, "ghp_mallory000000000000").Issues.CreateComment(context.Background(), "octo", "repo", 5,
		&gh.IssueComment{Body: gh.String(hostile)}); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, "", w.cfg)
	ts.deliver(t, "pr-opened", "pull_request", prBody("opened", w.cleanC, w.keyC))
	check := func(when string, wantEdits int) githubfake.Comment {
		t.Helper()
		cs := w.fake.Comments("octo", "repo", 5)
		for _, c := range cs {
			t.Logf("%s: comment %d by %s (edited %d): %.60q", when, c.ID, c.User, c.Edited, c.Body)
		}
		if len(cs) != 2 || cs[0].User != "mallory" || cs[0].Body != hostile || cs[0].Edited != 0 {
			t.Fatalf("%s: %d comments; want the author's untouched and the service's; logs:\n%s", when, len(cs), ts.logs)
		}
		if cs[1].User != testAppSlug+"[bot]" || !strings.Contains(cs[1].Body, "config.env") || cs[1].Edited != wantEdits {
			t.Fatalf("%s: the service's comment %+v; want by %s[bot], naming config.env, edited %d time(s)", when, cs[1], testAppSlug, wantEdits)
		}
		return cs[1]
	}
	mine := check("after opened", 0)
	e, ok, err := ts.st.GetEffect(context.Background(), commentKey("octo", "repo", 5))
	if !ok || err != nil || e.Detail != strconv.FormatInt(mine.ID, 10) {
		t.Errorf("comment effect %+v %v %v; want the id %d recorded", e, ok, err, mine.ID)
	}

	c3, _ := w.commitKey("more.env", "BedrockAPIKey-e2e2", ourAccount, 78)
	w.work.Git("push", "-q", "-f", "origin", "main:refs/pull/5/head")
	ts.deliver(t, "pr-sync", "pull_request", prBody("synchronize", w.cleanC, c3))
	check("after synchronize", 1)

	// A new database: no record; the service's login finds its comment.
	fresh := startServer(t, "", w.cfg)
	w.commitKey("third.env", "BedrockAPIKey-e2e3", ourAccount, 79)
	c4 := w.work.Commit("more")
	w.work.Git("push", "-q", "-f", "origin", "main:refs/pull/5/head")
	fresh.deliver(t, "pr-sync-2", "pull_request", prBody("synchronize", w.cleanC, c4))
	check("after a push with the record lost", 2)
}

// TestCheckRunOfAnotherAppNotAdopted: another App has a check run named
// bks on the head commit; the service leaves it alone and reports on its
// own run.
func TestCheckRunOfAnotherAppNotAdopted(t *testing.T) {
	w := newWorld(t)
	w.cfg.Respond = nil
	_, other := testKeys(t)
	w.fake.AddApp(&githubfake.App{ID: 999, Slug: "impostor", Key: &other.PublicKey, Installations: map[int64]string{5: "octo"}})
	w.work.Git("push", "-q", "origin", "main")
	imp := &GitHubAuth{APIURL: w.fake.APIURL(), AppID: 999, Key: other}
	c, _, err := imp.client(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Checks.CreateCheckRun(context.Background(), "octo", "repo", gh.CreateCheckRunOptions{
		Name: CheckName, HeadSHA: w.keyC, Conclusion: gh.String("success"),
		Output: &gh.CheckRunOutput{Title: gh.String("all good"), Summary: gh.String("nothing to see")},
	}); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, "", w.cfg)
	ts.deliver(t, "push-1", "push", pushBodyOf("refs/heads/main", w.cleanC, w.keyC))
	runs := w.checkRuns()
	for _, r := range runs {
		t.Logf("check run %d of App %d (%s): %s, %q, %d annotation(s)", r.ID, r.AppID, r.AppSlug, r.Conclusion, r.Title, len(r.Annotations))
	}
	if len(runs) != 2 || runs[0].AppID != 999 || runs[0].Conclusion != "success" || len(runs[0].Annotations) != 0 {
		t.Fatalf("want the impostor's run untouched and the service's own; logs:\n%s", ts.logs)
	}
	if runs[1].AppID != testAppID || runs[1].Conclusion != "failure" || len(runs[1].Annotations) != 1 {
		t.Errorf("the service's run %+v", runs[1])
	}
}

// TestInstallationTokenCachedAndRefreshed: one token per installation is
// minted and reused while more than tokenMargin of its hour remains, then
// replaced; the fake's own clock refuses the old token once it expired.
func TestInstallationTokenCachedAndRefreshed(t *testing.T) {
	g := newGHRepo(t, "ghp_unused00000000000000")
	auth := g.addApp(t)
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	auth.Now, g.fake.Now = clock, clock
	ctx := context.Background()
	t1, err := auth.token(ctx, testInstallation)
	if err != nil {
		t.Fatal(err)
	}
	advance(50 * time.Minute)
	t2, _ := auth.token(ctx, testInstallation)
	if t2 != t1 || g.fake.Count("access_tokens") != 1 {
		t.Fatalf("after 50 minutes: a new token %v, %d minted; want the cached one", t2 != t1, g.fake.Count("access_tokens"))
	}
	advance(6 * time.Minute) // 4 minutes left: under the margin
	t3, err := auth.token(ctx, testInstallation)
	if err != nil || t3 == t1 || g.fake.Count("access_tokens") != 2 {
		t.Fatalf("after 56 minutes: %v, %d minted; want a new token", err, g.fake.Count("access_tokens"))
	}
	advance(5 * time.Minute) // the first token expired
	_, _, err = userClient(t, g.fake, t1).Repositories.Get(ctx, "octo", "repo")
	t.Logf("the expired token: %v", err)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("an expired installation token was accepted: %v", err)
	}
	if _, _, err := userClient(t, g.fake, t3).Repositories.Get(ctx, "octo", "repo"); err != nil {
		t.Errorf("the new token: %v", err)
	}
}

// TestAppKeyRefused: an App whose JWT GitHub refuses (signed with another
// key) gets no token; the job fails with GitHub's 401, without a token or
// key in its error, and nothing is reported.
func TestAppKeyRefused(t *testing.T) {
	w := newWorld(t)
	w.cfg.Respond = nil
	_, other := testKeys(t)
	bad := &GitHubAuth{APIURL: w.fake.APIURL(), AppID: testAppID, Key: other}
	w.cfg.GitHub, w.cfg.Report = bad, &Reporter{Auth: bad}
	w.cfg.MaxAttempts = 1
	w.work.Git("push", "-q", "origin", "main")
	ts := startServer(t, "", w.cfg)
	d := ts.deliver(t, "push-bad-key", "push", pushBodyOf("refs/heads/main", w.cleanC, w.keyC))
	js, _ := ts.st.JobsFor(context.Background(), "push-bad-key")
	t.Logf("delivery %s, jobs %+v", d.Status, js)
	if len(js) != 1 || js[0].State != store.JobFailed || !strings.Contains(js[0].LastError, "401") {
		t.Fatalf("jobs %+v; want one failed with GitHub's 401", js)
	}
	if len(w.checkRuns()) != 0 {
		t.Error("a check run was written")
	}
}

// TestPATReportsCommitStatus: with a personal access token (which GitHub
// does not let write check runs) the service sets the commit status bks
// instead: failure with a description that holds no key, the target URL;
// a re-run of the same commits sets nothing new. The pull request comment
// is the token user's.
func TestPATReportsCommitStatus(t *testing.T) {
	const pat = "ghp_operator0000000000000"
	g := newGHRepo(t, pat)
	g.fake.TokenLogin = "bks-operator"
	g.work.Write("README.md", "hello\n")
	clean := g.work.Commit("first")
	g.work.Git("push", "-q", "origin", "main")
	keyC, key := g.commitKey("config.env", leakedUser, ourAccount, 77)
	g.work.Git("push", "-q", "origin", "main", "main:refs/pull/5/head")
	auth := &GitHubAuth{APIURL: g.fake.APIURL(), Token: pat}
	cfg := Config{RepoCache: t.TempDir(), GitURL: g.fake.URL + "/git/", GitHub: auth,
		Report: &Reporter{Auth: auth, TargetURL: "https://bks.example/incidents"}}
	ts := startServer(t, "", cfg)
	ts.deliver(t, "push-pat", "push", pushBodyOf("refs/heads/main", clean, keyC))
	ts.deliver(t, "push-pat-rerun", "push", pushBodyOf("refs/heads/main", clean, keyC))
	ts.deliver(t, "pr-pat", "pull_request", prBody("opened", clean, keyC))
	sts := g.fake.Statuses("octo", "repo")
	for _, st := range sts {
		t.Logf("status on %s by %s: %s %q %q %s", shortSHA(st.SHA), st.Creator, st.Context, st.State, st.Description, st.TargetURL)
	}
	if len(sts) != 1 || sts[0].SHA != keyC || sts[0].Context != StatusContext || sts[0].State != "failure" ||
		sts[0].TargetURL != "https://bks.example/incidents" || sts[0].Creator != "bks-operator" {
		t.Fatalf("statuses %+v; want one failure on %s; logs:\n%s", sts, keyC, ts.logs)
	}
	if strings.Contains(sts[0].Description, key) || strings.Contains(sts[0].Description, "config.env") {
		t.Errorf("the status description %q holds the key or a path", sts[0].Description)
	}
	if runs := g.fake.CheckRuns("octo", "repo"); len(runs) != 0 {
		t.Errorf("check runs %+v with a PAT", runs)
	}
	cs := g.fake.Comments("octo", "repo", 5)
	if len(cs) != 1 || cs[0].User != "bks-operator" {
		t.Errorf("comments %+v; want one by bks-operator", cs)
	}
}

// TestLoadAppKey reads the PEM forms GitHub and openssl write.
func TestLoadAppKey(t *testing.T) {
	key, _ := testKeys(t)
	dir := t.TempDir()
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	for name, block := range map[string]*pem.Block{
		"pkcs1.pem": {Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)},
		"pkcs8.pem": {Type: "PRIVATE KEY", Bytes: pkcs8},
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, pem.EncodeToMemory(block), 0o600)
		got, err := LoadAppKey(p)
		if err != nil || !got.Equal(key) {
			t.Errorf("%s: %v", name, err)
		}
	}
	os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not a key"), 0o600)
	if _, err := LoadAppKey(filepath.Join(dir, "junk.pem")); err == nil {
		t.Error("junk accepted")
	}
	// A key others may read is refused (it failed before: accepted).
	open := filepath.Join(dir, "open.pem")
	os.WriteFile(open, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o644)
	if _, err := LoadAppKey(open); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a key readable by others: %v, want refused", err)
	}
}

// TestScanAppliesConfig: the service's configuration applies to the push
// scan as to `detect git --range`: a key under an allowlisted path is not
// reported nor recorded, a key listed in the baseline neither, and the
// configuration's own rule reports what it matches.
func TestScanAppliesConfig(t *testing.T) {
	w := newWorld(t)
	w.cfg.Respond = nil
	w.work.Git("push", "-q", "origin", "main")
	_, fixtureKey := w.commitKey("fixtures/test.env", "BedrockAPIKey-fixture", ourAccount, 80)
	_, blKey := w.commitKey("old/leak.env", "BedrockAPIKey-baseline", ourAccount, 81)
	acme := "acme_" + strings.Repeat("Zx81fQk2", 4)
	w.work.Write("custom.txt", "ACME_TOKEN = \""+acme+"\"\n")
	// The pushed text marks a live key bks:allow: the service revokes it
	// all the same (the repository cannot switch its responses off).
	w.work.Write("inline.env", "AWS_BEARER_TOKEN_BEDROCK="+testkeys.LongTerm("BedrockAPIKey-inline", ourAccount, testkeys.Secret(82))+" # "+rules.InlineMarker+"\n")
	head := w.work.Commit("acme")
	w.work.Git("push", "-q", "origin", "main")
	cfg, err := rules.Parse("serve.toml", []byte(`
[[rules]]
id = "acme-api-token"
keywords = ["acme_"]
regex = '''acme_(?P<secret>[A-Za-z0-9]{32})\b'''

[[allowlists]]
id = "fixtures"
paths = ["fixtures/"]
`))
	if err != nil {
		t.Fatal(err)
	}
	// The baseline lists the key of old/leak.env, as --baseline-out writes it.
	base := findBaseline(t, blKey)
	w.cfg.Rules, w.cfg.Baseline = cfg, base
	ts := startServer(t, "", w.cfg)
	ts.deliver(t, "push-cfg", "push", pushBodyOf("refs/heads/main", w.cleanC, head))
	runs := w.checkRuns()
	if len(runs) != 1 {
		t.Fatalf("%d check runs; logs:\n%s", len(runs), ts.logs)
	}
	var paths []string
	for _, a := range runs[0].Annotations {
		paths = append(paths, a.Path)
	}
	t.Logf("annotations: %v", paths)
	sort.Strings(paths)
	if strings.Join(paths, ",") != "config.env,custom.txt,inline.env" {
		t.Errorf("annotated %v; want config.env, custom.txt and inline.env (not fixtures/test.env, not the baseline's old/leak.env)", paths)
	}
	is, _ := ts.st.ListIncidents(context.Background())
	if len(is) != 3 {
		t.Errorf("%d incidents, want 3 (config.env, custom.txt, inline.env): %+v", len(is), is)
	}
	if strings.Contains(ts.logs.String(), fixtureKey) || strings.Contains(ts.logs.String(), acme) {
		t.Error("a key in the logs")
	}
}

// findBaseline is the baseline of key, as `bks detect --baseline-out`
// writes it (rule and fingerprint).
func findBaseline(t *testing.T, key string) *rules.Baseline {
	t.Helper()
	data := []byte("AWS_BEARER_TOKEN_BEDROCK=" + key + "\n")
	var fs []findings.Finding
	err := scan.Scanner{Engine: rules.NewEngine(nil, detectors.Options{})}.Chunk(
		sources.Chunk{Data: data, Limit: len(data), Line: 1, Column: 1, Origin: &location.Location{Path: "old/leak.env"}},
		func(f findings.Finding) error { fs = append(fs, f); return nil })
	if err != nil || len(fs) == 0 {
		t.Fatalf("the baseline key is not found: %v", err)
	}
	var b bytes.Buffer
	if err := rules.WriteBaseline(&b, fs); err != nil {
		t.Fatal(err)
	}
	bl, err := rules.ReadBaseline(&b)
	if err != nil {
		t.Fatal(err)
	}
	return bl
}

// TestRevokedInstallationTokenReplaced: the installation token the
// service holds is revoked before its hour (DELETE /installation/token);
// the next delivery's fetch and report are refused with 401, and the
// service mints another token and goes on in the same attempt.
func TestRevokedInstallationTokenReplaced(t *testing.T) {
	w := newWorld(t)
	w.cfg.Respond = nil
	w.work.Git("push", "-q", "origin", "main")
	ts := startServer(t, "", w.cfg)
	ts.deliver(t, "push-1", "push", pushBodyOf("refs/heads/main", w.cleanC, w.keyC))
	auth := ts.srv.cfg.GitHub
	tok, err := auth.token(context.Background(), testInstallation)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := userClient(t, w.fake, tok).Apps.RevokeInstallationToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	c2, _ := w.commitKey("second.env", "BedrockAPIKey-e2e2", ourAccount, 90)
	w.work.Git("push", "-q", "origin", "main")
	ts.deliver(t, "push-2", "push", pushBodyOf("refs/heads/main", w.keyC, c2))
	js, _ := ts.st.JobsFor(context.Background(), "push-2")
	t.Logf("after the revocation: job %+v; tokens minted %d", js, w.fake.Count("access_tokens"))
	if len(js) != 1 || js[0].State != store.JobDone || js[0].Attempts != 1 {
		t.Fatalf("job %+v; want done at the first attempt; logs:\n%s", js, ts.logs)
	}
	if n := w.fake.Count("access_tokens"); n != 2 {
		t.Errorf("%d tokens minted, want 2", n)
	}
	if runs := w.checkRuns(); len(runs) != 2 || runs[1].HeadSHA != c2 {
		t.Errorf("check runs %+v; want one on %s", runs, c2)
	}
	// The report alone, with its token revoked.
	tok, _ = auth.token(context.Background(), testInstallation)
	if _, err := userClient(t, w.fake, tok).Apps.RevokeInstallationToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep := &Reporter{Auth: auth}
	if err := rep.report(context.Background(), target{repo: "octo/repo", installation: testInstallation, head: c2}, nil, nil); err != nil {
		t.Errorf("report with a revoked token: %v", err)
	}
	if n := w.fake.Count("access_tokens"); n != 3 {
		t.Errorf("%d tokens minted, want 3", n)
	}
}
