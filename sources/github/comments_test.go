package github

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/testkeys"
)

// discussions is a fake with acme/app, whose issues, pull requests and
// comments hold three keys among 120 clean issues (pages of 50), and
// acme/locked, whose issue endpoints answer 403.
type discussions struct {
	srv  *githubfake.Server
	keys map[string]string // kind -> key
	app  *githubfake.Repo
}

// newFake starts a fake that wants token, closed when t ends.
func newFake(t *testing.T) *githubfake.Server {
	t.Helper()
	srv, err := githubfake.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.Token = token
	return srv
}

func newDiscussions(t *testing.T) *discussions {
	t.Helper()
	srv := newFake(t)
	srv.MaxPerPage = 50
	key := func(seed uint64) string {
		return testkeys.LongTerm(testkeys.ConsoleUser(seed), "123456789012", testkeys.Secret(seed))
	}
	d := &discussions{srv: srv, keys: map[string]string{
		KindIssue: key(11), KindPRComment: key(12), KindReviewComment: key(13),
	}}
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	app := &githubfake.Repo{Owner: "acme", Name: "app"}
	for i := 1; i <= 120; i++ {
		app.Issues = append(app.Issues, &githubfake.Issue{Number: i, Title: fmt.Sprintf("bug %d", i), Body: "it fails", User: "dave", CreatedAt: t0.Add(time.Duration(i) * time.Minute)})
	}
	app.Issues[6].Body = "here is my config, why does it fail?\n\x1b]0;pwned\x07AWS_BEARER_TOKEN_BEDROCK=" + d.keys[KindIssue] + "\n"
	app.Issues[6].User = "alice"
	app.Issues[6].Closed = true
	app.Issues[7].PR = true
	app.IssueComments = []*githubfake.Comment{
		{ID: 501, Issue: 7, Body: "did you try again?", User: "erin", CreatedAt: t0.Add(3 * time.Hour)},
		{ID: 502, Issue: 8, Body: "works for me with\n" + d.keys[KindPRComment], User: "bob", CreatedAt: t0.Add(4 * time.Hour)},
	}
	app.ReviewComments = []*githubfake.Comment{
		{ID: 901, Issue: 8, Path: "cfg.py", Body: "```\nkey = \"" + d.keys[KindReviewComment] + "\"\n```", User: "carol", CreatedAt: t0.Add(5 * time.Hour)},
	}
	d.app = app
	srv.Add(app, &githubfake.Repo{Owner: "acme", Name: "locked", IssuesStatus: 403})
	return d
}

func (d *discussions) client(t *testing.T) CommentsOptions {
	c, err := NewClient(d.srv.APIURL(), token, nil)
	if err != nil {
		t.Fatal(err)
	}
	return CommentsOptions{Client: c, Target: Target{Orgs: []string{"acme"}}}
}

// found lists "kind author html_url" of each finding, sorted.
func (r *result) found() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, f := range r.findings {
		out = append(out, f.Kind+" "+f.Author+" "+f.HTMLURL+" "+f.Path)
	}
	sort.Strings(out)
	return out
}

