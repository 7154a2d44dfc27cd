package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/testgit"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/serve/store"
)

const zero40 = "0000000000000000000000000000000000000000"

// ghRepo is octo/repo on a GitHub fake (git over smart HTTP through
// git-http-backend), and a working copy that pushes to it.
type ghRepo struct {
	fake *githubfake.Server
	work *testgit.Repo
}

func newGHRepo(t *testing.T, token string) *ghRepo {
	t.Helper()
	testgit.Need(t)
	fake, err := githubfake.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	fake.Token = token
	bare := filepath.Join(t.TempDir(), "repo.git")
	testgit.Run(t, "", nil, "init", "-q", "--bare", "-b", "main", bare)
	fake.Add(&githubfake.Repo{Owner: "octo", Name: "repo", Dir: bare})
	work := testgit.New(t, testgit.Options{})
	work.Git("remote", "add", "origin", bare)
	return &ghRepo{fake: fake, work: work}
}

// commitKey commits a file holding a key of user in account, and returns
// the commit and the key.
func (g *ghRepo) commitKey(file, user, account string, seed uint64) (string, string) {
	key := testkeys.LongTerm(user, account, testkeys.Secret(seed))
	g.work.Write(file, "AWS_BEARER_TOKEN_BEDROCK="+key+"\n")
	return g.work.Commit("add " + file), key
}

// pushBodyOf is the part of a push payload the service reads.
func pushBodyOf(ref, before, after string) []byte {
	b, _ := json.Marshal(map[string]any{
		"ref": ref, "before": before, "after": after, "created": before == zero40, "deleted": after == zero40,
		"commits":      []map[string]string{{"id": after}},
		"repository":   map[string]string{"full_name": "octo/repo", "default_branch": "main"},
		"installation": map[string]int64{"id": testInstallation},
	})
	return b
}

// deliver posts a signed delivery and waits until it is processed.
func (ts *testServer) deliver(t *testing.T, id, event string, body []byte) store.Delivery {
	t.Helper()
	if resp, msg := ts.post(t, id, event, body, "sign"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("%s: status %d %s", id, resp.StatusCode, msg)
	}
	var d store.Delivery
	waitFor(t, id+" processed", func() bool {
		var err error
		d, err = ts.st.GetDelivery(context.Background(), id)
		return err == nil && d.Status != store.DeliveryQueued
	})
	return d
}

// logged returns the JSON log lines with message msg for delivery id.
func (ts *testServer) logged(t *testing.T, msg, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(ts.logs.String()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg && m["delivery"] == id {
			out = append(out, m)
		}
	}
	return out
}

// scanned is the number of findings of delivery id's scan, -1 when it
// was not scanned.
func (ts *testServer) scanned(t *testing.T, id string) int {
	t.Helper()
	ls := ts.logged(t, "delivery scanned", id)
	if len(ls) == 0 {
		return -1
	}
	return int(ls[len(ls)-1]["findings"].(float64))
}

