package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/report"
	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/verify"
)

// detectOptions are the flags every `bks detect` subcommand shares.
type detectOptions struct {
	Format         string
	Output         string
	ShowSecrets    bool
	IncludeInvalid bool
	Dedupe         bool
	ExitCode       int
	IgnoreErrors   bool
	Now            string
	Partition      string
	Color          string
	Workers        int
	MaxFileSize    int64
	NoArchives     bool
	Verify         bool
	VerifyRegion   string
	VerifyEndpoint string
}

func newCmdDetect(io *IO) *cobra.Command {
	opts := &detectOptions{}
	cmd := &cobra.Command{
		Use:   "detect",
		Short: "Find Bedrock API keys in files, stdin, git history and GitHub",
		Long: `Find AWS Bedrock API keys (long-term ABSK…, short-term bedrock-api-key-…)
and Claude Platform on AWS keys, decode each offline, and report them.

Output is quiet when nothing is found. Exit codes: 0 nothing found, 1 keys
found (--exit-code to change), 2 error or something could not be read
(--ignore-errors to exit by findings only).`,
	}
	addDetectFlags(cmd, opts)
	cmd.AddCommand(
		newCmdDetectFiles(io, opts),
		newCmdDetectStdin(io, opts),
		newCmdDetectGit(io, opts),
		newCmdDetectStaged(io, opts),
		newCmdDetectGitHub(io, opts),
		// Other detect subcommands register here, one line each.
	)
	return cmd
}

// addDetectFlags adds the shared flags as persistent flags of the detect
// parent, so they work before or after the subcommand name.
func addDetectFlags(cmd *cobra.Command, o *detectOptions) {
	f := cmd.PersistentFlags()
	f.StringVarP(&o.Format, "format", "f", "text", "output format: text, json, jsonl, csv, sarif")
	f.StringVarP(&o.Output, "output", "o", "", "write the report to this file instead of standard output")
	f.BoolVar(&o.ShowSecrets, "show-secrets", false, "include the whole key in the output (never done otherwise)")
	f.BoolVar(&o.IncludeInvalid, "include-invalid", false, "also report candidates that do not decode, at low confidence")
	f.BoolVar(&o.Dedupe, "dedupe", false, "one finding per key with all the places it was found")
	f.IntVar(&o.ExitCode, "exit-code", ExitFound, "exit code when keys are found")
	f.BoolVar(&o.IgnoreErrors, "ignore-errors", false, "exit by findings only, even when something could not be read")
	f.StringVar(&o.Now, "now", "", "evaluate key expiry against this time (RFC 3339) instead of the clock")
	f.StringVar(&o.Partition, "partition", "aws", "partition assumed for long-term keys, which carry none")
	f.StringVar(&o.Color, "color", "auto", "colour in text output: auto, always, never")
	f.IntVar(&o.Workers, "workers", 0, "files scanned in parallel (default: number of CPUs)")
	f.Int64Var(&o.MaxFileSize, "max-file-size", 0, "skip (and report) files larger than this many bytes; 0: no cap")
	f.BoolVar(&o.NoArchives, "no-archives", false, "do not look inside zip, tar and gzip files")
	f.BoolVar(&o.Verify, "verify", false, "live-check each key found (opt-in: sends the key to AWS's Bedrock endpoint of its region)")
	f.StringVar(&o.VerifyRegion, "verify-region", verify.DefaultLongTermRegion, "region where long-term keys, which carry none, are live-checked")
	f.StringVar(&o.VerifyEndpoint, "verify-endpoint", "", "https endpoint replacing AWS's Bedrock endpoint for live checks (tests, the emulator)")
}

// errorCollector receives the errors a source could not recover from for
// one item, prints them on stderr as they come, and counts them.
type errorCollector struct {
	mu    sync.Mutex
	w     io.Writer
	count int
}