// Keys in an issue body, a pull request conversation comment and a review
// comment are found with the comment's html_url and author, across pages
// of the Link header; a repository whose issues answer 403 is reported and
// the scan goes on.
func TestCommentsFindKeysWithURLAndAuthor(t *testing.T) {
	d := newDiscussions(t)
	res := newResult()
	o := d.client(t)
	o.Issues, o.PullRequests = true, true
	o.OnError = res.onError
	c := NewComments(o)
	if err := scanInto(context.Background(), c, res); err != nil {
		t.Fatal(err)
	}
	base := d.srv.HTMLURL("acme", "app")
	want := []string{
		KindIssue + " alice " + base + "/issues/7 issues/7",
		KindPRComment + " bob " + base + "/pull/8#issuecomment-502 pull/8#issuecomment-502",
		KindReviewComment + " carol " + base + "/pull/8#discussion_r901 pull/8#discussion_r901",
	}
	if got := res.found(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range res.findings {
		if f.RawKey() != d.keys[f.Kind] {
			t.Errorf("%s: found %s, want the planted key", f.Kind, f.Redacted)
		}
	}
	if len(res.errors) != 3 || !strings.Contains(res.errors["acme/locked (issues)"], "403 Forbidden") {
		t.Errorf("errors = %v, want acme/locked's three listings (403)", res.errors)
	}
	if c.Texts() != 120+2+1 {
		t.Errorf("read %d texts, want 123", c.Texts())
	}
	pages := 0
	for _, r := range d.srv.Requests() {
		if strings.HasPrefix(r, "/repos/acme/app/issues?") && strings.Contains(r, "?page=") {
			pages++
		}
	}
	if pages != 2 { // pages 2 and 3 of 50, followed from the Link header
		t.Errorf("followed %d next links of the issue listing, want 2: %v", pages, d.srv.Requests())
	}
}

// --issues alone reads issues and their comments, not pull requests.
func TestCommentsIssuesOnly(t *testing.T) {
	d := newDiscussions(t)
	res := newResult()
	o := d.client(t)
	o.Issues = true
	if err := scanInto(context.Background(), NewComments(o), res); err != nil {
		t.Fatal(err)
	}
	if got := res.found(); len(got) != 1 || !strings.HasPrefix(got[0], KindIssue+" ") {
		t.Errorf("findings %v, want the issue's only", got)
	}
	for _, r := range d.srv.Requests() {
		if strings.Contains(r, "/pulls/comments") {
			t.Errorf("asked for review comments without PullRequests: %s", r)
		}
	}
}

// With a state, a second run asks only for what was created or edited
// since the first (GitHub's since), and finds a key added by an edit.
func TestCommentsResume(t *testing.T) {
	d := newDiscussions(t)
	path := filepath.Join(t.TempDir(), "state.json")
	run := func() *result {
		st, err := OpenState(path)
		if err != nil {
			t.Fatal(err)
		}
		res := newResult()
		o := d.client(t)
		o.Issues, o.PullRequests, o.State = true, true, st
		o.Target = Target{Repos: []string{"acme/app"}}
		if err := scanInto(context.Background(), NewComments(o), res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	if got := len(run().findings); got != 3 {
		t.Fatalf("first run: %d findings, want 3", got)
	}
	n := len(d.srv.Requests())
	if got := len(run().findings); got != 0 {
		t.Errorf("second run, nothing edited: %d findings, want 0", got)
	}
	for _, r := range d.srv.Requests()[n:] {
		if strings.Contains(r, "issues") && !strings.Contains(r, "since=") {
			t.Errorf("second run without since: %s", r)
		}
	}
	k := testkeys.LongTerm(testkeys.ConsoleUser(14), "123456789012", testkeys.Secret(14))
	d.srv.Lock()
	d.app.IssueComments[0].Body += "\nedit: my key is " + k
	d.app.IssueComments[0].UpdatedAt = time.Now().Add(time.Minute)
	d.srv.Unlock()
	res := run()
	if got := res.found(); len(got) != 1 || !strings.Contains(got[0], "#issuecomment-501") {
		t.Errorf("third run after an edit: %v, want comment 501", got)
	}
}

// A shard reads only its repositories' texts.
func TestCommentsShard(t *testing.T) {
	d := newDiscussions(t)
	total := 0
	for i := range 2 {
		res := newResult()
		o := d.client(t)
		o.Issues, o.PullRequests, o.OnError = true, true, res.onError
		o.Shard = Shard{Index: i, Count: 2}
		if err := scanInto(context.Background(), NewComments(o), res); err != nil {
			t.Fatal(err)
		}
		total += len(res.findings) + len(res.errors)
	}
	if total != 3+3 {
		t.Errorf("two shards: %d findings and errors together, want 6 (each repository in one shard)", total)
	}
}

// A secondary rate limit on the comment listing is waited out and logged.
func TestCommentsRateLimit(t *testing.T) {
	d := newDiscussions(t)
	f := &githubfake.Fault{PathContains: "/acme/app/pulls/comments", Kind: "secondary", RetryAfter: time.Second}
	d.srv.AddFault(f)
	res := newResult()
	o := d.client(t)
	o.Issues, o.PullRequests, o.Log, o.OnError = true, true, res.log, res.onError
	if err := scanInto(context.Background(), NewComments(o), res); err != nil {
		t.Fatal(err)
	}
	if d.srv.Fired(f) != 1 || len(res.findings) != 3 || !res.logged("secondary rate limit") {
		t.Errorf("fired %d, %d findings, logs %v", d.srv.Fired(f), len(res.findings), res.logs)
	}
}
