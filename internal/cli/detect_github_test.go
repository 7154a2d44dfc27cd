package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/testbin"
	"github.com/bks-dev/bks/internal/testkeys"
)

const fakeToken = "fake-token-123"

// fakeOrg starts a GitHub fake holding organization "acme": n clean
// repositories, three holding a key (at HEAD, in history only, on a
// branch), one taken down (451: every clone fails) and one empty.
func fakeOrg(t *testing.T, n int) (*githubfake.Server, map[string]string) {
	t.Helper()
	srv, err := githubfake.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.Token = fakeToken
	root := t.TempDir()
	build := func(name string, commits []githubfake.Commit) string {
		dir := filepath.Join(root, name+".git")
		if err := githubfake.BuildRepo(dir, commits); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	key := func(seed uint64) string {
		return testkeys.LongTerm(testkeys.ConsoleUser(seed), "210987654321", testkeys.Secret(seed))
	}
	keys := map[string]string{"acme/live": key(11), "acme/history": key(12), "acme/branch": key(13)}
	plain := build("plain", []githubfake.Commit{{Files: map[string][]byte{"README.md": []byte("# svc\n")}}})
	var repos []*githubfake.Repo
	for i := range n {
		repos = append(repos, &githubfake.Repo{Owner: "acme", Name: fmt.Sprintf("svc-%02d", i), Dir: plain})
	}
	repos = append(repos,
		&githubfake.Repo{Owner: "acme", Name: "live", Dir: build("live", []githubfake.Commit{
			{Files: map[string][]byte{"deploy/.env": []byte("AWS_BEARER_TOKEN_BEDROCK=" + keys["acme/live"] + "\n")}},
		})},
		&githubfake.Repo{Owner: "acme", Name: "history", Dir: build("history", []githubfake.Commit{
			{Files: map[string][]byte{"nb.ipynb": []byte(`{"source": ["key = '` + keys["acme/history"] + `'\n"]}`)}},
			{Files: map[string][]byte{"nb.ipynb": []byte(`{"source": []}`)}},
		})},
		&githubfake.Repo{Owner: "acme", Name: "branch", Dir: build("branch", []githubfake.Commit{
			{Files: map[string][]byte{"a.txt": []byte("a\n")}},
			{Branch: "feature", Files: map[string][]byte{"b.yaml": []byte("token: " + keys["acme/branch"] + "\n")}},
		})},
		&githubfake.Repo{Owner: "acme", Name: "dmca", Dir: plain, CloneStatus: 451},
		&githubfake.Repo{Owner: "acme", Name: "empty", Dir: build("empty", nil)},
	)
	srv.Add(repos...)
	return srv, keys
}

type run struct {
	code           int
	stdout, stderr string
}

func runBin(t *testing.T, bin string, env []string, args ...string) run {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return run{code, out.String(), errb.String()}
}

func readJSONL(t *testing.T, path string) []findings.Finding {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []findings.Finding
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l == "" {
			continue
		}
		var f findings.Finding
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, f)
	}
	return out
}

