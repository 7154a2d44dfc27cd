package reposweep

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
)

// Repo is one repository to sweep, as every host names it.
type Repo struct {
	FullName      string // "owner/name", how findings and the state name it
	Owner, Name   string
	HTMLURL       string // the repository's page; links are built on it
	CloneURL      string
	DefaultBranch string
	// Links, when set, override the sweep's for this repository (a GitLab
	// snippet links its files unlike a project).
	Links Links
}

// SweepRepo makes Repo an Item.
func (r Repo) SweepRepo() Repo { return r }

// Item is what a host lists: its own description of a repository, which
// the sweep hands back to the host's callbacks untouched.
type Item interface {
	SweepRepo() Repo
}

// ScanFunc scans the history of the bare clone at dir of repository r and
// yields its chunks, cut with split (the sweep's consumer's). The sweep
// sets each chunk's Origin.Repo and Origin.HTMLURL itself.
type ScanFunc[R Item] func(ctx context.Context, dir string, r R, split sources.Chunker, yield func(sources.Chunk) error) error

// Outcome of one repository in a sweep.
const (
	OutcomeScanned = "scanned"
	OutcomeSkipped = "skipped" // already scanned at the same tip (resume)
	OutcomeEmpty   = "empty"
	OutcomeFailed  = "failed"
)

// Links say how a host links a file at a commit and a commit, below the
// repository's HTMLURL: GitHub and the Hugging Face Hub use "blob" and
// "commit", GitLab "-/blob" and "-/commit". An empty one links nothing.
type Links struct {
	Blob, Commit string
}

// GitHubLinks are GitHub's (and the Hub's) links.
var GitHubLinks = Links{Blob: "blob", Commit: "commit"}

// Options configure a Sweep of repositories of type R.
type Options[R Item] struct {
	// List lists the repositories to sweep (filtered and sharded). Required.
	List func(ctx context.Context) ([]R, error)
	// Scan scans one clone. Required.
	Scan ScanFunc[R]
	// Token authenticates git clones, sent as the password of GitUser
	// (DefaultGitUser when empty).
	Token, GitUser string
	// Refspecs are the refs fetched (DefaultRefspecs when nil); the resume
	// state fingerprints the same refs.
	Refspecs []string
	// Links build the html_url of findings (GitHubLinks when zero).
	Links Links
	// Optional: a repository the host answers 404 for (a GitHub wiki
	// without a page) is counted empty, without an error or a note.
	Optional bool
	// Hosts are the hosts clone URLs may name (PinHosts: the API's own,
	// or the configured git host); a repository whose clone URL names
	// another host or transport is refused and reported, and the sweep
	// goes on. Required: with none, every repository is refused.
	Hosts Hosts
	Run[R]
}

// Run are the options of a sweep that every host passes through as the
// caller gives them.
type Run[R Item] struct {
	// Workers is how many repositories are cloned and scanned at once;
	// max(4, CPUs) when 0.
	Workers int
	// CacheDir keeps clones between runs (fetched, not cloned again, the
	// next time). Empty: each clone goes to a temporary directory under
	// TempDir (os.TempDir() when empty) and is deleted once scanned.
	CacheDir string
	TempDir  string
	// State, when not nil, skips repositories scanned before at the same
	// tip, and records each repository once scanned.
	State *State
	// RepoTimeout bounds the clone and scan of one repository (0: none).
	RepoTimeout time.Duration
	// OnError receives the repositories that failed, named by FullName;
	// the sweep goes on.
	OnError sources.ErrorHandler
	// Log receives notes: empty repositories.
	Log func(msg string)
	// Progress, when not nil, is updated as the sweep goes.
	Progress *Progress
	// OnRepo, when not nil, is called after each repository with its
	// outcome (Outcome*), from the worker that handled it.
	OnRepo func(r R, outcome string)
	// Git is the git executable ("git" when empty).
	Git string
}

// Progress counts a sweep's work; every field is safe to read at any time.
type Progress struct {
	Start   time.Time
	Total   atomic.Int64 // repositories to sweep (known once listed)
	Listed  atomic.Bool
	Done    atomic.Int64 // repositories finished, whatever the outcome
	Skipped atomic.Int64
	Failed  atomic.Int64
	Empty   atomic.Int64
	Bytes   atomic.Int64 // bytes scanned
	// Keys is counted by whoever sees the findings (the sweep sees only
	// chunks).
	Keys atomic.Int64
}

