package github

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources/reposweep"
)

// TestWikiSweep sweeps the wikis of an organization's repositories over
// smart HTTP: a key pasted into a wiki page and removed by a later edit is
// found, linked to the page and naming the edit's author; a repository
// with its wiki turned off is not cloned; one whose wiki has no page
// (404 on the clone) is skipped without an error; resumed, nothing is
// scanned again.
func TestWikiSweep(t *testing.T) {
	srv := newFake(t)
	root := t.TempDir()
	k := testkeys.LongTerm(testkeys.ConsoleUser(41), "123456789012", testkeys.Secret(41))
	build := func(name string, commits []githubfake.Commit) string {
		dir := filepath.Join(root, name+".git")
		if err := githubfake.BuildRepo(dir, commits); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	plain := build("plain", []githubfake.Commit{{Files: map[string][]byte{"README.md": []byte("# x\n")}}})
	wiki := build("docs.wiki", []githubfake.Commit{
		{Files: map[string][]byte{"Home.md": []byte("# Welcome\n")}},
		{Files: map[string][]byte{"ops/Deploy-Notes.md": []byte("Use `" + k + "` for Bedrock.\n")}},
		{Files: map[string][]byte{"ops/Deploy-Notes.md": []byte("Ask ops for the key.\n")}},
	})
	leaky := build("off.wiki", []githubfake.Commit{{Files: map[string][]byte{"Home.md": []byte(k + "\n")}}})
	srv.Add(
		&githubfake.Repo{Owner: "acme", Name: "docs", Dir: plain, Wiki: wiki},
		&githubfake.Repo{Owner: "acme", Name: "pageless", Dir: plain},
		&githubfake.Repo{Owner: "acme", Name: "off", Dir: plain, Wiki: leaky, NoWiki: true},
	)
	state := filepath.Join(t.TempDir(), "state.json")
	run := func() (*result, *Progress) {
		st, err := OpenState(state)
		if err != nil {
			t.Fatal(err)
		}
		res := newResult()
		p := &Progress{}
		c, err := NewClient(srv.APIURL(), token, nil)
		if err != nil {
			t.Fatal(err)
		}
		sw := NewWikiSweep(WikiOptions{Client: c, Target: Target{Orgs: []string{"acme"}}, Token: token,
			Scan: reposweep.HistoryScanner[Wiki](HistoryOptions{}),
			Run:  reposweep.Run[Wiki]{OnError: res.onError, Log: res.log, State: st, Progress: p, TempDir: t.TempDir()}})
		if err := scanInto(context.Background(), sw, res); err != nil {
			t.Fatal(err)
		}
		return res, p
	}
	res, p := run()
	if len(res.errors) != 0 {
		t.Errorf("errors %v", res.errors)
	}
	if len(res.findings) != 1 {
		t.Fatalf("findings %v", res.found())
	}
	f := res.findings[0]
	if f.Repo != "acme/docs.wiki" || f.HTMLURL != srv.URL+"/acme/docs/wiki/Deploy-Notes" || f.Path != "ops/Deploy-Notes.md" || !strings.Contains(f.Author, "Dev") {
		t.Errorf("finding %s %s %s by %q", f.Repo, f.HTMLURL, f.Path, f.Author)
	}
	if p.Total.Load() != 2 || p.Empty.Load() != 1 || p.Failed.Load() != 0 {
		t.Errorf("total %d empty %d failed %d, want 2, 1 (pageless), 0", p.Total.Load(), p.Empty.Load(), p.Failed.Load())
	}
	res, p = run()
	if len(res.findings) != 0 || p.Skipped.Load() != 1 {
		t.Errorf("resumed: %d findings, %d skipped", len(res.findings), p.Skipped.Load())
	}
}

func TestWikiLink(t *testing.T) {
	base := "https://github.com/o/r/wiki"
	for _, c := range []struct {
		o    location.Location
		want string
	}{
		{location.Location{Path: "Home.md"}, base + "/Home"},
		{location.Location{Path: "a/Set-up-Bedrock.markdown"}, base + "/Set-up-Bedrock"},
		{location.Location{Path: "Page with ?.md"}, base + "/Page%20with%20%3F"},
		{location.Location{Path: ".env"}, base + "/.env"},
		{location.Location{Kind: "commit-message", Commit: "abc"}, base + "/_history"},
	} {
		if got := wikiLink(base, c.o); got != c.want {
			t.Errorf("wikiLink(%+v) = %q, want %q", c.o, got, c.want)
		}
	}
}
