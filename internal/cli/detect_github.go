package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/internal/termsafe"
	"github.com/bks-dev/bks/sources"
	ghsrc "github.com/bks-dev/bks/sources/github"
	"github.com/bks-dev/bks/sources/reposweep"
)

type detectGitHubOptions struct {
	Orgs, Users, Repos []string
	Token              string
	APIURL             string
	Filter             ghsrc.Filter
	CacheDir           string
	TempDir            string
	Resume             string
	Shard              string
	Search             bool
	PullRefs           bool
	Issues, PRComments bool
	EditHistory        bool
	Gists              bool
	Wiki               bool
	AllSurfaces        bool
	RepoTimeout        time.Duration
	ProgressInterval   time.Duration
}

func newCmdDetectGitHub(f *cmdutil.Factory, opts *detectOptions) *cobra.Command {
	g := &detectGitHubOptions{}
	cmd := &cobra.Command{
		Use:   "github",
		Short: "Sweep every repository of GitHub organizations or users, whole history",
		Long: `List the repositories of organizations (--org), users (--user) or name them
(--repo), clone each (branches and tags; --pull-refs adds pull request heads)
and scan its whole history, --workers repositories at a time. Findings
stream as they are found, each with its repository and an html_url to the
file at the commit that introduced the key.

Forks and archived repositories are skipped unless --forks / --archived;
--visibility, --include-repo/--exclude-repo (globs on the name, or on
OWNER/NAME when they hold a "/") and --topic narrow the list. Repositories
named with --repo are always taken.

Clones go to a temporary directory and are deleted once scanned, or are kept
in --cache-dir and fetched (not cloned again) on the next run. A repository
that cannot be cloned or scanned is reported on stderr and the sweep goes
on (exit 2 at the end unless --ignore-errors). GitHub rate limits are
waited out, with a message saying until when.

--shard I/N takes the repositories whose name hashes to I modulo N, so N
machines (an Actions matrix, a Kubernetes Indexed Job) cover the set
exactly once; "bks merge" combines their reports. --resume STATE records
each repository scanned and its refs, and skips it on the next run while
its refs are unchanged (write each run to its own report, then merge them).

--search is a fast first look: GitHub code search for the key prefixes,
fetching each matched file. It sees the default branch only, never history;
it complements the sweep, it does not replace it.

--issues adds the title and body of every issue and its comments;
--pr-comments the title and body of every pull request, its conversation
comments and its review comments. --gists sweeps every revision of the
gists of each --user and of each member of each --org (a gist is a git
repository; findings name it "gist:OWNER/ID" and link to the revision; a
gist deleted since it was listed is reported). --wiki sweeps every revision
of the wiki of each repository listed (OWNER/NAME.wiki.git, named
"OWNER/NAME.wiki" in findings, linked to the wiki page, with the author of
the edit; a wiki turned off or without a page is skipped quietly).
--all-surfaces turns them all on. Each text
is scanned as its own item; a finding names its kind (issue, pull-request,
issue-comment, pr-comment, review-comment), its author and its html_url.
A repository whose issues cannot be read (403, 404, issues disabled) is
reported and the sweep goes on. With --resume, a repository's texts are
read again only when created or edited since the last run. --edit-history
also scans the older versions of every edited text (GitHub's GraphQL API,
same token): a key removed by an edit is still found, of kind
KIND-edited, by the editor, linked to the text.

The token comes from --token or GITHUB_TOKEN (GH_TOKEN also works); use
--api-url for GitHub Enterprise Server (https://HOST/api/v3).`,
		Example: `  GITHUB_TOKEN=… bks detect github --org acme --format jsonl -o acme.jsonl
  bks detect github --org acme --shard 0/4 --resume state-0.json -f sarif -o shard-0.sarif
  bks detect github --org acme --search
  bks detect github --org acme --all-surfaces --resume state.json -f jsonl -o acme.jsonl
  bks detect github --repo acme/api --repo acme/web --cache-dir ~/.cache/bks
  bks detect github --org acme --api-url https://ghe.example.com/api/v3 --topic payments`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return detectGitHubRun(cmd.Context(), f.IO, opts, g)
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&g.Orgs, "org", nil, "sweep every repository of this organization (repeatable)")
	fs.StringArrayVar(&g.Users, "user", nil, "sweep every repository this user owns (repeatable)")
	fs.StringArrayVar(&g.Repos, "repo", nil, "sweep this repository, OWNER/NAME (repeatable)")
	fs.StringVar(&g.Token, "token", "", "GitHub token (default: $GITHUB_TOKEN, then $GH_TOKEN)")
	fs.StringVar(&g.APIURL, "api-url", "", "GitHub API URL, for GitHub Enterprise Server (default: $GITHUB_API_URL, then https://api.github.com)")
	fs.BoolVar(&g.Filter.Forks, "forks", false, "include forks")
	fs.BoolVar(&g.Filter.Archived, "archived", false, "include archived repositories")
	fs.StringVar(&g.Filter.Visibility, "visibility", "all", "all, public, private or internal")
	fs.StringArrayVar(&g.Filter.Include, "include-repo", nil, "only repositories matching this glob (repeatable)")
	fs.StringArrayVar(&g.Filter.Exclude, "exclude-repo", nil, "skip repositories matching this glob (repeatable)")
	fs.StringArrayVar(&g.Filter.Topics, "topic", nil, "only repositories with this topic (repeatable: any of them)")
	fs.StringVar(&g.CacheDir, "cache-dir", "", "keep clones here and fetch them on the next run")
	fs.StringVar(&g.TempDir, "temp-dir", "", "where temporary clones go (default: the system's temporary directory)")
	fs.StringVar(&g.Resume, "resume", "", "state file: skip repositories already scanned at the same refs, record each one scanned")
	fs.StringVar(&g.Shard, "shard", "", "sweep only shard I of N (0-based), e.g. 2/8")
	fs.BoolVar(&g.Search, "search", false, "fast mode: GitHub code search for key prefixes (default branches only, no history)")
	fs.BoolVar(&g.PullRefs, "pull-refs", false, "also scan pull request heads (refs/pull/N/head)")
	fs.BoolVar(&g.Issues, "issues", false, "also scan issue titles, bodies and comments")
	fs.BoolVar(&g.PRComments, "pr-comments", false, "also scan pull request titles, bodies, conversation and review comments")
	fs.BoolVar(&g.EditHistory, "edit-history", false, "with --issues or --pr-comments, also scan the older versions of edited texts (GraphQL)")
	fs.BoolVar(&g.Gists, "gists", false, "also sweep every revision of the gists of --user, and of the members of --org")
	fs.BoolVar(&g.Wiki, "wiki", false, "also sweep every revision of each repository's wiki")
	fs.BoolVar(&g.AllSurfaces, "all-surfaces", false, "scan every surface besides git history: --issues, --pr-comments, --edit-history, --gists and --wiki")
	fs.DurationVar(&g.RepoTimeout, "repo-timeout", time.Hour, "give up on a repository after this long (0: never)")
	fs.DurationVar(&g.ProgressInterval, "progress-interval", 30*time.Second, "when stderr is not a terminal, print a progress line this often (0: never)")
	return cmd
}

