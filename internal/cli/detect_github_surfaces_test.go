package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/testkeys"
)

// fakeDiscussions adds to fakeOrg's acme two repositories with issues:
// acme/talk, a key in an issue (author and body hostile: terminal escapes)
// and one in a pull request review comment; acme/private-talk, whose issue
// endpoints answer 404 (no access).
func fakeDiscussions(t *testing.T) (*githubfake.Server, map[string]string) {
	srv, keys := fakeOrg(t, 2)
	plain := filepath.Join(t.TempDir(), "talk.git")
	if err := githubfake.BuildRepo(plain, []githubfake.Commit{{Files: map[string][]byte{"README.md": []byte("# talk\n")}}}); err != nil {
		t.Fatal(err)
	}
	key := func(seed uint64) string {
		return testkeys.LongTerm(testkeys.ConsoleUser(seed), "210987654321", testkeys.Secret(seed))
	}
	keys["issue"], keys["review"] = key(21), key(22)
	t0 := time.Date(2025, 5, 1, 9, 0, 0, 0, time.UTC)
	srv.Add(&githubfake.Repo{
		Owner: "acme", Name: "talk", Dir: plain,
		Issues: []*githubfake.Issue{
			{Number: 1, Title: "\x1b]2;title\x07help", Body: "my .env:\n\x1b[2J\x1b[31mAWS_BEARER_TOKEN_BEDROCK=" + keys["issue"] + "\n", User: "m4l\x1b[2Jory", CreatedAt: t0},
			{Number: 2, PR: true, Title: "add config", Body: "please review", User: "bob", CreatedAt: t0.Add(time.Hour)},
		},
		ReviewComments: []*githubfake.Comment{{ID: 77, Issue: 2, Path: "cfg.py", Body: "remove `" + keys["review"] + "`", User: "carol", CreatedAt: t0.Add(2 * time.Hour)}},
	}, &githubfake.Repo{Owner: "acme", Name: "private-talk", Dir: plain, IssuesStatus: 404})
	return srv, keys
}

func runGitHub(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	sio := &IO{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: func(k string) string {
		if k == "GITHUB_TOKEN" {
			return fakeToken
		}
		return ""
	}}
	code := Run(context.Background(), append([]string{"detect", "github", "--workers", "2"}, args...), sio)
	return code, out.String(), errb.String()
}

