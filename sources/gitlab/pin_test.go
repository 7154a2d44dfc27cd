package gitlab

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bks-dev/bks/internal/gitlabfake"
	"github.com/bks-dev/bks/internal/sweeptest"
)

// TestSweepRefusesHostileCloneURL: projects whose http_url_to_repo (from
// the API answer) names another host or the local disk are refused and
// reported by name; the others are swept. Before the pin, the file:// one
// was cloned from the disk and its key reported as the project's, and the
// other host got the clone with the token.
func TestSweepRefusesHostileCloneURL(t *testing.T) {
	in := newInstance(t, 1, 0)
	var hits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	}))
	defer other.Close()
	in.srv.Add(
		&gitlabfake.Project{Path: "acme/evil-host", Dir: in.dirs["plain"], CloneURL: other.URL + "/acme/keys-live.git"},
		&gitlabfake.Project{Path: "acme/evil-file", Dir: in.dirs["plain"], CloneURL: "file://" + in.dirs["keys-live"]},
	)
	res := sweeptest.New()
	if err := res.Scan(context.Background(), in.sweep(t, res, Target{Projects: []string{"acme/evil-host", "acme/evil-file", "acme/keys-live"}}, nil)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"acme/evil-host", "acme/evil-file"} {
		if msg := res.Errors[name]; !strings.Contains(msg, "clone URL") || !strings.Contains(msg, "refused") {
			t.Errorf("%s: error %q, want the clone URL refused", name, msg)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the other host got %d requests", hits.Load())
	}
	var repos []string
	for r := range res.ByRepo() {
		repos = append(repos, r)
	}
	sort.Strings(repos)
	if len(repos) != 1 || !strings.HasPrefix(repos[0], "acme/keys-live") {
		t.Errorf("findings in %v", repos)
	}
}