// parse checks the flags and returns the target and the shard.
func (g *detectGitHubOptions) parse() (ghsrc.Target, ghsrc.Shard, error) {
	target := ghsrc.Target{Orgs: g.Orgs, Users: g.Users, Repos: g.Repos}
	var shard ghsrc.Shard
	if len(g.Orgs)+len(g.Users)+len(g.Repos) == 0 {
		return target, shard, errors.New("detect github: give --org, --user or --repo")
	}
	if err := g.Filter.Validate(); err != nil {
		return target, shard, fmt.Errorf("detect github: %w", err)
	}
	if g.Shard != "" {
		s, err := ghsrc.ParseShard(g.Shard)
		if err != nil {
			return target, shard, fmt.Errorf("detect github: --%w", err)
		}
		shard = s
	}
	if g.AllSurfaces {
		g.Issues, g.PRComments, g.EditHistory, g.Wiki = true, true, true, true
		g.Gists = len(g.Users)+len(g.Orgs) > 0
	}
	if g.EditHistory && !g.Issues && !g.PRComments {
		return target, shard, errors.New("detect github: --edit-history scans the texts of --issues or --pr-comments")
	}
	if g.Gists && len(g.Users)+len(g.Orgs) == 0 {
		return target, shard, errors.New("detect github: --gists sweeps the gists of --user or of the members of --org")
	}
	return target, shard, nil
}

