// Package testgit builds throwaway git repositories for tests with the git
// CLI. Commits get fixed identities and a clock that advances by one step
// per commit, so commit ids are the same on every run, and the git
// settings of the machine running the tests (GIT_* variables, system and
// global configuration, signing) cannot change what the tests see.
//
// The users differ in what they need, and Options holds the differences:
// source tests take the defaults; CLI tests pick their own dates and
// author; end-to-end tests of hooks keep a separate HOME with a global
// configuration (tools such as pre-commit write there), drop more of the
// inherited environment and put the binary under test on PATH.
package testgit

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Ident is a commit author or committer.
type Ident struct{ Name, Email string }

// Options are the ways repositories differ; the zero value is usable.
type Options struct {
	// Start is the clock before the first commit; each commit advances
	// it by Step, and every command run in the repository is dated by
	// it. Defaults: 2024-01-01T00:00:00Z and one minute.
	Start time.Time
	Step  time.Duration
	// Author and Committer of every commit. Defaults: Ann Author
	// <ann@example.com> and Cy Committer <cy@example.com>.
	Author, Committer Ident
	// Home is HOME for every command. Empty: the repository's directory,
	// with git's global configuration off (GIT_CONFIG_GLOBAL=/dev/null).
	// Set: git reads and writes the global configuration there.
	Home string
	// Drop names more inherited variables to remove: a name, or a prefix
	// ending in "*". GIT_* and HOME are always removed.
	Drop []string
	// Env is added after everything else (PATH with the binary under
	// test first, for example).
	Env []string
}

// Repo is a repository in Dir. Tick counts the commits made through it:
// it is the clock's position, and tests may move it.
type Repo struct {
	T    testing.TB
	Dir  string
	Tick int
	opts Options
}

// configArgs are given to every git command run through Run and Git.
var configArgs = []string{"-c", "protocol.file.allow=always", "-c", "gc.auto=0", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}

// Need skips the test when the git CLI is not installed.
func Need(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git CLI not installed (scripts/install-test-tools.sh installs it)")
	}
}

// New runs `git init -b main` in a new temporary directory. It also writes
// commit.gpgsign=false and protocol.file.allow=always into the
// repository's configuration, for the git commands that tools under test
// run themselves.
func New(t testing.TB, opts Options) *Repo {
	t.Helper()
	Need(t)
	r := Open(t, t.TempDir(), opts)
	r.Git("init", "-q", "-b", "main")
	r.Git("config", "commit.gpgsign", "false")
	r.Git("config", "protocol.file.allow", "always")
	return r
}

// Open returns a Repo for dir (which need not exist yet, for a clone) with
// the clock at its start.
func Open(t testing.TB, dir string, opts Options) *Repo {
	if opts.Start.IsZero() {
		opts.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if opts.Step == 0 {
		opts.Step = time.Minute
	}
	if opts.Author == (Ident{}) {
		opts.Author = Ident{"Ann Author", "ann@example.com"}
	}
	if opts.Committer == (Ident{}) {
		opts.Committer = Ident{"Cy Committer", "cy@example.com"}
	}
	return &Repo{T: t, Dir: dir, opts: opts}
}

// At returns a Repo for another directory with r's options, its clock at
// the start.
func (r *Repo) At(dir string) *Repo { return Open(r.T, dir, r.opts) }

// AddEnv adds variables to the environment of the commands run from now on
// (Options.Env), overriding earlier values.
func (r *Repo) AddEnv(kv ...string) {
	r.opts.Env = append(r.opts.Env[:len(r.opts.Env):len(r.opts.Env)], kv...)
}

// Env is the environment of every command run in the repository.
func (r *Repo) Env() []string {
	o := r.opts
	when := o.Start.Add(time.Duration(r.Tick) * o.Step).Format(time.RFC3339)
	env := []string{
		"GIT_AUTHOR_NAME=" + o.Author.Name, "GIT_AUTHOR_EMAIL=" + o.Author.Email, "GIT_AUTHOR_DATE=" + when,
		"GIT_COMMITTER_NAME=" + o.Committer.Name, "GIT_COMMITTER_EMAIL=" + o.Committer.Email, "GIT_COMMITTER_DATE=" + when,
		"GIT_CONFIG_NOSYSTEM=1", "GIT_PROTOCOL_FROM_USER=1",
	}
	if o.Home == "" {
		env = append(env, "HOME="+r.Dir, "GIT_CONFIG_GLOBAL=/dev/null")
	} else {
		env = append(env, "HOME="+o.Home)
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !dropped(k, o.Drop) {
			env = append(env, kv)
		}
	}
	return append(env, o.Env...)
}

func dropped(name string, drop []string) bool {
	if strings.HasPrefix(name, "GIT_") || name == "HOME" {
		return true
	}
	for _, d := range drop {
		if p, ok := strings.CutSuffix(d, "*"); ok && strings.HasPrefix(name, p) || name == d {
			return true
		}
	}
	return false
}

// Git runs git in the repository and returns its trimmed output; a
// failure fails the test.
func (r *Repo) Git(args ...string) string {
	r.T.Helper()
	return Run(r.T, r.Dir, r.Env(), args...)
}

// Run runs git in dir with env and returns its trimmed output; a failure
// fails the test.
func Run(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append(append([]string(nil), configArgs...), args...)...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Exec runs a command in the repository with its environment plus env and
// returns the exit code and combined output: for commands expected to
// fail (a hook refusing a commit). Failing to start fails the test.
func (r *Repo) Exec(env []string, name string, args ...string) (int, string) {
	r.T.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = r.Dir
	cmd.Env = append(r.Env(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		r.T.Fatalf("%s %v: %v", name, args, err)
	}
	return 0, out.String()
}

// Write writes a file (slash-separated path) in the work tree, creating
// directories.
func (r *Repo) Write(path, content string) {
	r.T.Helper()
	p := filepath.Join(r.Dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.T.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.T.Fatal(err)
	}
}

// Commit advances the clock, stages everything and commits (empty commits
// too); it returns the new commit id.
func (r *Repo) Commit(msg string) string {
	r.T.Helper()
	r.Tick++
	r.Git("add", "-A")
	r.Git("commit", "-q", "--allow-empty", "-m", msg)
	return r.Git("rev-parse", "HEAD")
}

// TryCommit advances the clock and commits what is staged, hooks
// included; it returns git's exit code and output.
func (r *Repo) TryCommit(msg string, extra ...string) (int, string) {
	r.T.Helper()
	r.Tick++
	return r.Exec(nil, "git", append([]string{"commit", "-q", "-m", msg}, extra...)...)
}

// DeleteObject removes the loose object rev names (a missing or lost
// object, as in a damaged repository) and returns its id.
func (r *Repo) DeleteObject(rev string) string {
	r.T.Helper()
	id := r.Git("rev-parse", rev)
	if err := os.Remove(filepath.Join(r.Dir, ".git", "objects", id[:2], id[2:])); err != nil {
		r.T.Fatal(err)
	}
	return id
}
