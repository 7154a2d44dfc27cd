// Package git holds end-to-end tests of bks's git integrations with the real
// binary: the plain pre-commit hook, the pre-commit framework (Debian package
// pre-commit, installed by scripts/install-test-tools.sh) and the GitHub
// Action's script (scripts/action/run.sh) against synthetic event payloads.
package git

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/testbin"
	"github.com/bks-dev/bks/internal/testgit"
	"github.com/bks-dev/bks/internal/testkeys"
)

// TestMain removes the bks binary the tests build (testbin).
func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed: run scripts/install-test-tools.sh (make tools) to install it", name)
	}
}

// repo is a temporary git repository with bks on PATH.
type repo = testgit.Repo

// newRepo makes a repository whose commands run with their own HOME (with
// a global git configuration, as pre-commit needs), bks first on PATH, and
// none of the caller's GitHub or pre-commit settings.
func newRepo(t *testing.T) *repo {
	t.Helper()
	needTool(t, "git")
	e2e := testgit.Ident{Name: "E2E", Email: "e2e@example.com"}
	return testgit.New(t, testgit.Options{
		Start:  time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Author: e2e, Committer: e2e,
		Home: t.TempDir(),
		Drop: []string{"PATH", "GITHUB_*", "PRE_COMMIT_HOME"},
		Env:  []string{"PATH=" + testbin.Dir(t) + string(os.PathListSeparator) + os.Getenv("PATH")},
	})
}

func e2eKey(n uint64) string {
	return testkeys.LongTerm(fmt.Sprintf("BedrockAPIKey-e%03d", n), "123456789012", testkeys.Secret(5000+n))
}

func TestPlainHookRefusesKey(t *testing.T) {
	r := newRepo(t)
	r.Write("README.md", "hello\n")
	r.Git("add", "README.md")
	if code, out := r.TryCommit("init"); code != 0 {
		t.Fatalf("first commit: %d %s", code, out)
	}
	if code, out := r.Exec(nil, testbin.BKS(t), "hook", "install"); code != 0 {
		t.Fatalf("hook install: %d %s", code, out)
	}
	r.Write("app.env", "AWS_BEARER_TOKEN_BEDROCK="+e2eKey(1)+"\n")
	r.Git("add", "app.env")
	code, out := r.TryCommit("add env")
	if code == 0 {
		t.Fatalf("commit with a key was accepted:\n%s", out)
	}
	if !strings.Contains(out, "app.env") || !strings.Contains(out, "bedrock-long-term") || strings.Contains(out, e2eKey(1)) {
		t.Errorf("hook output should name the file and not print the key:\n%s", out)
	}
	r.Write("app.env", "AWS_BEARER_TOKEN_BEDROCK=${FROM_VAULT}\n")
	r.Git("add", "app.env")
	if code, out := r.TryCommit("add env, clean"); code != 0 {
		t.Fatalf("clean commit refused: %d\n%s", code, out)
	}
	// A foreign hook is not replaced without --force.
	hook := filepath.Join(r.Dir, ".git", "hooks", "pre-commit")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, out := r.Exec(nil, testbin.BKS(t), "hook", "install"); code != 2 || !strings.Contains(out, "--force") {
		t.Errorf("foreign hook: exit %d\n%s", code, out)
	}
}

