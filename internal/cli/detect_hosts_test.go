package cli

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/fakefault"
	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/gitlabfake"
	"github.com/bks-dev/bks/internal/hffake"
	"github.com/bks-dev/bks/internal/sweeptest"
	"github.com/bks-dev/bks/internal/testbin"
	"github.com/bks-dev/bks/internal/testkeys"
)

func hostKey(seed uint64) string {
	return testkeys.LongTerm(testkeys.ConsoleUser(seed), "210987654321", testkeys.Secret(seed))
}

// checkShardsAndResume runs common in three shards merged back into the
// whole sweep's findings (want), then twice with --resume: the second run
// skips every repository the first scanned.
func checkShardsAndResume(t *testing.T, bin string, env, common []string, want int, skipped string) {
	t.Helper()
	dir := t.TempDir()
	var parts []string
	for i := range 3 {
		p := filepath.Join(dir, fmt.Sprintf("shard-%d.jsonl", i))
		r := runBin(t, bin, env, append(common, "--shard", fmt.Sprintf("%d/3", i), "--ignore-errors", "-f", "jsonl", "-o", p)...)
		if r.code != ExitOK && r.code != ExitFound {
			t.Fatalf("shard %d: exit %d\n%s", i, r.code, r.stderr)
		}
		parts = append(parts, p)
	}
	merged := filepath.Join(dir, "merged.jsonl")
	r := runBin(t, bin, nil, append([]string{"merge", "-o", merged}, parts...)...)
	if got := readJSONL(t, merged); r.code != ExitFound || len(got) != want {
		t.Fatalf("merge: exit %d, %d findings, want %d\n%s", r.code, len(got), want, r.stderr)
	}
	state := filepath.Join(dir, "state.json")
	r = runBin(t, bin, env, append(common, "--resume", state, "--ignore-errors", "-f", "jsonl")...)
	if r.code != ExitFound || strings.Count(r.stdout, "\n") != want {
		t.Fatalf("resume run 1: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runBin(t, bin, env, append(common, "--resume", state, "--ignore-errors", "-f", "jsonl")...)
	if r.code != ExitOK || r.stdout != "" || !strings.Contains(r.stderr, skipped) {
		t.Fatalf("resume run 2: exit %d stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestDetectGitLabEndToEnd runs the binary against the GitLab fake: a
// group with a subgroup over several offset pages through a 429, a user
// over keyset pages, a hidden project and one that cannot be cloned
// reported while the sweep goes on; then shards merged back and a resumed
// run.
func TestDetectGitLabEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testbin.BKS(t)
	srv, err := gitlabfake.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.Token = fakeToken
	root := t.TempDir()
	plain := sweeptest.Build(t, root, "plain", []githubfake.Commit{{Files: map[string][]byte{"README.md": []byte("# svc\n")}}})
	live := sweeptest.Build(t, root, "live", []githubfake.Commit{{Files: map[string][]byte{"ci/.env": []byte("AWS_BEARER_TOKEN_BEDROCK=" + hostKey(31) + "\n")}}})
	sub := sweeptest.Build(t, root, "sub", []githubfake.Commit{
		{Files: map[string][]byte{"cfg.yaml": []byte("key: " + hostKey(32) + "\n")}},
		{Files: map[string][]byte{"cfg.yaml": []byte("key: from-env\n")}},
	})
	var ps []*gitlabfake.Project
	for i := range 8 {
		ps = append(ps, &gitlabfake.Project{Path: fmt.Sprintf("acme/svc-%02d", i), Dir: plain})
	}
	ps = append(ps,
		&gitlabfake.Project{Path: "acme/live", Dir: live},
		&gitlabfake.Project{Path: "acme/infra/sub", Dir: sub},
		&gitlabfake.Project{Path: "acme/locked", Dir: plain, CloneStatus: http.StatusForbidden},
		&gitlabfake.Project{Path: "acme/hidden", Dir: live, Hidden: true},
	)
	srv.Add(ps...)
	srv.AddFault(&gitlabfake.Fault{Trigger: fakefault.Trigger{PathContains: "groups/acme/projects", After: 1}, Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	env := []string{"GITLAB_TOKEN=" + fakeToken, "TMPDIR=" + t.TempDir()}
	common := []string{"detect", "gitlab", "--group", "acme", "--include-subgroups", "--api-url", srv.URL, "--workers", "4"}

	r := runBin(t, bin, env, append(common, "--project", "acme/hidden", "-f", "jsonl")...)
	if r.code != ExitFailure {
		t.Fatalf("exit %d, want 2 (two items failed)\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"bks: project acme/hidden:", "404", "no access", "bks: acme/locked:", "403",
		"GitLab rate limit reached (429", "swept 11 of 11 repositories (1 failed)", "2 keys"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, fakeToken) || strings.Contains(r.stdout, fakeToken) {
		t.Error("token in the output")
	}
	var repos []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		for _, repo := range []string{"acme/live", "acme/infra/sub"} {
			if strings.Contains(l, `"repo":"`+repo+`"`) {
				repos = append(repos, repo)
				if !strings.Contains(l, `"html_url":"`+srv.WebURL(repo)+`/-/blob/`) {
					t.Errorf("%s: no GitLab link in %s", repo, l)
				}
			}
		}
	}
	sort.Strings(repos)
	if strings.Join(repos, ",") != "acme/infra/sub,acme/live" {
		t.Fatalf("findings in %v\n%s", repos, r.stdout)
	}
	checkShardsAndResume(t, bin, env, common, 2, "10 skipped")
}

// TestDetectHuggingFaceEndToEnd runs the binary against the Hub fake: an
// organization's Space (key in history) and dataset (key in an LFS
// object), a model whose LFS object is over the cap (said), a named
// private model reported; then shards merged back and a resumed run.
func TestDetectHuggingFaceEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testbin.BKS(t)
	srv, err := hffake.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.Token = fakeToken
	root := t.TempDir()
	plain := sweeptest.Build(t, root, "plain", []githubfake.Commit{{Files: map[string][]byte{"README.md": []byte("# m\n")}}})
	demo := sweeptest.Build(t, root, "demo", []githubfake.Commit{
		{Files: map[string][]byte{"app.py": []byte("KEY = '" + hostKey(41) + "'\n")}},
		{Files: map[string][]byte{"app.py": []byte("KEY = os.environ['KEY']\n")}},
	})
	data := sweeptest.Build(t, root, "data", []githubfake.Commit{{Files: map[string][]byte{"config.json": srv.AddLFS([]byte(`{"k": "` + hostKey(42) + `"}`))}}})
	big := sweeptest.Build(t, root, "big", []githubfake.Commit{{Files: map[string][]byte{"model.bin": srv.AddLFS([]byte(strings.Repeat("x", 4096) + hostKey(43)))}}})
	var rs []*hffake.Repo
	for i := range 6 {
		rs = append(rs, &hffake.Repo{Kind: "model", ID: fmt.Sprintf("acme/m-%d", i), Dir: plain})
	}
	rs = append(rs,
		&hffake.Repo{Kind: "space", ID: "acme/demo", Dir: demo},
		&hffake.Repo{Kind: "dataset", ID: "acme/data", Dir: data},
		&hffake.Repo{Kind: "model", ID: "acme/big", Dir: big},
		&hffake.Repo{Kind: "model", ID: "acme/private", Dir: plain, Hidden: true},
	)
	srv.Add(rs...)
	env := []string{"HF_TOKEN=" + fakeToken, "TMPDIR=" + t.TempDir()}
	common := []string{"detect", "huggingface", "--org", "acme", "--api-url", srv.URL, "--workers", "4", "--lfs-max-size", "1024"}

	r := runBin(t, bin, env, append(common, "--model", "acme/private", "-f", "jsonl")...)
	if r.code != ExitFailure {
		t.Fatalf("exit %d, want 2\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"bks: model acme/private: 401", "acme/big: 1 LFS object(s) over the 1.0 KiB cap not scanned", "swept 9 of 9 repositories", "2 keys"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	for _, want := range []string{`"repo":"spaces/acme/demo"`, `"html_url":"` + srv.URL + `/spaces/acme/demo/blob/`, `"repo":"datasets/acme/data"`, `"path":"config.json"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %s:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stderr+r.stdout, fakeToken) {
		t.Error("token in the output")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatal(err)
	}
	checkShardsAndResume(t, bin, env, common, 2, "9 skipped")
}