// TestFetchPushesFromGitHub: the service fetches each push from the
// GitHub fake over smart HTTP with the token into its own bare cache and
// scans exactly the pushed commits: the first push of main (the branch),
// a push (before..after), a new branch (only its commits: not what main
// has), a force push (the new commits). The token is in no file of the
// cache.
func TestFetchPushesFromGitHub(t *testing.T) {
	const token = "ghp_fetchtoken0123456789"
	g := newGHRepo(t, token)
	cache := t.TempDir()
	ts := startServer(t, "", Config{RepoCache: cache, GitURL: g.fake.URL + "/git/", GitToken: token})

	c1, _ := g.commitKey("a.env", "BedrockAPIKey-aaa1", "111122223333", 1)
	g.work.Git("push", "-q", "origin", "main")
	ts.deliver(t, "d1", "push", pushBodyOf("refs/heads/main", zero40, c1))

	c2, _ := g.commitKey("b.env", "BedrockAPIKey-bbb2", "111122223333", 2)
	g.work.Git("push", "-q", "origin", "main")
	ts.deliver(t, "d2", "push", pushBodyOf("refs/heads/main", c1, c2))

	g.work.Git("checkout", "-q", "-b", "feature")
	c3, _ := g.commitKey("c.env", "BedrockAPIKey-ccc3", "111122223333", 3)
	g.work.Git("push", "-q", "origin", "feature")
	ts.deliver(t, "d3", "push", pushBodyOf("refs/heads/feature", zero40, c3))

	g.work.Git("checkout", "-q", "main")
	g.work.Git("reset", "-q", "--hard", c1)
	c4, _ := g.commitKey("d.env", "BedrockAPIKey-ddd4", "111122223333", 4)
	g.work.Git("push", "-q", "-f", "origin", "main")
	ts.deliver(t, "d4", "push", pushBodyOf("refs/heads/main", c2, c4))

	want := map[string]int{"d1": 1, "d2": 1, "d3": 1, "d4": 1}
	for _, id := range []string{"d1", "d2", "d3", "d4"} {
		got := ts.scanned(t, id)
		t.Logf("%s: %d finding(s)", id, got)
		if got != want[id] {
			t.Errorf("%s: %d findings scanned, want %d", id, got, want[id])
		}
	}
	is, err := ts.st.ListIncidents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(is) != 4 {
		t.Errorf("%d incidents, want 4", len(is))
	}
	for _, inc := range is {
		if inc.Findings != 1 {
			t.Errorf("%s seen %d times, want once", inc.Principal, inc.Findings)
		}
	}
	dir := filepath.Join(cache, "octo", "repo")
	if out := testgit.Run(t, dir, nil, "rev-parse", "refs/heads/main", "refs/heads/feature"); out != c4+"\n"+c3 {
		t.Errorf("cache refs %q, want main %s feature %s", out, c4, c3)
	}
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			if b, _ := os.ReadFile(path); strings.Contains(string(b), token) {
				t.Errorf("the token is in %s", path)
			}
		}
		return nil
	})
	if strings.Contains(ts.logs.String(), token) {
		t.Error("the token is in the log")
	}
}

// TestFetchRefusesWithoutToken: the fake asks for the token; a service
// without it fails the job (retried later), says why, and stores nothing.
func TestFetchRefusesWithoutToken(t *testing.T) {
	g := newGHRepo(t, "ghp_needed")
	c1, _ := g.commitKey("a.env", "BedrockAPIKey-aaa1", "111122223333", 1)
	g.work.Git("push", "-q", "origin", "main")
	ts := startServer(t, "", Config{RepoCache: t.TempDir(), GitURL: g.fake.URL + "/git/"})
	if resp, _ := ts.post(t, "d1", "push", pushBodyOf("refs/heads/main", zero40, c1), "sign"); resp.StatusCode != http.StatusAccepted {
		t.Fatal(resp.StatusCode)
	}
	waitFor(t, "the job retried", func() bool {
		js, err := ts.st.JobsFor(context.Background(), "d1")
		return err == nil && len(js) == 1 && js[0].LastError != ""
	})
	js, _ := ts.st.JobsFor(context.Background(), "d1")
	t.Logf("job %s: %s", js[0].State, js[0].LastError)
	if js[0].State != store.JobQueued || !strings.Contains(js[0].LastError, "fetch octo/repo") {
		t.Errorf("job %+v; want queued for a retry after a fetch error", js[0])
	}
}

// TestFetchHostilePayload: repository names and refs from a payload never
// leave the cache directory nor reach git as an option.
func TestFetchHostilePayload(t *testing.T) {
	for _, name := range []string{"../x", "octo/..", "octo/../../etc", "-x/y", "octo/.git", "a/b/c", "octo/repo\n", "/abs/x"} {
		if _, err := repoDir("/cache", name); err == nil {
			t.Errorf("repository %q accepted", name)
		}
	}
	for _, ref := range []string{"--upload-pack=touch /tmp/pwned", "refs/heads/--upload-pack=x", "refs/heads/a..b",
		"refs/heads/x:refs/heads/y", "refs/heads/@{-1}", "refs/heads/a b", "refs/heads/", "HEAD", "refs/remotes/x",
		"refs/heads/x.lock", "refs/heads/.hidden", "refs/heads/a\x01"} {
		if err := validRef(ref); err == nil {
			t.Errorf("ref %q accepted", ref)
		}
		if _, err := pushTarget(pushBodyOf(ref, zero40, strings.Repeat("a", 40))); err == nil {
			t.Errorf("push of %q accepted", ref)
		}
	}
	for _, ok := range []string{"refs/heads/main", "refs/heads/feature/x-1", "refs/tags/v1.2"} {
		if err := validRef(ok); err != nil {
			t.Errorf("ref %q refused: %v", ok, err)
		}
	}
	if _, err := pushTarget(pushBodyOf("refs/heads/main", zero40, "--output=x")); err == nil {
		t.Error("a non-hex after accepted")
	}
	cache := t.TempDir()
	f := &Fetcher{Dir: filepath.Join(cache, "c"), BaseURL: "http://127.0.0.1:1/"}
	if _, _, err := f.fetchChecked(context.Background(), "../escape", 0, []string{"refs/heads/main"}, nil, nil); err == nil {
		t.Error("fetch of ../escape accepted")
	}
	if _, err := os.Stat(filepath.Join(cache, "escape")); err == nil {
		t.Error("a directory was made outside the cache")
	}
}

