package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
	gitsrc "github.com/bks-dev/bks/sources/git"
)

type detectGitOptions struct {
	Target     string
	Range      string
	Since      string
	Branch     string
	Submodules bool
	CacheDir   string
	Reader     string
}

func newCmdDetectGit(f *cmdutil.Factory, opts *detectOptions) *cobra.Command {
	g := &detectGitOptions{}
	cmd := &cobra.Command{
		Use:   "git [PATH|URL]",
		Short: "Scan a git repository's whole history (default: the current repository)",
		Long: `Scan every commit reachable from any ref (branches, tags, remote-tracking
refs, notes, the stash and its reflog), each unique blob once, plus commit
and annotated tag messages. Each finding names the commit that introduced the
key (author, email, date, first line of the message), its path there, and
in_head: whether that content is still at HEAD of the default branch. A key
deleted long ago is still a leak: it is reported with in_head false.

PATH may be a worktree, a linked worktree, a bare repository or a .git
directory. A URL is cloned (mirrored) to a temporary directory, or kept and
updated in --cache-dir. Shallow clones are scanned as far as they go, with a
warning. Unreadable objects are reported by id and the rest is scanned.`,
		Example: `  bks detect git
  bks detect git --range origin/main..HEAD --format sarif -o bks.sarif
  bks detect git https://github.com/org/repo.git --cache-dir ~/.cache/bks
  bks detect git --since 2024-01-01 --branch main`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := refuseEmptyRevisions(cmd); err != nil {
				return err
			}
			g.Target = "."
			if len(args) == 1 {
				g.Target = args[0]
			}
			return detectGitRun(cmd.Context(), f.IO, opts, g)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&g.Range, "range", "", "scan only what the commits BASE..HEAD introduced")
	fs.StringVar(&g.Since, "since", "", "skip commits older than this: a date (2024-01-31, RFC 3339) or an age (90d, 12h)")
	fs.StringVar(&g.Branch, "branch", "", "scan only this branch's history (any revision), not every ref")
	fs.BoolVar(&g.Submodules, "submodules", false, "also scan checked-out submodules, recursively")
	fs.StringVar(&g.CacheDir, "cache-dir", "", "keep clones of URLs here and update them on the next scan")
	fs.StringVar(&g.Reader, "blob-reader", "auto", "how blobs are read: auto, git (git cat-file), go-git")
	_ = fs.MarkHidden("blob-reader")
	return cmd
}

// refuseEmptyRevisions refuses an empty --range or --branch: "" is also
// what an unset flag holds, so they scanned every ref (a CI script whose
// $BASE came out empty scanned the whole history).
func refuseEmptyRevisions(cmd *cobra.Command) error {
	for _, fl := range []struct{ name, want string }{
		{"range", "BASE..HEAD, e.g. origin/main..HEAD"},
		{"branch", "a revision, e.g. main"},
	} {
		if cmd.Flags().Changed(fl.name) && cmd.Flags().Lookup(fl.name).Value.String() == "" {
			return fmt.Errorf("--%s \"\": empty; want %s (omit --%s to scan every ref)", fl.name, fl.want, fl.name)
		}
	}
	return nil
}

// parseSince reads a date, an RFC 3339 time or an age such as 90d, 2w, 12h.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if len(s) > 1 {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err == nil && n >= 0 {
			unit := map[byte]time.Duration{'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
			if unit != 0 {
				return now.Add(-time.Duration(n) * unit), nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("--since %q: want a date (2024-01-31), an RFC 3339 time or an age (90d, 2w, 12h)", s)
}

func detectGitRun(ctx context.Context, sio *IO, opts *detectOptions, g *detectGitOptions) error {
	since, err := parseSince(g.Since, time.Now())
	if err != nil {
		return err
	}
	reader := g.Reader
	switch reader {
	case "auto", "":
		reader = gitsrc.ReaderAuto
	case gitsrc.ReaderGit, gitsrc.ReaderGoGit:
	default:
		return fmt.Errorf("--blob-reader %q: want auto, git or go-git", g.Reader)
	}
	path, repoName := g.Target, g.Target
	if gitsrc.IsURL(g.Target) {
		repoName = gitsrc.RedactURL(g.Target)
		dir, cleanup, err := gitsrc.Clone(ctx, g.Target, g.CacheDir)
		if err != nil {
			return err
		}
		defer cleanup()
		path = dir
		opts.scope.none = true // a mirror: no working tree to read
	} else if err := opts.scopeRepo(ctx, path); err != nil {
		return err
	}
	if g.Range != "" {
		wt := ""
		if !opts.scope.none {
			wt = opts.scope.pathRoot
		}
		if err := opts.scopeRange(ctx, path, wt, g.Range); err != nil {
			return err
		}
	}
	eng, err := opts.newEngine()
	if err != nil {
		return err
	}
	errs := &errorCollector{w: sio.Err}
	src := gitsrc.New(gitsrc.Options{
		Path:        path,
		Repo:        repoName,
		Range:       g.Range,
		Since:       since,
		Branch:      g.Branch,
		Submodules:  g.Submodules,
		MaxBlobSize: max(opts.MaxFileSize, 0),
		Reader:      reader,
		Matcher:     eng,
		OnError:     errs.handle,
		Warn:        func(msg string) { warnf(sio, "%s", msg) },
	})
	return runDetect(ctx, sio, opts, eng, src, errs)
}

// warnf prints a note that is not an error: it does not change the exit code.
func warnf(sio *IO, format string, args ...any) {
	fmt.Fprintf(sio.Err, "bks: warning: "+strings.TrimSuffix(format, "\n")+"\n", args...)
}
