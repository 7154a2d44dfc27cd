package github

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/sources/reposweep"
)

// hostile is a host an API answer should never send a clone to; it
// counts the requests it gets anyway.
func hostile(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// TestSweepRefusesHostileCloneURL: repositories whose clone_url (from the
// API answer) names another host or the local disk are refused and
// reported by name; the others are swept. Before the pin, the file://
// one was cloned from the disk and its key reported as the repository's,
// and the other host got the clone (with the token).
func TestSweepRefusesHostileCloneURL(t *testing.T) {
	o := newOrg(t, 2)
	other, hits := hostile(t)
	o.srv.Add(
		&githubfake.Repo{Owner: "acme", Name: "evil-host", Dir: o.dirs["plain"], CloneURL: other.URL + "/git/acme/keys-live.git"},
		&githubfake.Repo{Owner: "acme", Name: "evil-file", Dir: o.dirs["plain"], CloneURL: "file://" + o.dirs["keys-live"]},
		&githubfake.Repo{Owner: "acme", Name: "evil-ext", Dir: o.dirs["plain"], CloneURL: "ext::sh -c true"},
	)
	res := newResult()
	if err := scanInto(context.Background(), o.sweep(t, res, nil), res); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"acme/evil-host", "acme/evil-file", "acme/evil-ext"} {
		if msg := res.errors[name]; !strings.Contains(msg, "clone URL") || !strings.Contains(msg, "refused") {
			t.Errorf("%s: error %q, want the clone URL refused", name, msg)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the other host got %d requests", hits.Load())
	}
	got := strings.Join(res.keyRepos(), " ")
	if got != "acme/keys-branch acme/keys-history acme/keys-live" {
		t.Errorf("findings in %s", got)
	}
}

// TestGistSweepRefusesHostileCloneURL: the same for a gist's git_pull_url.
func TestGistSweepRefusesHostileCloneURL(t *testing.T) {
	o := newOrg(t, 0)
	other, hits := hostile(t)
	o.srv.AddGist(
		&githubfake.Gist{ID: "ee11", Owner: "alice", Dir: o.dirs["plain"], CloneURL: other.URL + "/git/gist/ee11.git"},
		&githubfake.Gist{ID: "ee22", Owner: "alice", Dir: o.dirs["plain"], CloneURL: "file://" + o.dirs["keys-live"]},
		&githubfake.Gist{ID: "ee33", Owner: "alice", Dir: o.dirs["keys-live"]},
	)
	res := newResult()
	sw := NewGistSweep(GistOptions{Client: o.client(t), Users: []string{"alice"}, Token: token,
		Scan: reposweep.HistoryScanner[Gist](HistoryOptions{}),
		Run:  reposweep.Run[Gist]{OnError: res.onError, Log: res.log, TempDir: t.TempDir()}})
	if err := scanInto(context.Background(), sw, res); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gist:alice/ee11", "gist:alice/ee22"} {
		if msg := res.errors[name]; !strings.Contains(msg, "refused") {
			t.Errorf("%s: error %q, want the clone URL refused", name, msg)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the other host got %d requests", hits.Load())
	}
	if got := strings.Join(res.keyRepos(), " "); got != "gist:alice/ee33" {
		t.Errorf("findings in %s", got)
	}
}
