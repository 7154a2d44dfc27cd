package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/internal/demo"
)

// `bks demo` is why the loopback AWS emulator (internal/awsemu) and the
// demo's scenario (internal/demo) are linked into the product binary: the
// demo runs the whole pipeline, git history to triage --execute, against
// the emulator, with no AWS account and no network. No other command
// reaches them (TestOnlyDemoReachesEmulator): the pipeline's steps run
// with a factory of their own (demoPipeline), so the emulator's endpoint,
// credentials and certificate never reach another command or the process
// environment.

type demoOptions struct {
	Dir          string
	Keep         bool
	SkipPipeline bool
}

func newCmdDemo(f *cmdutil.Factory) *cobra.Command {
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
			return demoRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "write the sample data here (default: a temporary directory)")
	cmd.Flags().BoolVar(&opts.Keep, "keep", false, "keep the temporary directory")
	cmd.Flags().BoolVar(&opts.SkipPipeline, "files-only", false, "only the file scan, not the git + AWS emulator + triage pipeline")
	return cmd
}

func demoRun(ctx context.Context, f *cmdutil.Factory, opts *demoOptions) error {
	sio := f.IO
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "bks-demo-")
		if err != nil {
			return err
		}
		dir = d
		if !opts.Keep {
			defer os.RemoveAll(d)
		}
	}
	now := nowUTC()
	keys, err := demo.WriteSamples(dir, now)
	if err != nil {
		return fmt.Errorf("write sample data: %w", err)
	}
	step := demoStep(ctx, f)
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
		if err := demoPipeline(ctx, f, filepath.Join(dir, "pipeline")); err != nil {
			return err
		}
	}
	fmt.Fprintf(sio.Out, "\nExit codes: 0 nothing found, 1 keys found, 2 error, 3 partially revoked, 130 interrupted. Secrets are never printed without --show-secrets.\n")
	return nil
}

// demoStep returns a function that prints a command line and runs it with
// the factory f, in this process.
func demoStep(ctx context.Context, f *cmdutil.Factory) func(title string, args ...string) error {
	return func(title string, args ...string) error {
		fmt.Fprintf(f.IO.Out, "\n=== %s\n$ bks %s\n\n", title, strings.Join(redactArgs(args), " "))
		switch code := runFactory(ctx, args, f); code {
		case ExitOK, ExitFound:
			return nil
		case ExitCanceled:
			return fmt.Errorf("%w: demo step %q", cmdutil.ErrInterrupted, title)
		}
		return fmt.Errorf("demo step %q failed", title)
	}
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