// --all-surfaces finds the keys of issues and review comments with their
// kind, author and html_url, next to the history findings; acme/private-talk's
// 404 is reported and the sweep goes on (exit 2); no escape from a hostile
// issue reaches the terminal; the state makes a second run skip it all.
func TestDetectGitHubIssuesAndPRComments(t *testing.T) {
	srv, keys := fakeDiscussions(t)
	state := filepath.Join(t.TempDir(), "state.json")
	base := []string{"--org", "acme", "--api-url", srv.APIURL(), "--resume", state}
	code, out, errOut := runGitHub(t, append(base, "--all-surfaces", "-f", "jsonl")...)
	if code != ExitFailure {
		t.Fatalf("exit %d, want 2 (dmca and private-talk fail)\n%s", code, errOut)
	}
	for _, want := range []string{"acme/private-talk (issues)", "404", "read 3 issue and pull request texts"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	got := map[string]findings.Finding{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var f findings.Finding
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatal(err)
		}
		if f.Kind != "" {
			got[f.Kind] = f
		}
	}
	talk := srv.HTMLURL("acme", "talk")
	is, rc := got["issue"], got["review-comment"]
	if is.HTMLURL != talk+"/issues/1" || is.Author != "m4l\x1b[2Jory" || is.Repo != "acme/talk" || is.Path != "issues/1" || is.Line != 3 {
		t.Errorf("issue finding %+v", is)
	}
	if rc.HTMLURL != talk+"/pull/2#discussion_r77" || rc.Author != "carol" || rc.Key == nil {
		t.Errorf("review comment finding %+v", rc)
	}
	if len(got) != 2 || strings.Contains(out, keys["issue"]) || strings.Contains(out, keys["review"]) {
		t.Errorf("kinds %v, or a secret in the report", got)
	}

	// The text report on a "terminal": no escape of the issue's.
	code, out, errOut = runGitHub(t, "--repo", "acme/talk", "--api-url", srv.APIURL(), "--issues", "-f", "text")
	if code != ExitFound || !strings.Contains(out, talk+"/issues/1") || !strings.Contains(out, "issue by m4l") || !strings.Contains(out, "2025-05-01") {
		t.Fatalf("text: exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.ContainsRune(out+errOut, 0x1b) || strings.ContainsRune(out+errOut, 0x07) {
		t.Errorf("an escape reached the terminal:\n%q", out)
	}

	// Resumed: nothing new, nothing read again in full.
	n := len(srv.Requests())
	code, out, errOut = runGitHub(t, append(base, "--all-surfaces", "-f", "jsonl")...)
	if code != ExitFailure || out != "" {
		t.Fatalf("resumed: exit %d stdout %q\n%s", code, out, errOut)
	}
	for _, r := range srv.Requests()[n:] {
		if strings.HasPrefix(r, "/repos/acme/talk/") && !strings.Contains(r, "since=") {
			t.Errorf("resumed run read %s in full", r)
		}
	}
}

// --gists sweeps the gists of the organization's members: a key in a
// gist's first revision is found, linked to that revision; a deleted gist
// is reported and the sweep goes on.
func TestDetectGitHubGists(t *testing.T) {
	srv, _ := fakeOrg(t, 0)
	k := testkeys.LongTerm(testkeys.ConsoleUser(41), "210987654321", testkeys.Secret(41))
	dir := filepath.Join(t.TempDir(), "g1.git")
	if err := githubfake.BuildRepo(dir, []githubfake.Commit{
		{Files: map[string][]byte{"notes.md": []byte("try " + k + "\n")}},
		{Files: map[string][]byte{"notes.md": []byte("fixed\n")}},
	}); err != nil {
		t.Fatal(err)
	}
	srv.AddMembers("acme", "alice")
	srv.AddGist(&githubfake.Gist{ID: "g1", Owner: "alice", Dir: dir}, &githubfake.Gist{ID: "gone", Owner: "alice", Deleted: true})
	code, out, errOut := runGitHub(t, "--org", "acme", "--include-repo", "live", "--api-url", srv.APIURL(), "--gists", "-f", "jsonl")
	if code != ExitFailure || !strings.Contains(errOut, "gist:alice/gone") || !strings.Contains(errOut, "swept 2 of 2 gists (1 failed") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var gist findings.Finding
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var f findings.Finding
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(f.Repo, "gist:") {
			gist = f
		}
	}
	if gist.Repo != "gist:alice/g1" || gist.Path != "notes.md" || gist.HTMLURL != srv.URL+"/gist/alice/g1/"+gist.Commit || gist.Commit == "" {
		t.Errorf("gist finding %+v", gist)
	}
	if code, _, errOut := runGitHub(t, "--repo", "acme/live", "--gists"); code != ExitFailure || !strings.Contains(errOut, "--gists sweeps the gists of --user") {
		t.Errorf("--gists without --user or --org: exit %d\n%s", code, errOut)
	}
}

