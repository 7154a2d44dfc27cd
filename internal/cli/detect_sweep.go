package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/reposweep"
)

// sweepFlags are the flags every repository-host sweep shares (detect
// gitlab, detect huggingface).
type sweepFlags struct {
	CacheDir, TempDir string
	Resume, Shard     string
	RepoTimeout       time.Duration
	ProgressInterval  time.Duration
}

func (s *sweepFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&s.CacheDir, "cache-dir", "", "keep clones here and fetch them on the next run")
	fs.StringVar(&s.TempDir, "temp-dir", "", "where temporary clones go (default: the system's temporary directory)")
	fs.StringVar(&s.Resume, "resume", "", "state file: skip repositories already scanned at the same refs, record each one scanned")
	fs.StringVar(&s.Shard, "shard", "", "sweep only shard I of N (0-based), e.g. 2/8")
	fs.DurationVar(&s.RepoTimeout, "repo-timeout", time.Hour, "give up on a repository after this long (0: never)")
	fs.DurationVar(&s.ProgressInterval, "progress-interval", 30*time.Second, "when stderr is not a terminal, print a progress line this often (0: never)")
}

// sweepEnv is what a host's sweep is built with: the parsed shard, the
// run's options (workers, clones, resume state, error handler, log,
// progress), and the history scanner.
type sweepEnv struct {
	Shard reposweep.Shard
	Run   reposweep.Run[reposweep.Repo]
	// History scans one clone's whole history with the git source.
	History reposweep.ScanFunc[reposweep.Repo]
}

// runRepoSweep runs a host's sweep through the engine, reports, baseline
// and triage of detect: stderr gets a status line (redrawn on a terminal,
// every --progress-interval otherwise) and a summary at the end; each item
// that failed is reported and the sweep goes on (exit 2 at the end). build
// returns the sweep; it may use the IO's log before the sweep starts (a
// client's rate-limit messages).
func runRepoSweep(ctx context.Context, sio *IO, opts *detectOptions, name string, s *sweepFlags, build func(env sweepEnv) (sources.Source, error)) error {
	env := sweepEnv{Run: reposweep.Run[reposweep.Repo]{
		Workers:     opts.Workers,
		CacheDir:    s.CacheDir,
		TempDir:     s.TempDir,
		RepoTimeout: s.RepoTimeout,
	}}
	if s.Shard != "" {
		sh, err := reposweep.ParseShard(s.Shard)
		if err != nil {
			return fmt.Errorf("detect %s: --%w", name, err)
		}
		env.Shard = sh
	}
	if s.Resume != "" {
		st, err := reposweep.OpenState(s.Resume)
		if err != nil {
			return err
		}
		env.Run.State = st
	}
	eng, err := opts.newEngine()
	if err != nil {
		return err
	}
	tty := false
	if f, ok := sio.Err.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		tty = true
	}
	status := &statusWriter{w: sio.Err, tty: tty}
	gio := *sio
	gio.Err = status
	errs := &errorCollector{w: status}
	env.Run.OnError = errs.handle
	env.Run.Log = func(msg string) { status.line("bks: " + msg) }
	env.Run.Progress = &reposweep.Progress{Start: time.Now()}
	env.History = reposweep.HistoryScanner[reposweep.Repo](reposweep.HistoryOptions{
		MaxBlobSize: max(opts.MaxFileSize, 0),
		OnError:     errs.handle,
		Warn:        env.Run.Log,
	})
	src, err := build(env)
	if err != nil {
		return fmt.Errorf("detect %s: %w", name, err)
	}
	prog := env.Run.Progress
	src = &keyCounter{src: src, eng: eng, n: &prog.Keys}
	stop := startProgress(status, prog, s.ProgressInterval)
	defer func() {
		stop()
		summarize(status, prog, time.Now())
	}()
	return runDetect(ctx, &gio, opts, eng, src, errs)
}