func detectGitHubRun(ctx context.Context, sio *IO, opts *detectOptions, g *detectGitHubOptions) error {
	target, shard, err := g.parse()
	if err != nil {
		return err
	}
	client, token, err := opts.factory.GitHub(g.APIURL, g.Token)
	if err != nil {
		return fmt.Errorf("detect github: %w", err)
	}
	eng, err := opts.newEngine()
	if err != nil {
		return err
	}

	errOut := sio.Err
	tty := false
	if f, ok := errOut.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		tty = true
	}
	status := &statusWriter{w: errOut, tty: tty}
	gio := *sio
	gio.Err = status
	errs := &errorCollector{w: status}
	logf := func(msg string) { status.line("bks: " + msg) }

	var state *ghsrc.State
	if g.Resume != "" {
		state, err = ghsrc.OpenState(g.Resume)
		if err != nil {
			return err
		}
	}
	prog := &ghsrc.Progress{Start: time.Now()}
	comments := ghsrc.NewComments(ghsrc.CommentsOptions{
		Client: client, Target: target, Filter: g.Filter, Shard: shard,
		Issues: g.Issues, PullRequests: g.PRComments, Edits: g.EditHistory,
		Workers: opts.Workers, State: state, OnError: errs.handle, Log: logf, Progress: prog,
	})
	surfaces := sourceSeq{comments}
	if g.Gists {
		gp := &ghsrc.Progress{}
		defer func() {
			logf(fmt.Sprintf("swept %d of %d gists (%d failed, %d skipped, already scanned)", gp.Done.Load(), gp.Total.Load(), gp.Failed.Load(), gp.Skipped.Load()))
		}()
		surfaces = append(surfaces, ghsrc.NewGistSweep(ghsrc.GistOptions{
			Client: client, Users: g.Users, Orgs: g.Orgs, Shard: shard, Token: token,
			Scan: reposweep.HistoryScanner[ghsrc.Gist](ghsrc.HistoryOptions{MaxBlobSize: max(opts.MaxFileSize, 0), OnError: errs.handle, Warn: logf}),
			Run: reposweep.Run[ghsrc.Gist]{Workers: opts.Workers, CacheDir: g.CacheDir, TempDir: g.TempDir,
				State: state, RepoTimeout: g.RepoTimeout, OnError: errs.handle, Log: logf, Progress: gp},
		}))
	}
	if g.Wiki {
		wp := &ghsrc.Progress{}
		defer func() {
			logf(fmt.Sprintf("swept %d of %d wikis (%d without a page, %d failed, %d skipped, already scanned)", wp.Done.Load(), wp.Total.Load(), wp.Empty.Load(), wp.Failed.Load(), wp.Skipped.Load()))
		}()
		surfaces = append(surfaces, ghsrc.NewWikiSweep(ghsrc.WikiOptions{
			Client: client, Target: target, Filter: g.Filter, Shard: shard, Token: token,
			Scan: reposweep.HistoryScanner[ghsrc.Wiki](ghsrc.HistoryOptions{MaxBlobSize: max(opts.MaxFileSize, 0), OnError: errs.handle, Warn: logf}),
			Run: reposweep.Run[ghsrc.Wiki]{Workers: opts.Workers, CacheDir: g.CacheDir, TempDir: g.TempDir,
				State: state, RepoTimeout: g.RepoTimeout, OnError: errs.handle, Log: logf, Progress: wp},
		}))
	}
	var src sources.Source
	if g.Search {
		src = ghsrc.NewSearch(ghsrc.SearchOptions{
			Client:      client,
			Target:      target,
			Terms:       detectors.SearchTerms(),
			Filter:      g.Filter,
			Shard:       shard,
			Workers:     opts.Workers,
			OnError:     errs.handle,
			Log:         logf,
			MaxFileSize: opts.MaxFileSize,
		})
		src = append(sourceSeq{src}, surfaces...)
	} else {
		src = ghsrc.NewSweep(ghsrc.Options{
			Client:      client,
			Token:       token,
			Target:      target,
			Filter:      g.Filter,
			Shard:       shard,
			Workers:     opts.Workers,
			CacheDir:    g.CacheDir,
			TempDir:     g.TempDir,
			PullRefs:    g.PullRefs,
			State:       state,
			RepoTimeout: g.RepoTimeout,
			Scan: ghsrc.HistoryScanner(ghsrc.HistoryOptions{
				MaxBlobSize: max(opts.MaxFileSize, 0),
				OnError:     errs.handle,
				Warn:        logf,
			}),
			OnError:  errs.handle,
			Log:      logf,
			Progress: prog,
		})
		src = &keyCounter{src: append(sourceSeq{src}, surfaces...), eng: eng, n: &prog.Keys}
		stop := startProgress(status, prog, g.ProgressInterval)
		defer func() {
			stop()
			summarize(status, prog, time.Now())
		}()
	}
	if g.Issues || g.PRComments {
		defer func() { logf(fmt.Sprintf("read %d issue and pull request texts", comments.Texts())) }()
	}
	return runDetect(ctx, &gio, opts, eng, src, errs)
}

// sourceSeq reads its sources one after the other (a sweep's history, then
// its issues and pull requests).
type sourceSeq []sources.Source

func (q sourceSeq) Chunks(ctx context.Context, split sources.Chunker, yield func(sources.Chunk) error) error {
	for _, s := range q {
		if err := s.Chunks(ctx, split, yield); err != nil {
			return err
		}
	}
	return nil
}

