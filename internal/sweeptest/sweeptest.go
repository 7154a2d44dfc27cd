// Package sweeptest holds what the tests of the repository-host sweeps
// (GitLab, the Hugging Face Hub) share: a collector of what a sweep
// produced (findings, errors, notes, outcomes), bare repositories built
// and changed on disk, and a run of a source through the detectors.
package sweeptest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/scan"
	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/reposweep"
)

// Result collects what a sweep produced. Read its fields once the sweep
// is over.
type Result struct {
	mu       sync.Mutex
	Findings []findings.Finding
	Errors   map[string]string // item -> error
	Logs     []string
	Outcomes map[string]string // repository -> outcome
}

// New returns an empty Result.
func New() *Result { return &Result{Errors: map[string]string{}, Outcomes: map[string]string{}} }

// OnError is a sources.ErrorHandler.
func (r *Result) OnError(item string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Errors[item] = err.Error()
}

// Log records a note.
func (r *Result) Log(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Logs = append(r.Logs, msg)
}

// OnRepo records a repository's outcome.
func (r *Result) OnRepo(repo reposweep.Repo, outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Outcomes[repo.FullName] = outcome
}

// Run are a sweep's options reporting into r, with a fresh Progress.
func (r *Result) Run(tb testing.TB, workers int) reposweep.Run[reposweep.Repo] {
	return reposweep.Run[reposweep.Repo]{
		Workers:  workers,
		TempDir:  tb.TempDir(),
		OnError:  r.OnError,
		Log:      r.Log,
		OnRepo:   r.OnRepo,
		Progress: &reposweep.Progress{},
	}
}

// Count is how many repositories had outcome.
func (r *Result) Count(outcome string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, o := range r.Outcomes {
		if o == outcome {
			n++
		}
	}
	return n
}

// Logged says whether a note contains sub.
func (r *Result) Logged(sub string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.Logs {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// ByRepo returns the findings by repository (the last one of each).
func (r *Result) ByRepo() map[string]findings.Finding {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string]findings.Finding{}
	for _, f := range r.Findings {
		m[f.Repo] = f
	}
	return m
}

var engine = detectors.New(detectors.Options{})

// Scan runs src through the detectors into r.
func (r *Result) Scan(ctx context.Context, src sources.Source) error {
	return scan.Run(ctx, src, engine, func(f findings.Finding) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.Findings = append(r.Findings, f)
		return nil
	})
}

// Build creates the bare repository root/name.git holding commits.
func Build(tb testing.TB, root, name string, commits []githubfake.Commit) string {
	tb.Helper()
	dir := filepath.Join(root, name+".git")
	if err := githubfake.BuildRepo(dir, commits); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// AddCommit adds a commit on main to a bare repository.
func AddCommit(dir string) error {
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", append([]string{"--git-dir", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@b", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@b")
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err
	}
	tree, err := git("rev-parse", "main^{tree}")
	if err != nil {
		return err
	}
	c, err := git("commit-tree", tree, "-p", "main", "-m", "more")
	if err != nil {
		return err
	}
	_, err = git("update-ref", "refs/heads/main", c)
	return err
}