// ETA estimates the time left from the repositories done so far; 0 when
// it cannot tell yet.
func (p *Progress) ETA(now time.Time) time.Duration {
	done, total := p.Done.Load(), p.Total.Load()
	if !p.Listed.Load() || done == 0 || total <= done {
		return 0
	}
	el := now.Sub(p.Start)
	return time.Duration(float64(el) / float64(done) * float64(total-done))
}

// Sweep is a source of the chunks of every repository of a target. It calls
// yield from several goroutines at once (one per repository being scanned);
// the chunks of one blob come in order from one goroutine.
type Sweep[R Item] struct {
	opts Options[R]
	git  *gitRunner
}

// New returns a sweep.
func New[R Item](opts Options[R]) *Sweep[R] {
	if opts.Progress == nil {
		opts.Progress = &Progress{}
	}
	if opts.Refspecs == nil {
		opts.Refspecs = DefaultRefspecs
	}
	if opts.Links == (Links{}) {
		opts.Links = GitHubLinks
	}
	return &Sweep[R]{
		opts: opts,
		git:  &gitRunner{git: opts.Git, user: opts.GitUser, token: opts.Token},
	}
}

// Progress returns the sweep's progress counters.
func (s *Sweep[R]) Progress() *Progress { return s.opts.Progress }

// yieldError marks an error of the consumer, which stops the sweep,
// unlike errors about one repository.
type yieldError struct{ err error }

func (e *yieldError) Error() string { return e.err.Error() }
func (e *yieldError) Unwrap() error { return e.err }

// Chunks implements sources.Source. It fails only when the repositories
// cannot be listed, yield fails or ctx is done.
func (s *Sweep[R]) Chunks(ctx context.Context, split sources.Chunker, yield func(sources.Chunk) error) error {
	if s.opts.Scan == nil || s.opts.List == nil {
		return errors.New("sweep: no lister or no history scanner")
	}
	p := s.opts.Progress
	if p.Start.IsZero() {
		p.Start = time.Now()
	}
	repos, err := s.opts.List(ctx)
	if err != nil {
		return err
	}
	p.Total.Store(int64(len(repos)))
	p.Listed.Store(true)
	return Each(ctx, s.opts.Workers, repos, func(ctx context.Context, r R) error { return s.one(ctx, r, split, yield) })
}