// keyCounter scans each chunk once to count keys for the progress line and
// passes on only the chunks that hold a match: the report's own scan of
// those few chunks finds the same matches (same engine), and the many
// chunks without a key are scanned once, not twice.
type keyCounter struct {
	src sources.Source
	eng *detectors.Engine
	n   *atomic.Int64
}

func (k *keyCounter) Chunks(ctx context.Context, split sources.Chunker, yield func(sources.Chunk) error) error {
	return k.src.Chunks(ctx, split, func(c sources.Chunk) error {
		found := 0
		k.eng.ScanChunk(c.Data, c.Start, c.Limit, func(detectors.Match) { found++ })
		if found == 0 {
			return nil
		}
		k.n.Add(int64(found))
		return yield(c)
	})
}

// statusWriter is stderr with a status line: on a terminal the line is
// redrawn in place, and cleared before anything else is written so that
// messages never mix with it.
type statusWriter struct {
	mu     sync.Mutex
	w      io.Writer
	tty    bool
	status string
}

func (s *statusWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearLocked()
	n, err := s.w.Write(p)
	s.drawLocked()
	return n, err
}

// line writes one message line.
func (s *statusWriter) line(msg string) {
	_, _ = s.Write([]byte(strings.TrimRight(msg, "\n") + "\n"))
}

// setStatus redraws the status line (terminal) or prints it (otherwise).
func (s *statusWriter) setStatus(st string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.tty {
		fmt.Fprintln(s.w, st)
		return
	}
	s.clearLocked()
	s.status = st
	s.drawLocked()
}

func (s *statusWriter) clearLocked() {
	if s.tty && s.status != "" {
		fmt.Fprint(termsafe.Raw(s.w), "\r\033[K") // bks's own: past stderr's escaping
	}
}

func (s *statusWriter) drawLocked() {
	if s.tty && s.status != "" {
		fmt.Fprint(s.w, s.status)
	}
}

func (s *statusWriter) clearStatus() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearLocked()
	s.status = ""
}

// startProgress shows the sweep's progress until stop is called: redrawn
// every half second on a terminal, a log line every interval otherwise.
func startProgress(s *statusWriter, p *ghsrc.Progress, interval time.Duration) (stop func()) {
	every := interval
	if s.tty {
		every = 500 * time.Millisecond
	}
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				s.setStatus(progressLine(p, now))
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		s.clearStatus()
	}
}

// progressLine is "bks: 37/250 repositories, 1.2 GB, 3 keys, ETA 4m10s".
func progressLine(p *ghsrc.Progress, now time.Time) string {
	if !p.Listed.Load() {
		return "bks: listing repositories…"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "bks: %d/%d repositories, %s, %d key", p.Done.Load(), p.Total.Load(), sweepBytes(p.Bytes.Load()), p.Keys.Load())
	if p.Keys.Load() != 1 {
		sb.WriteString("s")
	}
	if n := p.Failed.Load(); n > 0 {
		fmt.Fprintf(&sb, ", %d failed", n)
	}
	if eta := p.ETA(now); eta > 0 {
		fmt.Fprintf(&sb, ", ETA %s", eta.Round(time.Second))
	}
	return sb.String()
}

// summarize prints what a sweep did and how fast.
func summarize(s *statusWriter, p *ghsrc.Progress, now time.Time) {
	if !p.Listed.Load() {
		return
	}
	el := now.Sub(p.Start)
	mins := max(el.Minutes(), 1e-9)
	done := p.Done.Load()
	var notes []string
	if n := p.Failed.Load(); n > 0 {
		notes = append(notes, fmt.Sprintf("%d failed", n))
	}
	if n := p.Empty.Load(); n > 0 {
		notes = append(notes, fmt.Sprintf("%d empty", n))
	}
	if n := p.Skipped.Load(); n > 0 {
		notes = append(notes, fmt.Sprintf("%d skipped, already scanned at the same refs", n))
	}
	extra := ""
	if len(notes) > 0 {
		extra = " (" + strings.Join(notes, ", ") + ")"
	}
	if done < p.Total.Load() {
		extra += fmt.Sprintf(", %d not reached", p.Total.Load()-done)
	}
	s.line(fmt.Sprintf("bks: swept %d of %d repositories%s in %s: %s scanned, %d keys; %.1f repositories/min, %.1f MB/min",
		done, p.Total.Load(), extra, el.Round(time.Millisecond), sweepBytes(p.Bytes.Load()), p.Keys.Load(),
		float64(done)/mins, float64(p.Bytes.Load())/1e6/mins))
}

func sweepBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
