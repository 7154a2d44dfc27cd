package github

import (
	"context"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/reposweep"
)

// ScanFunc scans the history of the bare clone at dir of repository r and
// yields its chunks, cut with split (the sweep's consumer's). The git source
// does this in bks; the sweep sets each chunk's Origin.Repo and
// Origin.HTMLURL itself.
type ScanFunc = reposweep.ScanFunc[Repo]

// Outcome of one repository in a sweep.
const (
	OutcomeScanned = reposweep.OutcomeScanned
	OutcomeSkipped = reposweep.OutcomeSkipped // already scanned at the same tip (resume)
	OutcomeEmpty   = reposweep.OutcomeEmpty
	OutcomeFailed  = reposweep.OutcomeFailed
)

// The sweep's shared parts (see package reposweep).
type (
	Progress       = reposweep.Progress
	State          = reposweep.State
	RepoState      = reposweep.RepoState
	Tip            = reposweep.Tip
	HistoryOptions = reposweep.HistoryOptions
)

// ErrEmptyRepository says a repository has no commits.
var ErrEmptyRepository = reposweep.ErrEmptyRepository

// OpenState reads the state file at path; a missing file is an empty state.
func OpenState(path string) (*State, error) { return reposweep.OpenState(path) }

// HistoryScanner returns a ScanFunc that scans the whole history of each
// clone (every branch and tag fetched, each blob once) with the git source.
func HistoryScanner(o HistoryOptions) ScanFunc { return reposweep.HistoryScanner[Repo](o) }

// SweepRepo makes Repo a reposweep.Item.
func (r Repo) SweepRepo() reposweep.Repo {
	return reposweep.Repo{FullName: r.FullName, Owner: r.Owner, Name: r.Name, HTMLURL: r.HTMLURL, CloneURL: r.CloneURL, DefaultBranch: r.DefaultBranch}
}

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

// Sweep is a source of the chunks of every repository of a target. It calls
// yield from several goroutines at once (one per repository being scanned);
// the chunks of one blob come in order from one goroutine.
type Sweep struct {
	opts Options
	lim  *limiter
	*reposweep.Sweep[Repo]
}

var _ sources.Source = (*Sweep)(nil)

// NewSweep returns a sweep.
func NewSweep(opts Options) *Sweep {
	if opts.Progress == nil {
		opts.Progress = &Progress{}
	}
	s := &Sweep{opts: opts, lim: newLimiter(opts.Log, opts.sleep)}
	s.Sweep = reposweep.New(reposweep.Options[Repo]{
		List:     s.List,
		Scan:     opts.Scan,
		Token:    opts.Token,
		Hosts:    CloneHosts(opts.Client),
		Refspecs: refspecs(opts.PullRefs),
		Run: reposweep.Run[Repo]{
			Workers:     opts.Workers,
			CacheDir:    opts.CacheDir,
			TempDir:     opts.TempDir,
			State:       opts.State,
			RepoTimeout: opts.RepoTimeout,
			OnError:     opts.OnError,
			Log:         opts.Log,
			Progress:    opts.Progress,
			OnRepo:      opts.OnRepo,
			Git:         opts.Git,
		},
	})
	return s
}

// List lists the repositories the sweep covers.
func (s *Sweep) List(ctx context.Context) ([]Repo, error) {
	l := &Lister{Client: s.opts.Client, Target: s.opts.Target, Filter: s.opts.Filter, Shard: s.opts.Shard, lim: s.lim}
	return l.List(ctx)
}

// refspecs are what a sweep fetches: branches and tags, and with pull
// also the heads of pull requests (refs/pull/N/head), which keep commits
// of unmerged and closed pull requests reachable.
func refspecs(pull bool) []string {
	s := append([]string(nil), reposweep.DefaultRefspecs...)
	if pull {
		s = append(s, "+refs/pull/*/head:refs/pull/*/head")
	}
	return s
}

func tipOf(lines []string, headRef string, pull bool) Tip {
	return reposweep.TipOf(lines, headRef, refspecs(pull))
}

func cachePath(cacheDir string, r Repo) string { return reposweep.CachePath(cacheDir, r.SweepRepo()) }

func nameOrigin(r Repo, o *location.Location) *location.Location {
	return reposweep.NameOrigin(r.SweepRepo(), reposweep.GitHubLinks, o)
}