// Two shards of --issues --pr-comments read each repository's texts in one
// shard only, and merged hold each finding once, as one run does.
func TestDetectGitHubIssuesShardMerge(t *testing.T) {
	srv, _ := fakeDiscussions(t)
	dir := t.TempDir()
	var files []string
	for i, sh := range []string{"0/2", "1/2"} {
		p := filepath.Join(dir, "shard"+string(rune('0'+i))+".jsonl")
		code, _, errOut := runGitHub(t, "--org", "acme", "--include-repo", "*talk", "--api-url", srv.APIURL(), "--issues", "--pr-comments", "--shard", sh, "--ignore-errors", "-f", "jsonl", "-o", p)
		if code != ExitOK && code != ExitFound {
			t.Fatalf("shard %s: exit %d\n%s", sh, code, errOut)
		}
		files = append(files, p)
	}
	if n := len(readJSONL(t, files[0])) + len(readJSONL(t, files[1])); n != 2 {
		t.Errorf("the shards found %d keys together, want 2 (each repository in one shard)", n)
	}
	merged := filepath.Join(dir, "merged.jsonl")
	var out, errb bytes.Buffer
	code := Run(context.Background(), append([]string{"merge", "-o", merged}, files...), &IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != ExitFound {
		t.Fatalf("merge: exit %d\n%s", code, errb.String())
	}
	kinds := map[string]int{}
	for _, f := range readJSONL(t, merged) {
		kinds[f.Kind]++
	}
	if kinds["issue"] != 1 || kinds["review-comment"] != 1 || len(kinds) != 2 {
		t.Errorf("merged kinds %v, want one issue and one review comment", kinds)
	}
}

// --wiki sweeps the repositories' wikis: a key in an old revision of a
// page is found, linked to the page with the edit's author; the other
// repositories' wikis, without a page, are skipped without an error.
func TestDetectGitHubWiki(t *testing.T) {
	srv, _ := fakeOrg(t, 1)
	k := testkeys.LongTerm(testkeys.ConsoleUser(42), "210987654321", testkeys.Secret(42))
	wiki := filepath.Join(t.TempDir(), "w.wiki.git")
	plain := filepath.Join(t.TempDir(), "w.git")
	for dir, commits := range map[string][]githubfake.Commit{
		wiki: {
			{Files: map[string][]byte{"Bedrock-Setup.md": []byte("key: " + k + "\n")}},
			{Files: map[string][]byte{"Bedrock-Setup.md": []byte("key: ask ops\n")}},
		},
		plain: {{Files: map[string][]byte{"README.md": []byte("# w\n")}}},
	} {
		if err := githubfake.BuildRepo(dir, commits); err != nil {
			t.Fatal(err)
		}
	}
	srv.Add(&githubfake.Repo{Owner: "acme", Name: "handbook", Dir: plain, Wiki: wiki})
	code, out, errOut := runGitHub(t, "--org", "acme", "--include-repo", "handbook", "--include-repo", "svc-*", "--api-url", srv.APIURL(), "--wiki", "-f", "jsonl")
	if code != ExitFound || !strings.Contains(errOut, "swept 2 of 2 wikis (1 without a page, 0 failed") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var f findings.Finding
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &f); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if f.Repo != "acme/handbook.wiki" || f.HTMLURL != srv.URL+"/acme/handbook/wiki/Bedrock-Setup" || f.Author == "" || f.Commit == "" {
		t.Errorf("wiki finding %+v", f)
	}
}

// --edit-history finds a key an edit removed from a comment, of kind
// issue-comment-edited, by the editor, linked to the comment, through a
// GraphQL secondary rate limit answered with a 200 (waited out, the wait
// said on stderr; before, the history was reported failed and the key
// missed).
func TestDetectGitHubEditHistory(t *testing.T) {
	srv, _ := fakeOrg(t, 0)
	k := testkeys.LongTerm(testkeys.ConsoleUser(43), "210987654321", testkeys.Secret(43))
	t0 := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	plain := filepath.Join(t.TempDir(), "e.git")
	if err := githubfake.BuildRepo(plain, []githubfake.Commit{{Files: map[string][]byte{"README.md": []byte("# e\n")}}}); err != nil {
		t.Fatal(err)
	}
	srv.Add(&githubfake.Repo{Owner: "acme", Name: "edits", Dir: plain,
		Issues: []*githubfake.Issue{{Number: 4, Title: "q", Body: "b", User: "bob", CreatedAt: t0}},
		IssueComments: []*githubfake.Comment{{ID: 88, Issue: 4, Body: "(removed)", User: "bob", CreatedAt: t0, UpdatedAt: t0.Add(time.Hour),
			Edits: []githubfake.Edit{{Diff: "(removed)", Editor: "bob", At: t0.Add(time.Hour)}, {Diff: "token " + k, Editor: "bob", At: t0}}}},
	})
	srv.AddFault(&githubfake.Fault{GraphQL: true, Kind: "secondary-200", RetryAfter: time.Second})
	code, out, errOut := runGitHub(t, "--repo", "acme/edits", "--api-url", srv.APIURL(), "--issues", "--edit-history", "-f", "jsonl")
	if code != ExitFound || !strings.Contains(errOut, "GitHub secondary rate limit reached (edit history): waiting until") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var f findings.Finding
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &f); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if f.Kind != "issue-comment-edited" || f.Author != "bob" || f.HTMLURL != srv.HTMLURL("acme", "edits")+"/issues/4#issuecomment-88" {
		t.Errorf("finding %+v", f)
	}
	if code, _, errOut := runGitHub(t, "--repo", "acme/edits", "--edit-history"); code != ExitFailure || !strings.Contains(errOut, "--edit-history scans the texts of --issues") {
		t.Errorf("--edit-history alone: exit %d\n%s", code, errOut)
	}
}
