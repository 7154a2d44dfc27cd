package gitlab

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/gitlabfake"
	"github.com/bks-dev/bks/internal/sweeptest"
)

// TestPersonalSnippets: with Snippets and a user who owns the token, the
// user's personal snippets are listed (GET /snippets, pages of 1) and
// swept, every file of every revision: a key in the second file of a
// multi-file snippet, removed by a later revision, is found and linked to
// the raw file at its revision. Another user's personal snippets cannot
// be listed through GitLab's API: that is reported, not skipped quietly.
func TestPersonalSnippets(t *testing.T) {
	in := newInstance(t, 0, 0)
	in.srv.User = "alice"
	root := t.TempDir()
	one := sweeptest.Build(t, root, "p1", []githubfake.Commit{{Files: map[string][]byte{"run.sh": []byte("export AWS_BEARER_TOKEN_BEDROCK=" + key(21) + "\n")}}})
	multi := sweeptest.Build(t, root, "p2", []githubfake.Commit{
		{Files: map[string][]byte{"README.md": []byte("notes\n"), "conf/bedrock.env": []byte("KEY=" + key(22) + "\n")}},
		{Files: map[string][]byte{"conf/bedrock.env": []byte("KEY=\n")}},
	})
	bobs := sweeptest.Build(t, root, "p3", []githubfake.Commit{{Files: map[string][]byte{"x": []byte(key(23) + "\n")}}})
	in.srv.AddPersonalSnippets("alice",
		&gitlabfake.Snippet{Title: "deploy", Dir: one, Files: []string{"run.sh"}},
		&gitlabfake.Snippet{Title: "notes", Dir: multi, Files: []string{"README.md", "conf/bedrock.env"}},
	)
	in.srv.AddPersonalSnippets("bob", &gitlabfake.Snippet{Title: "bob's", Dir: bobs})
	// A snippet alice wrote in a project: GET /snippets lists it too (with
	// its project_id), but it is the project's, found once under its name.
	inProject := sweeptest.Build(t, root, "p4", []githubfake.Commit{{Files: map[string][]byte{"p.env": []byte("K=" + key(24) + "\n")}}})
	in.srv.Add(&gitlabfake.Project{Path: "alice/notes", Dir: one, Snippets: []*gitlabfake.Snippet{{Title: "proj", Dir: inProject, Author: "alice"}}})
	res := sweeptest.New()
	sw := in.sweep(t, res, Target{Users: []string{"alice", "bob"}, Snippets: true}, func(o *Options) { o.perPage = 1 })
	if err := res.Scan(context.Background(), sw); err != nil {
		t.Fatal(err)
	}
	got := res.ByRepo()
	var repos []string
	for r := range got {
		repos = append(repos, r)
	}
	sort.Strings(repos)
	// alice/keys and alice/notes (her projects: notes holds run.sh's key
	// too), her two snippets, and notes' snippet under its project's name
	// only (it failed before: listed a second time as alice/-/snippets/N).
	if len(repos) != 5 || !strings.HasPrefix(repos[0], "alice/-/snippets/") || !strings.HasPrefix(repos[1], "alice/-/snippets/") || repos[2] != "alice/keys" ||
		repos[3] != "alice/notes" || !strings.HasPrefix(repos[4], "alice/notes/-/snippets/") {
		t.Fatalf("findings in %v", repos)
	}
	for r, f := range got {
		if !strings.HasPrefix(r, "alice/-/snippets/") {
			continue // a project's snippet links into its project
		}
		if f.RawKey() == key(22) && (f.Path != "conf/bedrock.env" || !strings.HasSuffix(f.HTMLURL, "/raw/"+f.Commit+"/conf/bedrock.env")) {
			t.Errorf("multi-file snippet finding %s %s %s", r, f.Path, f.HTMLURL)
		}
		if !strings.HasPrefix(f.HTMLURL, in.srv.URL+"/-/snippets/") {
			t.Errorf("%s: link %s", r, f.HTMLURL)
		}
	}
	if e := res.Errors["personal snippets of bob"]; !strings.Contains(e, "token's owner (alice) only") {
		t.Errorf("errors %v", res.Errors)
	}
	pages := 0
	for _, u := range in.srv.Requests() {
		if strings.HasPrefix(u, "/api/v4/snippets?") && strings.Contains(u, "page=2") {
			pages++
		}
	}
	if pages != 1 {
		t.Errorf("GET /snippets page 2 asked %d times: %v", pages, in.srv.Requests())
	}
}