// TestFetchTimeout: a server that never answers costs one fetch timeout,
// not a stuck worker.
func TestFetchTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	f := &Fetcher{Dir: t.TempDir(), BaseURL: "http://" + ln.Addr().String() + "/", Timeout: 500 * time.Millisecond}
	start := time.Now()
	_, _, err = f.fetchChecked(context.Background(), "octo/repo", 0, []string{"refs/heads/main"}, nil, nil)
	t.Logf("after %s: %v", time.Since(start).Round(time.Millisecond), err)
	if err == nil || !strings.Contains(err.Error(), "timed out") || time.Since(start) > 5*time.Second {
		t.Errorf("err %v after %s; want a timeout after 500ms", err, time.Since(start))
	}
}

// TestFetchLargePushScansWholeBranch: a push of more commits than
// MaxPushCommits is scanned as its whole branch, and says so.
func TestFetchLargePushScansWholeBranch(t *testing.T) {
	g := newGHRepo(t, "")
	ts := startServer(t, "", Config{RepoCache: t.TempDir(), GitURL: g.fake.URL + "/git/", MaxPushCommits: 1})
	c1, _ := g.commitKey("a.env", "BedrockAPIKey-aaa1", "111122223333", 1)
	g.work.Git("push", "-q", "origin", "main")
	ts.deliver(t, "d1", "push", pushBodyOf("refs/heads/main", zero40, c1))
	g.commitKey("b.env", "BedrockAPIKey-bbb2", "111122223333", 2)
	c3, _ := g.commitKey("c.env", "BedrockAPIKey-ccc3", "111122223333", 3)
	g.work.Git("push", "-q", "origin", "main")
	ts.deliver(t, "d2", "push", pushBodyOf("refs/heads/main", c1, c3))
	n := ts.scanned(t, "d2")
	warned := strings.Contains(ts.logs.String(), "whole branch is scanned")
	t.Logf("d2: %d findings, whole-branch warning %v", n, warned)
	if n != 3 || !warned {
		t.Errorf("d2: %d findings (want 3: the whole branch), warning %v", n, warned)
	}
}

// TestFetchTokenNotSentOnRedirect: the git host answers with a redirect to
// another host. git follows the first request's redirect and then sends
// every later request, http.extraHeader (the token) included, to that host
// (reposweep's TestTokenNotSentOnRedirect shows the token arriving); the
// fetch follows no redirect, so the other host sees nothing. It failed
// before the fetch took reposweep's git environment: "the other host got
// [GET /octo/repo.git/info/refs?service=git-upload-pack auth=false]".
func TestFetchTokenNotSentOnRedirect(t *testing.T) {
	var mu sync.Mutex
	var got []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.RequestURI()+" auth="+strconv.FormatBool(r.Header.Get("Authorization") != ""))
		mu.Unlock()
		http.NotFound(w, r)
	}))
	defer other.Close()
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	defer host.Close()
	f := &Fetcher{Dir: t.TempDir(), BaseURL: host.URL + "/", Timeout: 20 * time.Second, Auth: &GitHubAuth{Token: "ghp_secret_token"}}
	_, _, err := f.fetchChecked(context.Background(), "octo/repo", 0, []string{"refs/heads/main"}, nil, nil)
	mu.Lock()
	defer mu.Unlock()
	if len(got) > 0 {
		t.Errorf("the other host got %v (fetch: %v)", got, err)
	}
	if err == nil {
		t.Error("a fetch answered by a redirect succeeded")
	}
}

