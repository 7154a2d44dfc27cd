// Package git holds end-to-end tests of bks's git integrations with the real
// binary: the plain pre-commit hook, the pre-commit framework (Debian package
// pre-commit, installed by scripts/install-test-tools.sh) and the GitHub
// Action's script (scripts/action/run.sh) against synthetic event payloads.
package git

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/testkeys"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// moduleRoot is the repository this test runs in.
func moduleRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// bks builds the binary once and returns the directory holding it.
func bks(t *testing.T) string {
	t.Helper()
	needTool(t, "git")
	buildOnce.Do(func() {
		if dir := os.Getenv("BKS_E2E_BIN_DIR"); dir != "" {
			binDir = dir // a bks built elsewhere (kept after the run)
			return
		}
		binDir, buildErr = os.MkdirTemp("", "bks-e2e-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, "bks"), "./cmd/bks")
		cmd.Dir = moduleRoot(t)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" && os.Getenv("BKS_E2E_BIN_DIR") == "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed: run scripts/install-test-tools.sh (make tools) to install it", name)
	}
}

// repo is a temporary git repository with bks on PATH.
type repo struct {
	t    *testing.T
	dir  string
	env  []string
	tick int
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	bin := bks(t)
	home := t.TempDir()
	r := &repo{t: t, dir: t.TempDir()}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GIT_") || k == "HOME" || k == "PATH" || strings.HasPrefix(k, "GITHUB_") || k == "PRE_COMMIT_HOME" {
			continue
		}
		r.env = append(r.env, kv)
	}
	r.env = append(r.env, "HOME="+home, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=E2E", "GIT_AUTHOR_EMAIL=e2e@example.com",
		"GIT_COMMITTER_NAME=E2E", "GIT_COMMITTER_EMAIL=e2e@example.com")
	r.git("init", "-q", "-b", "main")
	r.git("config", "commit.gpgsign", "false")
	r.git("config", "protocol.file.allow", "always")
	return r
}

// exec runs a command in the repository and returns its exit code and
// combined output.
func (r *repo) exec(env []string, name string, args ...string) (int, string) {
	r.t.Helper()
	if name == "bks" {
		name = filepath.Join(binDir, "bks") // exec looks names up in this process's PATH
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = r.dir
	cmd.Env = append(append([]string{}, r.env...), env...)
	when := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.tick) * time.Minute).Format(time.RFC3339)
	cmd.Env = append(cmd.Env, "GIT_AUTHOR_DATE="+when, "GIT_COMMITTER_DATE="+when)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		r.t.Fatalf("%s %v: %v", name, args, err)
	}
	return 0, out.String()
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	code, out := r.exec(nil, "git", args...)
	if code != 0 {
		r.t.Fatalf("git %v: exit %d\n%s", args, code, out)
	}
	return strings.TrimSpace(out)
}

