package github

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

	gh "github.com/google/go-github/v62/github"
	"golang.org/x/sync/errgroup"

	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
)

// ScanFunc scans the history of the bare clone at dir of repository r and
// yields its chunks, cut with split (the sweep's consumer's). The git source
// does this in bks; the sweep sets each chunk's Origin.Repo and
// Origin.HTMLURL itself.
type ScanFunc func(ctx context.Context, dir string, r Repo, split sources.Chunker, yield func(sources.Chunk) error) error

// Outcome of one repository in a sweep.
const (
	OutcomeScanned = "scanned"
	OutcomeSkipped = "skipped" // already scanned at the same tip (resume)
	OutcomeEmpty   = "empty"
	OutcomeFailed  = "failed"
)

// Options configure a Sweep.
type Options struct {
	Client *gh.Client
	// Token authenticates git clones (the API client carries its own).
	Token  string
	Target Target
	Filter Filter
	Shard  Shard
	// Workers is how many repositories are cloned and scanned at once;
	// max(4, CPUs) when 0.
	Workers int
	// CacheDir keeps clones between runs (fetched, not cloned again, the
	// next time). Empty: each clone goes to a temporary directory under
	// TempDir (os.TempDir() when empty) and is deleted once scanned.
	CacheDir string
	TempDir  string
	// PullRefs also fetches and scans the heads of pull requests.
	PullRefs bool
	// State, when not nil, skips repositories scanned before at the same
	// tip, and records each repository once scanned.
	State *State
	// RepoTimeout bounds the clone and scan of one repository (0: none).
	RepoTimeout time.Duration
	// Scan scans one clone. Required.
	Scan ScanFunc
	// OnError receives the repositories that failed, named "owner/name";
	// the sweep goes on.
	OnError sources.ErrorHandler
	// Log receives notes: rate-limit waits, empty repositories.
	Log func(msg string)
	// Progress, when not nil, is updated as the sweep goes.
	Progress *Progress
	// OnRepo, when not nil, is called after each repository with its
	// outcome (Outcome*), from the worker that handled it.
	OnRepo func(r Repo, outcome string)
	// Git is the git executable ("git" when empty).
	Git string

	sleep func(context.Context, time.Duration) error // tests
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
type Sweep struct {
	opts Options
	git  *gitRunner
	lim  *limiter
}

var _ sources.Source = (*Sweep)(nil)

// NewSweep returns a sweep.
func NewSweep(opts Options) *Sweep {
	if opts.Progress == nil {
		opts.Progress = &Progress{}
	}
	return &Sweep{
		opts: opts,
		git:  &gitRunner{git: opts.Git, token: opts.Token},
		lim:  newLimiter(opts.Log, opts.sleep),
	}
}

// List lists the repositories the sweep covers.
func (s *Sweep) List(ctx context.Context) ([]Repo, error) {
	l := &Lister{Client: s.opts.Client, Target: s.opts.Target, Filter: s.opts.Filter, Shard: s.opts.Shard, lim: s.lim}
	return l.List(ctx)
}

// yieldError marks an error of the consumer, which stops the sweep,
// unlike errors about one repository.
type yieldError struct{ err error }

func (e *yieldError) Error() string { return e.err.Error() }
func (e *yieldError) Unwrap() error { return e.err }

// Chunks implements sources.Source. It fails only when the repositories
// cannot be listed, yield fails or ctx is done.
func (s *Sweep) Chunks(ctx context.Context, split sources.Chunker, yield func(sources.Chunk) error) error {
	if s.opts.Scan == nil {
		return errors.New("github: sweep: no history scanner")
	}
	p := s.opts.Progress
	if p.Start.IsZero() {
		p.Start = time.Now()
	}
	repos, err := s.List(ctx)
	if err != nil {
		return err
	}
	p.Total.Store(int64(len(repos)))
	p.Listed.Store(true)
	workers := s.opts.Workers
	if workers <= 0 {
		workers = max(4, runtime.NumCPU())
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, r := range repos {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return s.one(gctx, r, split, yield) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// one clones and scans one repository. It returns an error only to stop
// the sweep (yield failed, ctx done); anything else is reported.
func (s *Sweep) one(ctx context.Context, r Repo, split sources.Chunker, yield func(sources.Chunk) error) (err error) {
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
			s.opts.OnRepo(r, outcome)
		}
	}()
	fail := func(e error) error {
		var ye *yieldError
		if errors.As(e, &ye) {
			return ye.err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		outcome = OutcomeFailed
		if s.opts.OnError != nil {
			s.opts.OnError(r.FullName, e)
		}
		return nil
	}
	rctx := ctx
	if s.opts.RepoTimeout > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, s.opts.RepoTimeout)
		defer cancel()
	}
	timedOut := func(e error) error {
		if ctx.Err() == nil && errors.Is(rctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("timed out after %s: %w", s.opts.RepoTimeout, e)
		}
		return e
	}
	if r.CloneURL == "" {
		return fail(errors.New("no clone URL"))
	}
	if st := s.opts.State; st != nil {
		tip, err := s.git.remoteTip(rctx, r, s.opts.PullRefs)
		if err != nil {
			return fail(timedOut(err))
		}
		if st.Scanned(r.FullName, tip) {
			outcome = OutcomeSkipped
			return nil
		}
	}
	var dir string
	if s.opts.CacheDir != "" {
		dir = cachePath(s.opts.CacheDir, r)
	} else {
		tmp, err := os.MkdirTemp(s.opts.TempDir, "bks-clone-*")
		if err != nil {
			return fail(fmt.Errorf("clone: %w", err))
		}
		defer os.RemoveAll(tmp)
		dir = filepath.Join(tmp, "repo.git")
	}
	if err := s.git.fetch(rctx, r, dir, s.opts.PullRefs); err != nil {
		if errors.Is(err, ErrEmptyRepository) {
			outcome = OutcomeEmpty
			s.log(fmt.Sprintf("%s: empty repository, nothing to scan", r.FullName))
			return nil
		}
		return fail(timedOut(err))
	}
	if err := s.opts.Scan(rctx, dir, r, split, s.wrapYield(r, yield)); err != nil {
		return fail(timedOut(fmt.Errorf("scan history: %w", err)))
	}
	if st := s.opts.State; st != nil {
		tip, err := s.git.localTip(rctx, dir, r.DefaultBranch, s.opts.PullRefs)
		if err == nil {
			err = st.Record(r.FullName, tip, time.Now())
		}
		if err != nil {
			return fail(err)
		}
	}
	return nil
}

func (s *Sweep) log(msg string) {
	if s.opts.Log != nil {
		s.opts.Log(msg)
	}
}

// wrapYield names the repository in each chunk's origin, adds a link to
// the file at its commit, and counts bytes.
func (s *Sweep) wrapYield(r Repo, yield func(sources.Chunk) error) func(sources.Chunk) error {
	var last, named *location.Location
	p := s.opts.Progress
	return func(c sources.Chunk) error {
		if c.Origin != last || named == nil {
			last = c.Origin
			named = nameOrigin(r, c.Origin)
		}
		c.Origin = named
		p.Bytes.Add(int64(c.Limit - c.Start))
		if err := yield(c); err != nil {
			return &yieldError{err}
		}
		return nil
	}
}

// nameOrigin returns a copy of o naming repository r, with a link to the
// place on GitHub: the file at its commit, or the commit itself for a
// commit message.
func nameOrigin(r Repo, o *location.Location) *location.Location {
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
		case n.Kind == "" && n.Path != "":
			path := n.Path
			if n.Archive != "" { // an archive member: link the archive
				path = n.Archive
			}
			n.HTMLURL = base + "/blob/" + n.Commit + "/" + escapePath(path)
		case n.Kind == "commit-message":
			n.HTMLURL = base + "/commit/" + n.Commit
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
