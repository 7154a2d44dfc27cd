package github

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/sources/reposweep"
)

// The gists of an organization's members are swept, every revision: a key
// pasted into a gist and removed by a later revision is found, linked to
// the revision; a deleted gist is reported and the sweep goes on; resumed,
// nothing is scanned again.
func TestGistSweep(t *testing.T) {
	srv := newFake(t)
	root := t.TempDir()
	k1 := testkeys.LongTerm(testkeys.ConsoleUser(31), "123456789012", testkeys.Secret(31))
	k2 := testkeys.LongTerm(testkeys.ConsoleUser(32), "123456789012", testkeys.Secret(32))
	build := func(name string, commits []githubfake.Commit) string {
		dir := filepath.Join(root, name+".git")
		if err := githubfake.BuildRepo(dir, commits); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	srv.AddMembers("acme", "alice", "bob")
	srv.AddGist(
		&githubfake.Gist{ID: "aa11", Owner: "alice", Dir: build("aa11", []githubfake.Commit{
			{Files: map[string][]byte{"bedrock.py": []byte("key = '" + k1 + "'\n")}},
			{Files: map[string][]byte{"bedrock.py": []byte("key = os.environ['KEY']\n")}},
		})},
		&githubfake.Gist{ID: "aa22", Owner: "alice", Deleted: true},
		&githubfake.Gist{ID: "bb11", Owner: "bob", Dir: build("bb11", []githubfake.Commit{
			{Files: map[string][]byte{".env": []byte("AWS_BEARER_TOKEN_BEDROCK=" + k2 + "\n")}},
		})},
		&githubfake.Gist{ID: "cc11", Owner: "carol", Dir: build("cc11", []githubfake.Commit{{Files: map[string][]byte{"x": []byte("y\n")}}})},
	)
	c, err := NewClient(srv.APIURL(), token, nil)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state.json")
	run := func() (*result, *Progress) {
		st, err := OpenState(state)
		if err != nil {
			t.Fatal(err)
		}
		res := newResult()
		p := &Progress{}
		sw := NewGistSweep(GistOptions{Client: c, Orgs: []string{"acme"}, Token: token,
			Scan: reposweep.HistoryScanner[Gist](HistoryOptions{}),
			Run:  reposweep.Run[Gist]{OnError: res.onError, Log: res.log, State: st, Progress: p}})
		if err := scanInto(context.Background(), sw, res); err != nil {
			t.Fatal(err)
		}
		return res, p
	}
	res, p := run()
	want := []string{
		"gist:alice/aa11 " + srv.URL + "/gist/alice/aa11/",
		"gist:bob/bb11 " + srv.URL + "/gist/bob/bb11/",
	}
	if len(res.findings) != 2 {
		t.Fatalf("findings %v", res.found())
	}
	for _, f := range res.findings {
		ok := false
		for _, w := range want {
			if strings.HasPrefix(f.Repo+" "+f.HTMLURL, w) && strings.HasSuffix(f.HTMLURL, f.Commit) {
				ok = true
			}
		}
		if !ok || f.Author == "" {
			t.Errorf("finding %s %s %s by %q", f.Repo, f.HTMLURL, f.Path, f.Author)
		}
	}
	if e := res.errors["gist:alice/aa22"]; !strings.Contains(e, "404") && !strings.Contains(e, "not found") {
		t.Errorf("deleted gist: errors %v", res.errors)
	}
	if p.Total.Load() != 3 || p.Failed.Load() != 1 {
		t.Errorf("total %d failed %d, want 3 and 1 (carol is no member)", p.Total.Load(), p.Failed.Load())
	}
	res, p = run()
	if len(res.findings) != 0 || p.Skipped.Load() != 2 {
		t.Errorf("resumed: %d findings, %d skipped", len(res.findings), p.Skipped.Load())
	}
}