func (r *repo) write(name, body string) {
	r.t.Helper()
	p := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// commit tries a commit and returns git's exit code and output.
func (r *repo) commit(msg string, extra ...string) (int, string) {
	r.t.Helper()
	r.tick++
	return r.exec(nil, "git", append([]string{"commit", "-q", "-m", msg}, extra...)...)
}

func e2eKey(n uint64) string {
	return testkeys.LongTerm(fmt.Sprintf("BedrockAPIKey-e%03d", n), "123456789012", testkeys.Secret(5000+n))
}

func TestPlainHookRefusesKey(t *testing.T) {
	r := newRepo(t)
	r.write("README.md", "hello\n")
	r.git("add", "README.md")
	if code, out := r.commit("init"); code != 0 {
		t.Fatalf("first commit: %d %s", code, out)
	}
	if code, out := r.exec(nil, "bks", "hook", "install"); code != 0 {
		t.Fatalf("hook install: %d %s", code, out)
	}
	r.write("app.env", "AWS_BEARER_TOKEN_BEDROCK="+e2eKey(1)+"\n")
	r.git("add", "app.env")
	code, out := r.commit("add env")
	if code == 0 {
		t.Fatalf("commit with a key was accepted:\n%s", out)
	}
	if !strings.Contains(out, "app.env") || !strings.Contains(out, "bedrock-long-term") || strings.Contains(out, e2eKey(1)) {
		t.Errorf("hook output should name the file and not print the key:\n%s", out)
	}
	r.write("app.env", "AWS_BEARER_TOKEN_BEDROCK=${FROM_VAULT}\n")
	r.git("add", "app.env")
	if code, out := r.commit("add env, clean"); code != 0 {
		t.Fatalf("clean commit refused: %d\n%s", code, out)
	}
	// A foreign hook is not replaced without --force.
	hook := filepath.Join(r.dir, ".git", "hooks", "pre-commit")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, out := r.exec(nil, "bks", "hook", "install"); code != 2 || !strings.Contains(out, "--force") {
		t.Errorf("foreign hook: exit %d\n%s", code, out)
	}
}

// hookRepo makes a git repository holding the source of bks as it is in
// this worktree (committed or not), as pre-commit needs a repo and a rev to
// install a hook from. It holds cmd/bks and the packages it imports only:
// language golang runs `go install ./...` there.
func hookRepo(t *testing.T, r *repo) (string, string) {
	t.Helper()
	root := moduleRoot(t)
	dst := filepath.Join(t.TempDir(), "bks-src")
	list := exec.Command("go", "list", "-deps", "-f",
		`{{if .Module}}{{if eq .Module.Path "github.com/bks-dev/bks"}}{{.Dir}}|{{join .GoFiles ","}}|{{join .EmbedFiles ","}}{{"\n"}}{{end}}{{end}}`, "./cmd/bks")
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
	src := &repo{t: t, dir: dst, env: r.env}
	src.git("init", "-q", "-b", "main")
	src.git("add", "-A")
	src.git("-c", "commit.gpgsign=false", "commit", "-q", "-m", "bks source under test")
	return dst, src.git("rev-parse", "HEAD")
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
	r.env = append(r.env,
		"PRE_COMMIT_HOME="+t.TempDir(),
		"GOMODCACHE="+strings.TrimSpace(string(gomodcache)),
		"GOCACHE="+strings.TrimSpace(string(gocache)),
		"GOFLAGS=-mod=mod", "GOTOOLCHAIN=local",
		// Without bks on PATH: the hook must use the one pre-commit built.
		"PATH="+strings.Join(withoutBks(os.Getenv("PATH")), string(os.PathListSeparator)),
	)
	r.write(".pre-commit-config.yaml", fmt.Sprintf("repos:\n  - repo: %s\n    rev: %s\n    hooks:\n      - id: bks\n", src, rev))
	r.write("README.md", "hello\n")
	r.git("add", "-A")
	if code, out := r.commit("init"); code != 0 {
		t.Fatalf("init: %d %s", code, out)
	}
	if code, out := r.exec(nil, "pre-commit", "install"); code != 0 {
		t.Fatalf("pre-commit install: %d\n%s", code, out)
	}
	r.write("config/prod.env", "AWS_BEARER_TOKEN_BEDROCK="+e2eKey(2)+"\n")
	r.git("add", "-A")
	code, out := r.commit("add prod env")
	if code == 0 {
		t.Fatalf("pre-commit accepted a commit adding a key:\n%s", out)
	}
	if !strings.Contains(out, "config/prod.env") || !strings.Contains(out, "bedrock-long-term") || strings.Contains(out, e2eKey(2)) {
		t.Errorf("output should name the file and never the key:\n%s", out)
	}
	r.write("config/prod.env", "AWS_BEARER_TOKEN_BEDROCK=\n")
	r.git("add", "-A")
	if code, out := r.commit("add prod env template"); code != 0 {
		t.Fatalf("pre-commit refused a clean commit: %d\n%s", code, out)
	}
	// A key already committed (hook skipped) is caught by --all-files,
	// although nothing is staged.
	r.write("old.txt", e2eKey(3)+"\n")
	r.git("add", "old.txt")
	if code, out := r.commit("bypass", "--no-verify"); code != 0 {
		t.Fatalf("--no-verify commit: %d %s", code, out)
	}
	code, out = r.exec(nil, "pre-commit", "run", "--all-files")
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
