package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/merge"
)

type mergeOptions struct {
	Inputs   []string
	Output   string
	ExitCode int
	Quiet    bool
}

func newCmdMerge(f *cmdutil.Factory) *cobra.Command {
	opts := &mergeOptions{}
	cmd := &cobra.Command{
		Use:   "merge REPORT...",
		Short: "Combine the JSONL or SARIF reports of several runs (shards) into one",
		Long: `Combine the reports of several bks runs, such as the shards of a
"bks detect github --shard I/N" sweep or a run and its --resume, into one
report of the same format, dropping duplicates: the same key at the same
place (repository, commit, path, line, column). JSON Lines and SARIF
reports are merged; the format is read from the files. "-" reads standard
input. Empty reports (a shard that found nothing) are fine.

Exit codes: 0 the merged report holds no active finding, 1 it holds some
(--exit-code to change), 2 error.`,
		Example: `  bks merge shard-*.jsonl -o all.jsonl
  bks merge shard-*.sarif -o bks.sarif`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			return mergeRun(f.IO, opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&opts.Output, "output", "o", "", "write the merged report to this file instead of standard output")
	cmdutil.ExitCodeVar(fs, &opts.ExitCode, ExitFound, "exit code when the merged report holds findings")
	fs.BoolVarP(&opts.Quiet, "quiet", "q", false, "do not print the summary on stderr")
	return cmd
}

func mergeRun(sio *IO, opts *mergeOptions) (retErr error) {
	var inputs []merge.Input
	stdinUsed := false
	for _, p := range opts.Inputs {
		if p == "-" {
			if stdinUsed {
				return errors.New("merge: standard input named twice")
			}
			stdinUsed = true
			inputs = append(inputs, merge.Input{Name: "standard input", R: sio.In})
			continue
		}
		fh, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		defer fh.Close()
		inputs = append(inputs, merge.Input{Name: p, R: fh})
	}
	// The merged report is built in memory and written once complete, so
	// that a failed merge never leaves half a report (or truncates an
	// input given as the output).
	var buf bytes.Buffer
	st, err := merge.Merge(&buf, inputs)
	if err != nil {
		return err
	}
	if opts.Output != "" {
		if err := writeFileAtomic(opts.Output, buf.Bytes()); err != nil {
			return fmt.Errorf("merge: %w", err)
		}
	} else if _, err := sio.Out.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("merge: write: %w", err)
	}
	if !opts.Quiet {
		fmt.Fprintf(sio.Err, "bks: merged %d report(s): %d finding(s), %d duplicate(s) dropped\n", len(opts.Inputs), st.Written, st.Duplicates)
	}
	if st.Active > 0 {
		return cmdutil.Found(opts.ExitCode)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file next to path and renames
// it over path.
func writeFileAtomic(path string, data []byte) error {
	fh, err := createReportFile(path, 0o644)
	if err != nil {
		return err
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		os.Remove(fh.Name())
		return err
	}
	_, err = fh.finish(true)
	return err
}