// Each runs fn on every item, workers at a time (at least 4, or the CPUs:
// the work is mostly waiting on the network and on git), and stops at the
// first error fn returns, which it returns, or when ctx is done.
func Each[R any](ctx context.Context, workers int, items []R, fn func(context.Context, R) error) error {
	if workers <= 0 {
		workers = max(4, runtime.NumCPU())
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, r := range items {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return fn(gctx, r) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// one clones and scans one repository. It returns an error only to stop
// the sweep (yield failed, ctx done); anything else is reported.
func (s *Sweep[R]) one(ctx context.Context, item R, split sources.Chunker, yield func(sources.Chunk) error) (err error) {
	p := s.opts.Progress
	outcome := OutcomeScanned
	defer func() {
		if ctx.Err() != nil && err == nil {
			err = ctx.Err()
		}
		if err != nil {
			return // interrupted: neither done nor failed
		}
		p.Done.Add(1)
		switch outcome {
		case OutcomeSkipped:
			p.Skipped.Add(1)
		case OutcomeFailed:
			p.Failed.Add(1)
		case OutcomeEmpty:
			p.Empty.Add(1)
		}
		if s.opts.OnRepo != nil {
			s.opts.OnRepo(item, outcome)
		}
	}()
	rctx := ctx
	if s.opts.RepoTimeout > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, s.opts.RepoTimeout)
		defer cancel()
	}
	outcome, e := s.sweepOne(rctx, item, split, yield)
	var ye *yieldError
	switch {
	case e == nil:
		return nil
	case errors.As(e, &ye):
		return ye.err
	case ctx.Err() != nil:
		return ctx.Err()
	case s.opts.Optional && errors.Is(e, ErrNotFound):
		outcome = OutcomeEmpty
		return nil
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		e = fmt.Errorf("timed out after %s: %w", s.opts.RepoTimeout, e)
	}
	outcome = OutcomeFailed
	if s.opts.OnError != nil {
		s.opts.OnError(item.SweepRepo().FullName, e)
	}
	return nil
}

// sweepOne checks the clone URL, skips a repository scanned before at
// the same tip, and clones and scans it; it returns the outcome, or an
// error (a *yieldError when the consumer failed).
func (s *Sweep[R]) sweepOne(ctx context.Context, item R, split sources.Chunker, yield func(sources.Chunk) error) (string, error) {
	r := item.SweepRepo()
	if r.CloneURL == "" {
		return "", errors.New("no clone URL")
	}
	if err := s.opts.Hosts.Check(r.CloneURL); err != nil {
		return "", err
	}
	r, err := s.git.resolveHead(ctx, r)
	if err != nil {
		return "", err
	}
	if st := s.opts.State; st != nil {
		tip, err := s.git.remoteTip(ctx, r, s.opts.Refspecs)
		if err != nil {
			return "", err
		}
		if st.Scanned(r.FullName, tip) {
			return OutcomeSkipped, nil
		}
	}
	var dir string
	if s.opts.CacheDir != "" {
		dir = CachePath(s.opts.CacheDir, r)
	} else {
		tmp, err := os.MkdirTemp(s.opts.TempDir, "bks-clone-*")
		if err != nil {
			return "", fmt.Errorf("clone: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = filepath.Join(tmp, "repo.git")
	}
	if err := s.git.fetch(ctx, r, dir, s.opts.Refspecs); err != nil {
		if errors.Is(err, ErrEmptyRepository) {
			s.log(fmt.Sprintf("%s: empty repository, nothing to scan", r.FullName))
			return OutcomeEmpty, nil
		}
		return "", err
	}
	if err := s.opts.Scan(ctx, dir, item, split, s.wrapYield(r, yield)); err != nil {
		return "", fmt.Errorf("scan history: %w", err)
	}
	if st := s.opts.State; st != nil {
		tip, err := s.git.localTip(ctx, dir, r.DefaultBranch, s.opts.Refspecs)
		if err == nil {
			err = st.Record(r.FullName, tip, time.Now())
		}
		if err != nil {
			return "", err
		}
	}
	return OutcomeScanned, nil
}

func (s *Sweep[R]) log(msg string) {
	if s.opts.Log != nil {
		s.opts.Log(msg)
	}
}

// wrapYield names the repository in each chunk's origin, adds a link to
// the file at its commit, and counts bytes.
func (s *Sweep[R]) wrapYield(r Repo, yield func(sources.Chunk) error) func(sources.Chunk) error {
	var last, named *location.Location
	p := s.opts.Progress
	return func(c sources.Chunk) error {
		if c.Origin != last || named == nil {
			last = c.Origin
			links := s.opts.Links
			if r.Links != (Links{}) {
				links = r.Links
			}
			named = NameOrigin(r, links, c.Origin)
		}
		c.Origin = named
		p.Bytes.Add(int64(c.Limit - c.Start))
		if err := yield(c); err != nil {
			return &yieldError{err}
		}
		return nil
	}
}

// NameOrigin returns a copy of o naming repository r, with a link to the
// place on the host: the file at its commit, or the commit itself for a
// commit message.
func NameOrigin(r Repo, links Links, o *location.Location) *location.Location {
	var n location.Location
	if o != nil {
		n = *o
	}
	// The git source names submodules "repo//path"; keep that.
	if !strings.HasPrefix(n.Repo, r.FullName+"//") {
		n.Repo = r.FullName
	}
	if n.HTMLURL == "" && r.HTMLURL != "" && n.Commit != "" && n.Repo == r.FullName {
		base := strings.TrimSuffix(r.HTMLURL, "/")
		switch {
		case n.Kind == "" && n.Path != "" && links.Blob != "":
			path := n.Path
			if n.Archive != "" { // an archive member: link the archive
				path = n.Archive
			}
			n.HTMLURL = base + "/" + links.Blob + "/" + n.Commit + "/" + escapePath(path)
		case n.Kind == "commit-message" && links.Commit != "":
			n.HTMLURL = base + "/" + links.Commit + "/" + n.Commit
		}
	}
	return &n
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, x := range parts {
		parts[i] = url.PathEscape(x)
	}
	return strings.Join(parts, "/")
}
