package reposweep

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/gitserve"
	"github.com/bks-dev/bks/sources"
)

func TestHostsCheck(t *testing.T) {
	h, err := PinHosts("https://github.com", "http://127.0.0.1:8080/api/v3/")
	if err != nil {
		t.Fatal(err)
	}
	for raw, ok := range map[string]bool{
		"https://github.com/acme/api.git":            true,
		"https://GitHub.com/acme/api.git":            true,
		"http://127.0.0.1:8080/git/acme/api.git":     true,
		"https://127.0.0.1:8080/git/acme/api.git":    true,
		"http://github.com/acme/api.git":             false, // a downgrade
		"https://github.com:8443/acme/api.git":       false, // another port
		"http://127.0.0.1:8081/git/acme/api.git":     false,
		"https://evil.example/acme/api.git":          false,
		"https://github.com.evil.example/a.git":      false,
		"https://x-access-token@github.com/a.git":    false,
		"ext::sh -c touch% /tmp/pwned":               false,
		"file:///etc":                                false,
		"ssh://-oProxyCommand=touch%20x/github.com/": false,
		"git@github.com:acme/api.git":                false,
		"--upload-pack=touch /tmp/x":                 false,
		"/srv/git/acme.git":                          false,
		"":                                           false,
	} {
		err := h.Check(raw)
		if (err == nil) != ok {
			t.Errorf("Check(%q) = %v, want ok %v", raw, err, ok)
		}
	}
	if err := (Hosts{}).Check("https://github.com/a/b.git"); err == nil {
		t.Error("no hosts configured: accepted")
	}
	for _, bad := range []string{"github.com", "ftp://github.com", "file:///x"} {
		if _, err := PinHosts(bad); err == nil {
			t.Errorf("PinHosts(%q) accepted", bad)
		}
	}
}

// TestSweepRefusesHostileCloneURLs: a listing naming another host, a
// local path or another transport has those repositories refused,
// reported by name, never cloned, and the sweep goes on with the others.
// The local one holds a key: cloned, it would be scanned as the host's.
func TestSweepRefusesHostileCloneURLs(t *testing.T) {
	root := t.TempDir()
	good := filepath.Join(root, "good.git")
	if err := githubfake.BuildRepo(good, []githubfake.Commit{{Files: map[string][]byte{"a": []byte("a\n")}}}); err != nil {
		t.Fatal(err)
	}
	b, err := gitserve.Find()
	if err != nil {
		t.Skip(err)
	}
	var mu sync.Mutex
	var otherHits int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		otherHits++
		mu.Unlock()
		http.NotFound(w, r)
	}))
	defer other.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/good.git/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		b.Serve(w, r, good, rest)
	}))
	defer api.Close()
	pwned := filepath.Join(root, "pwned")
	repos := []Repo{
		{FullName: "o/good", CloneURL: api.URL + "/good.git"},
		{FullName: "o/elsewhere", CloneURL: other.URL + "/good.git"},
		{FullName: "o/local", CloneURL: "file://" + good},
		{FullName: "o/ext", CloneURL: "ext::sh -c touch% " + pwned},
		{FullName: "o/ssh", CloneURL: "ssh://-oProxyCommand=touch%20" + pwned + "/x/y"},
	}
	hosts, err := PinHosts(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	errs := map[string]string{}
	var scanned []string
	sw := New(Options[Repo]{
		List: func(context.Context) ([]Repo, error) { return repos, nil },
		Scan: func(_ context.Context, _ string, r Repo, _ sources.Chunker, _ func(sources.Chunk) error) error {
			mu.Lock()
			scanned = append(scanned, r.FullName)
			mu.Unlock()
			return nil
		},
		Token: "secret-token",
		Hosts: hosts,
		Run: Run[Repo]{Workers: 1, TempDir: t.TempDir(), OnError: func(item string, err error) {
			mu.Lock()
			errs[item] = err.Error()
			mu.Unlock()
		}},
	})
	if err := sw.Chunks(context.Background(), sources.Chunker{}, func(sources.Chunk) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if len(scanned) != 1 || scanned[0] != "o/good" {
		t.Errorf("scanned %v, want only o/good", scanned)
	}
	for _, r := range repos[1:] {
		if !strings.Contains(errs[r.FullName], "refused") {
			t.Errorf("%s: error %q, want refused", r.FullName, errs[r.FullName])
		}
	}
	if otherHits != 0 {
		t.Errorf("the other host got %d requests", otherHits)
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Error("a command named by a clone URL ran")
	}
}

// TestTokenNotSentOnRedirect: a host answering git's first request with a
// redirect to another host does not get the token sent there (git sends
// http.extraHeader to wherever the first request was redirected, for
// every later request).
func TestTokenNotSentOnRedirect(t *testing.T) {
	root := t.TempDir()
	good := filepath.Join(root, "good.git")
	if err := githubfake.BuildRepo(good, []githubfake.Commit{{Files: map[string][]byte{"a": []byte("a\n")}}}); err != nil {
		t.Fatal(err)
	}
	b, err := gitserve.Find()
	if err != nil {
		t.Skip(err)
	}
	var mu sync.Mutex
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			mu.Lock()
			leaked = append(leaked, r.Method+" "+r.URL.Path)
			mu.Unlock()
		}
		rest, _ := strings.CutPrefix(r.URL.Path, "/good.git/")
		b.Serve(w, r, good, rest)
	}))
	defer other.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	defer api.Close()
	g := &gitRunner{token: "secret-token"}
	r := Repo{FullName: "o/good", CloneURL: api.URL + "/good.git", DefaultBranch: "main"}
	err = g.fetch(context.Background(), r, filepath.Join(t.TempDir(), "c.git"), DefaultRefspecs)
	if len(leaked) > 0 {
		t.Errorf("the token went to the host redirected to: %v (fetch: %v)", leaked, err)
	}
	if err == nil {
		t.Error("fetch through a redirect to another host succeeded")
	}
}