// TestDetectGitHubEndToEnd runs the real binary against the fake: the
// organization listed over several pages through a secondary rate limit,
// one repository failing to clone, findings streamed as JSON Lines; then
// the same sweep in 3 shards merged back, and a resumed run.
func TestDetectGitHubEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testbin.BKS(t)
	srv, keys := fakeOrg(t, 12)
	srv.MaxPerPage = 5
	srv.AddFault(&githubfake.Fault{PathContains: "/orgs/acme/repos", After: 2, Kind: "secondary"})
	env := []string{"GITHUB_TOKEN=" + fakeToken, "TMPDIR=" + t.TempDir()}
	dir := t.TempDir()
	common := []string{"detect", "github", "--org", "acme", "--api-url", srv.APIURL(), "--workers", "4"}

	out := filepath.Join(dir, "all.jsonl")
	r := runBin(t, bin, env, append(common, "--format", "jsonl", "-o", out)...)
	if r.code != ExitFailure {
		t.Fatalf("exit %d, want 2 (a repository failed)\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"acme/dmca:", "451", "secondary rate limit reached", "waiting until", "acme/empty: empty repository", "swept 17 of 17 repositories (1 failed, 1 empty)", "3 keys"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, fakeToken) {
		t.Error("token on stderr")
	}
	// Exit 2: the report is kept, named as incomplete (--ignore-errors
	// writes it to -o itself).
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s written by a run that failed", out)
	}
	all := readJSONL(t, out+".incomplete")
	var repos []string
	for _, f := range all {
		repos = append(repos, f.Repo)
		want := srv.HTMLURL("acme", strings.TrimPrefix(f.Repo, "acme/")) + "/blob/" + f.Commit + "/" + f.Path
		if f.HTMLURL != want {
			t.Errorf("%s: html_url %q, want %q", f.Repo, f.HTMLURL, want)
		}
		if f.Secret != "" || f.Key == nil || f.Key.AccountID != "210987654321" {
			t.Errorf("%s: finding %+v", f.Repo, f)
		}
	}
	sort.Strings(repos)
	if got := strings.Join(repos, ","); got != "acme/branch,acme/history,acme/live" {
		t.Fatalf("findings in %s", got)
	}
	raw, _ := os.ReadFile(out)
	for _, k := range keys {
		if strings.Contains(string(raw), k) {
			t.Fatal("a secret in the report")
		}
	}

	// --ignore-errors: exit by findings only.
	r = runBin(t, bin, env, append(common, "--format", "jsonl", "--ignore-errors", "--include-repo", "live")...)
	if r.code != ExitFound || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}

	// Three shards, merged, equal the whole sweep.
	var shardFiles, sarifFiles []string
	for i := range 3 {
		p := filepath.Join(dir, fmt.Sprintf("shard-%d.jsonl", i))
		s := filepath.Join(dir, fmt.Sprintf("shard-%d.sarif", i))
		r := runBin(t, bin, env, append(common, "--shard", fmt.Sprintf("%d/3", i), "--ignore-errors", "--format", "jsonl", "-o", p)...)
		if r.code != ExitOK && r.code != ExitFound {
			t.Fatalf("shard %d: exit %d\n%s", i, r.code, r.stderr)
		}
		r = runBin(t, bin, env, append(common, "--shard", fmt.Sprintf("%d/3", i), "--ignore-errors", "--format", "sarif", "-o", s)...)
		if r.code != ExitOK && r.code != ExitFound {
			t.Fatalf("shard %d sarif: exit %d\n%s", i, r.code, r.stderr)
		}
		shardFiles = append(shardFiles, p)
		sarifFiles = append(sarifFiles, s)
	}
	merged := filepath.Join(dir, "merged.jsonl")
	r = runBin(t, bin, nil, append(append([]string{"merge", "-o", merged}, shardFiles...), out+".incomplete")...)
	if r.code != ExitFound || !strings.Contains(r.stderr, "3 finding(s), 3 duplicate(s) dropped") {
		t.Fatalf("merge: exit %d\n%s", r.code, r.stderr)
	}
	if got := readJSONL(t, merged); len(got) != 3 {
		t.Errorf("merged %d findings", len(got))
	}
	r = runBin(t, bin, nil, append([]string{"merge"}, sarifFiles...)...)
	var doc struct {
		Runs []struct {
			Results []json.RawMessage `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != ExitFound || len(doc.Runs) != 1 || len(doc.Runs[0].Results) != 3 {
		t.Fatalf("merged SARIF: exit %d err %v\n%s", r.code, err, r.stderr)
	}

	// Resume: the second run skips everything already scanned.
	state := filepath.Join(dir, "state.json")
	r = runBin(t, bin, env, append(common, "--resume", state, "--ignore-errors", "-f", "jsonl")...)
	if r.code != ExitFound {
		t.Fatalf("resume run 1: exit %d\n%s", r.code, r.stderr)
	}
	r = runBin(t, bin, env, append(common, "--resume", state, "--ignore-errors", "-f", "jsonl")...)
	if r.code != ExitOK || r.stdout != "" || !strings.Contains(r.stderr, "15 skipped") {
		t.Fatalf("resume run 2: exit %d stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestDetectGitHubSearch runs --search in process.
func TestDetectGitHubSearch(t *testing.T) {
	srv, keys := fakeOrg(t, 2)
	var out, errb bytes.Buffer
	sio := &IO{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: func(k string) string {
		if k == "GITHUB_TOKEN" {
			return fakeToken
		}
		return ""
	}}
	code := Run(context.Background(), []string{"detect", "github", "--org", "acme", "--api-url", srv.APIURL(), "--search", "-f", "jsonl"}, sio)
	if code != ExitFound {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "default branch") {
		t.Errorf("no default-branch notice:\n%s", errb.String())
	}
	var f findings.Finding
	if err := json.Unmarshal(out.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	if f.Repo != "acme/live" || f.Path != "deploy/.env" || f.Key == nil || f.RawKey() != "" {
		t.Errorf("finding %+v", f)
	}
	if strings.Contains(out.String(), keys["acme/live"]) {
		t.Error("secret in the report")
	}
}

func TestDetectGitHubFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"detect", "github"}, "give --org, --user or --repo"},
		{[]string{"detect", "github", "--org", "a", "--shard", "3/3"}, "shard"},
		{[]string{"detect", "github", "--org", "a", "--visibility", "hidden"}, "visibility"},
		{[]string{"detect", "github", "--org", "a", "--include-repo", "[x"}, "glob"},
		{[]string{"detect", "github", "--org", "a", "--api-url", "not a url"}, "API URL"},
		{[]string{"merge", filepath.Join(t.TempDir(), "missing.jsonl")}, "no such file"},
	}
	for _, tc := range cases {
		var out, errb bytes.Buffer
		code := Run(context.Background(), tc.args, &IO{In: strings.NewReader(""), Out: &out, Err: &errb})
		if code != ExitFailure || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errb.String(), tc.want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	s := &statusWriter{w: &buf, tty: true}
	s.setStatus("bks: 1/2 repositories")
	s.line("bks: a message")
	s.clearStatus()
	want := "bks: 1/2 repositories\r\033[Kbks: a message\nbks: 1/2 repositories\r\033[K"
	if buf.String() != want {
		t.Errorf("terminal output %q, want %q", buf.String(), want)
	}
	buf.Reset()
	s = &statusWriter{w: &buf}
	s.setStatus("bks: 1/2 repositories")
	s.line("bks: a message")
	if buf.String() != "bks: 1/2 repositories\nbks: a message\n" {
		t.Errorf("log output %q", buf.String())
	}
}
