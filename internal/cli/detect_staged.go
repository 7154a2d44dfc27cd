package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
	gitsrc "github.com/bks-dev/bks/sources/git"
)

type detectStagedOptions struct {
	Path  string
	Files []string
}

func newCmdDetectStaged(f *cmdutil.Factory, opts *detectOptions) *cobra.Command {
	s := &detectStagedOptions{}
	cmd := &cobra.Command{
		Use:   "staged [FILE...]",
		Short: "Scan what the next commit adds (for pre-commit hooks)",
		Long: `Scan the staged content: every file whose index version differs from HEAD,
read from the index, so unstaged edits neither hide a key nor add one.

Given FILE arguments (as the pre-commit framework passes them, also under
"pre-commit run --all-files"), scan exactly those files, staged or not: the
index version of each tracked file, the file on disk otherwise. A name that
cannot be read is an error (exit 2), never a silent pass.`,
		Example: `  bks detect staged
  git diff --cached --name-only -z | xargs -0 bks detect staged
  bks detect staged --format json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s.Files = args
			return detectStagedRun(cmd.Context(), f.IO, opts, s)
		},
	}
	cmd.Flags().StringVarP(&s.Path, "repo", "C", ".", "the repository (worktree) to read the index of")
	return cmd
}

func detectStagedRun(ctx context.Context, sio *IO, opts *detectOptions, s *detectStagedOptions) error {
	if err := opts.scopeRepo(ctx, s.Path); err != nil {
		return err
	}
	eng, err := opts.newEngine()
	if err != nil {
		return err
	}
	errs := &errorCollector{w: sio.Err}
	src := gitsrc.NewStaged(gitsrc.StagedOptions{
		Path:        s.Path,
		Files:       s.Files,
		MaxBlobSize: max(opts.MaxFileSize, 0),
		OnError:     errs.handle,
	})
	return runDetect(ctx, sio, opts, eng, src, errs)
}
