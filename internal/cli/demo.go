package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/demo"
)

type demoOptions struct {
	Dir          string
	Keep         bool
	SkipPipeline bool
}

func newCmdDemo(sio *IO) *cobra.Command {
	opts := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run bks on built-in sample data (no AWS account or network needed)",
		Long: `Write built-in sample data — files of the kinds keys leak into (.env,
source, notebooks, Kubernetes secrets, minified JS, UTF-16 scripts, zip
backups) holding keys generated from fake secrets, plus decoys — and run
bks on it, printing each command as it goes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return demoRun(cmd, sio, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "write the sample data here (default: a temporary directory)")
	cmd.Flags().BoolVar(&opts.Keep, "keep", false, "keep the temporary directory")
	cmd.Flags().BoolVar(&opts.SkipPipeline, "files-only", false, "only the file scan, not the git + AWS emulator + triage pipeline")
	return cmd
}

func demoRun(cmd *cobra.Command, sio *IO, opts *demoOptions) error {
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "bks-demo-")
		if err != nil {
			return &ExitError{Code: ExitFailure, Err: err}
		}
		dir = d
		if !opts.Keep {
			defer os.RemoveAll(d)
		}
	}
	now := nowUTC()
	keys, err := demo.WriteSamples(dir, now)
	if err != nil {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("write sample data: %w", err)}
	}
	step := func(title string, args ...string) error {
		fmt.Fprintf(sio.Out, "\n=== %s\n$ bks %s\n\n", title, strings.Join(redactArgs(args), " "))
		code := Run(cmd.Context(), args, sio)
		if code != ExitOK && code != ExitFound {
			return &ExitError{Code: code, Err: fmt.Errorf("demo step %q failed", title)}
		}
		return nil
	}
	fmt.Fprintf(sio.Out, "Sample data in %s (keys generated from fake secrets).\n", dir)
	if err := step("Find every key, decoded offline", "detect", "files", "--workers", "1", dir); err != nil {
		return err
	}
	if err := step("One finding per key, every place it was found, as JSON Lines",
		"detect", "files", "--dedupe", "--format", "jsonl", "--workers", "1", dir+"/service"); err != nil {
		return err
	}
	if err := step("Decode a long-term key", "decode-key", keys.ConsoleLongTerm); err != nil {
		return err
	}
	if err := step("Decode a short-term key as JSON", "decode-key", "--json", keys.ShortTermASIA); err != nil {
		return err
	}
	if !opts.SkipPipeline {
		if err := demoPipeline(cmd, sio, filepath.Join(dir, "pipeline"), step); err != nil {
			return err
		}
	}
	fmt.Fprintf(sio.Out, "\nExit codes: 0 nothing found, 1 keys found, 2 error. Secrets are never printed without --show-secrets.\n")
	return nil
}

func nowUTC() time.Time { return time.Now().UTC().Truncate(time.Second) }

// redactArgs shortens keys in a displayed command line.
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if len(a) > 40 {
			a = a[:20] + "…"
		}
		out[i] = a
	}
	return out
}