// hookRepo makes a git repository holding the source of bks as it is in
// this worktree (committed or not), as pre-commit needs a repo and a rev to
// install a hook from. It holds cmd/bks and the packages it imports only
// (their Go and assembly files, and what they embed):
// language golang runs `go install ./...` there.
func hookRepo(t *testing.T, r *repo) (string, string) {
	t.Helper()
	root := testbin.ModuleRoot()
	dst := filepath.Join(t.TempDir(), "bks-src")
	list := exec.Command("go", "list", "-deps", "-f",
		`{{if .Module}}{{if eq .Module.Path "github.com/bks-dev/bks"}}{{.Dir}}|{{join .GoFiles ","}}{{range .SFiles}},{{.}}{{end}}|{{join .EmbedFiles ","}}{{"\n"}}{{end}}{{end}}`, "./cmd/bks")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	copyFile := func(rel string) {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"go.mod", "go.sum", ".pre-commit-hooks.yaml"} {
		copyFile(f)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		dir, rest, _ := strings.Cut(line, "|")
		gofiles, embeds, _ := strings.Cut(rest, "|")
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range append(strings.Split(gofiles, ","), strings.Split(embeds, ",")...) {
			if f != "" {
				copyFile(filepath.Join(rel, f))
			}
		}
	}
	src := r.At(dst)
	src.Git("init", "-q", "-b", "main")
	src.Git("add", "-A")
	src.Git("-c", "commit.gpgsign=false", "commit", "-q", "-m", "bks source under test")
	return dst, src.Git("rev-parse", "HEAD")
}

func TestPreCommitFramework(t *testing.T) {
	needTool(t, "pre-commit")
	needTool(t, "go")
	r := newRepo(t)
	src, rev := hookRepo(t, r)
	gomodcache, _ := exec.Command("go", "env", "GOMODCACHE").Output()
	gocache, _ := exec.Command("go", "env", "GOCACHE").Output()
	// language: golang runs `go install ./...` in the hook repo: share this
	// machine's module and build caches so it needs no download.
	r.AddEnv(
		"PRE_COMMIT_HOME="+t.TempDir(),
		"GOMODCACHE="+strings.TrimSpace(string(gomodcache)),
		"GOCACHE="+strings.TrimSpace(string(gocache)),
		"GOFLAGS=-mod=mod", "GOTOOLCHAIN=local",
		// Without bks on PATH: the hook must use the one pre-commit built.
		"PATH="+strings.Join(withoutBks(os.Getenv("PATH")), string(os.PathListSeparator)),
	)
	r.Write(".pre-commit-config.yaml", fmt.Sprintf("repos:\n  - repo: %s\n    rev: %s\n    hooks:\n      - id: bks\n", src, rev))
	r.Write("README.md", "hello\n")
	r.Git("add", "-A")
	if code, out := r.TryCommit("init"); code != 0 {
		t.Fatalf("init: %d %s", code, out)
	}
	if code, out := r.Exec(nil, "pre-commit", "install"); code != 0 {
		t.Fatalf("pre-commit install: %d\n%s", code, out)
	}
	r.Write("config/prod.env", "AWS_BEARER_TOKEN_BEDROCK="+e2eKey(2)+"\n")
	r.Git("add", "-A")
	code, out := r.TryCommit("add prod env")
	if code == 0 {
		t.Fatalf("pre-commit accepted a commit adding a key:\n%s", out)
	}
	if !strings.Contains(out, "config/prod.env") || !strings.Contains(out, "bedrock-long-term") || strings.Contains(out, e2eKey(2)) {
		t.Errorf("output should name the file and never the key:\n%s", out)
	}
	r.Write("config/prod.env", "AWS_BEARER_TOKEN_BEDROCK=\n")
	r.Git("add", "-A")
	if code, out := r.TryCommit("add prod env template"); code != 0 {
		t.Fatalf("pre-commit refused a clean commit: %d\n%s", code, out)
	}
	// A key already committed (hook skipped) is caught by --all-files,
	// although nothing is staged.
	r.Write("old.txt", e2eKey(3)+"\n")
	r.Git("add", "old.txt")
	if code, out := r.TryCommit("bypass", "--no-verify"); code != 0 {
		t.Fatalf("--no-verify commit: %d %s", code, out)
	}
	code, out = r.Exec(nil, "pre-commit", "run", "--all-files")
	if code == 0 || !strings.Contains(out, "old.txt") {
		t.Errorf("pre-commit run --all-files passed with a committed key: %d\n%s", code, out)
	}
}

func withoutBks(path string) []string {
	var out []string
	for _, d := range filepath.SplitList(path) {
		if _, err := os.Stat(filepath.Join(d, "bks")); err == nil {
			continue
		}
		out = append(out, d)
	}
	return out
}
