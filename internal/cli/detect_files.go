package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/sources/files"
	"github.com/bks-dev/bks/sources/stdin"
)

func newCmdDetectFiles(f *cmdutil.Factory, opts *detectOptions) *cobra.Command {
	sio := f.IO
	return &cobra.Command{
		Use:   "files [PATH...]",
		Short: "Scan files and directories (default: the current directory)",
		Long: `Scan files and directories recursively, in parallel, streaming findings as
they are found. .git directories are skipped (use "bks detect git" for
history); symbolic links are not followed; FIFOs and devices met in a
directory are skipped, but one named as a PATH is read to its end (as
<(cmd) in bash); zip, tar, gzip and bzip2 files are opened (bounded against
bombs) unless --no-archives; UTF-16 files are converted before scanning.`,
		Example: `  bks detect files .
  bks detect files src/ notebooks/ --format sarif -o bks.sarif
  bks detect files . --format jsonl --dedupe`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			if fi, err := os.Stat(args[0]); err == nil && fi.IsDir() {
				opts.configRoot = args[0]
			}
			opts.scope.pathRoot = "."
			eng, err := opts.newEngine()
			if err != nil {
				return err
			}
			errs := &errorCollector{w: sio.Err}
			src := files.New(files.Options{
				Paths:         args,
				MaxFileSize:   opts.MaxFileSize,
				Workers:       opts.Workers,
				OnError:       errs.handle,
				NoArchives:    opts.NoArchives,
				ArchiveLimits: opts.archiveLimits(),
			})
			return runDetect(cmd.Context(), sio, opts, eng, src, errs)
		},
	}
}

func newCmdDetectStdin(f *cmdutil.Factory, opts *detectOptions) *cobra.Command {
	sio := f.IO
	var name string
	cmd := &cobra.Command{
		Use:   "stdin",
		Short: "Scan standard input",
		Example: `  kubectl get secret -o yaml | bks detect stdin
  git show HEAD:notebook.ipynb | bks detect stdin --stdin-name notebook.ipynb`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := opts.newEngine()
			if err != nil {
				return err
			}
			errs := &errorCollector{w: sio.Err}
			src := stdin.New(sio.In, stdin.Options{
				Name:          name,
				OnError:       errs.handle,
				NoArchives:    opts.NoArchives,
				ArchiveLimits: opts.archiveLimits(),
			})
			return runDetect(cmd.Context(), sio, opts, eng, src, errs)
		},
	}
	cmd.Flags().StringVar(&name, "stdin-name", "-", "the path reported for findings in standard input")
	return cmd
}