// TestFetchGitProcesses counts the git processes of a push job (each
// costs about 15 ms, mostly its start; docs/BENCH.md): a git named first
// on PATH logs each run before running the real one. A push onto a branch
// the cache has: the fetch, one object check after it (cat-file
// --batch-check: the pushed commit, and its before for the range), the
// commit count of the limit, and the scan's log with its two object
// readers; no for-each-ref (the range needs no other refs)
// and no count-objects (the fetched bytes are read from the object
// files). It ran 11 before: count-objects twice, cat-file -e three times
// and for-each-ref.
func TestFetchGitProcesses(t *testing.T) {
	g := newGHRepo(t, "")
	real, err := exec.LookPath("git")
	if err != nil {
		t.Skip(err)
	}
	bin, logf := t.TempDir(), filepath.Join(t.TempDir(), "git.log")
	shim := "#!/bin/sh\necho \"$*\" >>'" + logf + "'\nexec '" + real + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cache := t.TempDir()
	ts := startServer(t, "", Config{RepoCache: cache, GitURL: g.fake.URL + "/git/"})
	c1, _ := g.commitKey("a.env", "BedrockAPIKey-aaa1", "111122223333", 1)
	g.work.Git("push", "-q", "origin", "main")
	ts.deliver(t, "d1", "push", pushBodyOf("refs/heads/main", zero40, c1))
	c2, _ := g.commitKey("b.env", "BedrockAPIKey-bbb2", "111122223333", 2)
	g.work.Git("push", "-q", "origin", "main")
	if err := os.Remove(logf); err != nil {
		t.Fatal(err)
	}
	ts.deliver(t, "d2", "push", pushBodyOf("refs/heads/main", c1, c2))
	if n := ts.scanned(t, "d2"); n != 1 {
		t.Fatalf("d2: %d findings, want 1", n)
	}
	b, _ := os.ReadFile(logf)
	var runs []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		for len(f) > 1 && (f[0] == "-C" || f[0] == "-c") { // past git's options to the subcommand
			f = f[2:]
		}
		if len(f) > 0 && f[0] != "http-backend" { // http-backend: the fake's side
			runs = append(runs, f[0])
		}
	}
	t.Logf("d2's git processes: %v", runs)
	if want := "fetch cat-file rev-list cat-file cat-file log"; strings.Join(runs, " ") != want {
		t.Errorf("d2 ran git %d times (%v), want %d: %s", len(runs), runs, len(strings.Fields(want)), want)
	}
}

// TestFetchLargePushBytesScansWholeBranch: a fetch that brings more than
// MaxPushBytes of objects has its whole branch scanned, as one over
// MaxPushCommits does; packBytes reads the object files' sizes.
func TestFetchLargePushBytesScansWholeBranch(t *testing.T) {
	g := newGHRepo(t, "")
	cache := t.TempDir()
	ts := startServer(t, "", Config{RepoCache: cache, GitURL: g.fake.URL + "/git/", MaxPushBytes: 1})
	c1, _ := g.commitKey("a.env", "BedrockAPIKey-aaa1", "111122223333", 1)
	g.work.Git("push", "-q", "origin", "main")
	ts.deliver(t, "d1", "push", pushBodyOf("refs/heads/main", zero40, c1))
	dir := filepath.Join(cache, "octo", "repo")
	if n := packBytes(dir); n <= 0 {
		t.Fatalf("packBytes of the cache after a fetch: %d", n)
	}
	c2, _ := g.commitKey("b.env", "BedrockAPIKey-bbb2", "111122223333", 2)
	g.work.Git("push", "-q", "origin", "main")
	ts.deliver(t, "d2", "push", pushBodyOf("refs/heads/main", c1, c2))
	if n, warned := ts.scanned(t, "d2"), strings.Contains(ts.logs.String(), "whole branch is scanned"); n != 2 || !warned {
		t.Errorf("d2: %d findings (want 2: the whole branch), whole-branch warning %v", n, warned)
	}
	if n := packBytes(filepath.Join(cache, "no", "such")); n != 0 {
		t.Errorf("packBytes of no repository: %d", n)
	}
}