func (c *errorCollector) handle(path string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.count++
	if path != "" {
		fmt.Fprintf(c.w, "bks: %s: %v\n", path, err)
	} else {
		fmt.Fprintf(c.w, "bks: %v\n", err)
	}
}

func (c *errorCollector) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

// newEngine builds the detector engine the options ask for.
func (o *detectOptions) newEngine() (*detectors.Engine, error) {
	now, err := parseNow(o.Now)
	if err != nil {
		return nil, err
	}
	return detectors.New(detectors.Options{
		Decode:         detectors.DecodeOptions{Now: now, Partition: o.Partition},
		IncludeInvalid: o.IncludeInvalid,
	}), nil
}

// runDetect runs src through the engine into the chosen report and turns the
// outcome into an exit code. errs is the collector src reports to.
func runDetect(ctx context.Context, sio *IO, o *detectOptions, eng *detectors.Engine, src sources.Source, errs *errorCollector) (retErr error) {
	out := sio.Out
	color := o.Color == "always" || (o.Color == "auto" && sio.IsTerminal && o.Output == "")
	if o.Output != "" {
		mode := os.FileMode(0o644)
		if o.ShowSecrets {
			mode = 0o600
		}
		fh, err := os.OpenFile(o.Output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
		if err != nil {
			return &ExitError{Code: ExitFailure, Err: err}
		}
		defer func() {
			if err := fh.Close(); err != nil && retErr == nil {
				retErr = &ExitError{Code: ExitFailure, Err: err}
			}
		}()
		out = fh
	}
	rep, err := report.New(o.Format, out, report.Options{ShowSecrets: o.ShowSecrets, Color: color, ToolVersion: Version})
	if err != nil {
		return &ExitError{Code: ExitFailure, Err: err}
	}
	var checker *verify.Checker
	if o.Verify {
		vo, err := verifyOptionsFrom(sio, o.VerifyRegion, o.VerifyEndpoint, 10*time.Second)
		if err == nil {
			checker, err = verify.New(vo)
		}
		if err != nil {
			return &ExitError{Code: ExitFailure, Err: err}
		}
	}
	var (
		mu    sync.Mutex
		found int
		held  []findings.Finding
		// Keys seen at HEAD: in_head is a property of the key, not of
		// the blob it was found in (git sources yield HEAD blobs first).
		inHead = map[string]bool{}
	)
	handler := func(f findings.Finding) error {
		mu.Lock()
		defer mu.Unlock()
		found++
		if f.InHead != nil {
			k := f.Repo + "\x00" + f.Fingerprint // HEAD of that repository
			if *f.InHead {
				inHead[k] = true
			} else if inHead[k] {
				t := true
				f.InHead = &t
			}
		}
		if checker != nil && f.Confidence == findings.ConfidenceHigh {
			// The checker caches per key: a key found in many places is
			// checked once.
			res := checker.Check(ctx, f.RawKey())
			f.Live, f.LiveReason = string(res.Status), res.Reason
		}
		if o.Dedupe {
			held = append(held, f)
			return nil
		}
		return rep.Finding(f)
	}
	scanErr := findings.Scan(ctx, src, eng, handler)
	if o.Dedupe && scanErr == nil {
		for _, f := range report.Dedupe(held) {
			if err := rep.Finding(f); err != nil {
				scanErr = err
				break
			}
		}
	}
	if err := rep.Close(); err != nil && scanErr == nil {
		scanErr = err
	}
	switch {
	case scanErr != nil && (errors.Is(scanErr, context.Canceled) || ctx.Err() != nil):
		return &ExitError{Code: ExitCanceled, Err: errors.New("interrupted: the scan is incomplete")}
	case scanErr != nil:
		return &ExitError{Code: ExitFailure, Err: scanErr}
	case errs != nil && errs.n() > 0 && !o.IgnoreErrors:
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d item(s) could not be scanned (see above); --ignore-errors to exit by findings only", errs.n())}
	case found > 0:
		return Found(o.ExitCode)
	}
	return nil
}
