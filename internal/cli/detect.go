package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/awsops/verify"
	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/report"
	"github.com/bks-dev/bks/rules"
	"github.com/bks-dev/bks/scan"
	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/files"
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
	// Archive holds the --archive-… flags; 0 leaves the config's value.
	Archive rules.ArchiveLimits
	cmdutil.VerifyFlags
	Config         string
	Baseline       string
	BaselineOut    string
	ShowSuppressed bool
	ReportUnused   bool
	Triage         bool
	TriageOpts     triageOptions

	// factory builds the clients and holds the environment.
	factory *cmdutil.Factory
	// configRoot is where .bks.toml is looked for (the scanned tree);
	// subcommands set it before newEngine. Default ".".
	configRoot string
	// scope is the rest of what the scanned target says about its
	// configuration (detect_config.go); subcommands set it before newEngine.
	scope  configScope
	cfg    *rules.Config
	filter *rules.Filter
	triage *triageOptions
}

func newCmdDetect(f *cmdutil.Factory) *cobra.Command {
	opts := &detectOptions{factory: f}
	cmd := &cobra.Command{
		Use:   "detect",
		Short: "Find Bedrock API keys in files, stdin, git history and GitHub",
		Long: `Find AWS Bedrock API keys (long-term ABSK…, short-term bedrock-api-key-…)
and Claude Platform on AWS keys, decode each offline, and report them.

Output is quiet when nothing is found. Exit codes: 0 nothing found, 1 keys
found (--exit-code to change), 2 error or something could not be read
(--ignore-errors to exit by findings only).

A source is always named: "bks detect files ." scans the current directory;
"bks detect ." is refused (exit 2) with that hint, so that a directory named
like a source (git, staged) never changes what is scanned.`,
		Annotations: map[string]string{pathsSubcommand: "files"},
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return opts.checkFlags()
		},
	}
	addDetectFlags(cmd, opts)
	cmd.AddCommand(
		newCmdDetectFiles(f, opts),
		newCmdDetectStdin(f, opts),
		newCmdDetectGit(f, opts),
		newCmdDetectStaged(f, opts),
		newCmdDetectGitHub(f, opts),
		newCmdDetectGitLab(f, opts),
		newCmdDetectHuggingFace(f, opts),
		newCmdDetectImage(f, opts),
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
	cmdutil.ExitCodeVar(f, &o.ExitCode, ExitFound, "exit code when keys are found")
	f.BoolVar(&o.IgnoreErrors, "ignore-errors", false, "exit by findings only, even when something could not be read")
	f.StringVar(&o.Now, "now", "", "evaluate key expiry against this time (RFC 3339) instead of the clock")
	f.StringVar(&o.Partition, "partition", "aws", "partition assumed for long-term keys, which carry none")
	f.StringVar(&o.Color, "color", "auto", "colour in text output: auto, always, never")
	cmdutil.CountVar(f, &o.Workers, "workers", 0, "files scanned in parallel (default: number of CPUs)")
	f.Int64Var(&o.MaxFileSize, "max-file-size", 0, "skip (and report) files larger than this many bytes; 0: no cap")
	f.BoolVar(&o.NoArchives, "no-archives", false, "do not look inside zip, tar, gzip and bzip2 files")
	f.IntVar(&o.Archive.MaxDepth, "archive-max-depth", 0, "archive layers opened, gzip or bzip2 counting as one (default 8; -1: no limit; also [archive] max_depth)")
	f.Int64Var(&o.Archive.MaxTotalBytes, "archive-max-total-bytes", 0, "bytes read out of one archive on disk, all levels (default 4 GiB; -1: no limit; also [archive] max_total_bytes)")
	f.Int64Var(&o.Archive.MaxRatio, "archive-max-ratio", 0, "expansion ratio past which a member is cut as a bomb (default 200; -1: no limit; also [archive] max_ratio)")
	f.Int64Var(&o.Archive.RatioWindow, "archive-ratio-window", 0, "bytes a member expands to before its ratio is checked (default 16 MiB; also [archive] ratio_window)")
	f.Int64Var(&o.Archive.MaxEntries, "archive-max-entries", 0, "members of one archive on disk, all levels (default 100000; -1: no limit; also [archive] max_entries)")
	o.VerifyFlags.Register(f, "live-check each key found (opt-in: sends the key to AWS's Bedrock endpoint of its region)")
	f.StringVar(&o.Config, "config", "", "configuration file (default: $BKS_CONFIG, or .bks.toml at the scanned root: the directory, the repository's working tree)")
	f.BoolVar(&o.scope.trustHead, "trust-head-config", false, "detect git --range: use the head's .bks.toml and baseline even when they widen what is suppressed (default: the base commit's, and such a change fails the run)")
	f.StringVar(&o.Baseline, "baseline", "", "suppress the findings listed in this baseline file")
	f.StringVar(&o.BaselineOut, "baseline-out", "", "write the findings of this scan as a baseline file")
	f.BoolVar(&o.ShowSuppressed, "show-suppressed", false, "also show findings suppressed by the baseline, allowlists or bks:allow (SARIF always carries them, marked)")
	f.BoolVar(&o.ReportUnused, "report-unused", false, "list baseline and allowlist entries that matched nothing (on stderr)")
	// Triage: the same flags as `bks triage` (live checks use --verify*).
	f.BoolVar(&o.Triage, "triage", false, "after the scan, triage the keys found against the config's [[accounts]] (see bks triage)")
	addTriageFlags(f, &o.TriageOpts, "with --triage: ")
}

// checkFlags refuses the shared flag values no subcommand can honour,
// before anything is read (--exit-code and --workers refuse theirs when
// parsed).
func (o *detectOptions) checkFlags() error {
	_, err := parseNow(o.Now)
	return err
}

// errorCollector receives the errors a source could not recover from for
// one item, prints them on stderr as they come, and counts them.
type errorCollector struct {
	mu    sync.Mutex
	w     io.Writer
	count int
}

func (c *errorCollector) handle(path string, err error) {
	if errors.Is(err, context.Canceled) {
		return // the run is interrupted, and says so once
	}
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

// newEngine loads the configuration and baseline and builds the detector
// engine and finding filter the options ask for.
func (o *detectOptions) newEngine() (*detectors.Engine, error) {
	now, err := parseNow(o.Now)
	if err != nil {
		return nil, err
	}
	if err := o.loadConfig(); err != nil {
		return nil, err
	}
	if o.Triage {
		t := o.TriageOpts
		t.VerifyFlags = o.VerifyFlags
		o.triage = &t
	}
	decode := detectors.DecodeOptions{Now: now, Partition: o.Partition}
	return rules.NewEngine(o.cfg, detectors.Options{Decode: decode, IncludeInvalid: o.IncludeInvalid}), nil
}

// archiveLimits are the archive limits of the run: each flag given, else
// the config's [archive] value, else (0) the default.
func (o *detectOptions) archiveLimits() files.ArchiveLimits {
	var c rules.ArchiveLimits
	if o.cfg != nil {
		c = o.cfg.Archive
	}
	pick := func(flag, cfg int64) int64 {
		if flag != 0 {
			return flag
		}
		return cfg
	}
	return files.ArchiveLimits{
		MaxDepth:      int(pick(int64(o.Archive.MaxDepth), int64(c.MaxDepth))),
		MaxTotalBytes: pick(o.Archive.MaxTotalBytes, c.MaxTotalBytes),
		MaxRatio:      pick(o.Archive.MaxRatio, c.MaxRatio),
		RatioWindow:   pick(o.Archive.RatioWindow, c.RatioWindow),
		MaxEntries:    pick(o.Archive.MaxEntries, c.MaxEntries),
	}
}

// configError lists every configuration problem, one per line.
func configError(err error) error {
	msgs := configProblems(err)
	if len(msgs) == 1 {
		return fmt.Errorf("invalid configuration: %s", msgs[0])
	}
	return fmt.Errorf("invalid configuration (%d problems):\n  %s", len(msgs), strings.Join(msgs, "\n  "))
}

// runDetect runs src through the engine into the chosen report and turns the
// outcome into an exit code. errs is the collector src reports to.
func runDetect(ctx context.Context, sio *IO, o *detectOptions, eng *detectors.Engine, src sources.Source, errs *errorCollector) (retErr error) {
	reportComplete := false
	var checker *verify.Checker
	if o.Verify {
		var err error
		if checker, err = o.factory.Verifier(o.VerifyFlags.Options(10 * time.Second)); err != nil {
			return err
		}
	}
	out := sio.Out
	color := o.Color == "always" || (o.Color == "auto" && sio.IsTerminal && o.Output == "")
	if o.Output != "" {
		mode := os.FileMode(0o644)
		if o.ShowSecrets {
			mode = 0o600
		}
		fh, err := createReportFile(o.Output, mode)
		if err != nil {
			return err
		}
		// The report replaces the previous one when the scan completed,
		// whatever fails after it (baseline, triage).
		defer func() { retErr = finishReport(sio, fh, reportComplete, retErr) }()
		out = fh
	}
	rep, err := report.New(o.Format, out, report.Options{ShowSecrets: o.ShowSecrets, Color: color, ShowSuppressed: o.ShowSuppressed, ToolVersion: Version})
	if err != nil {
		return err
	}
	o.reportConfig(rep)
	sink := &detectSink{warn: sio.Err}
	var filter scan.Filter
	if o.filter != nil {
		filter = o.filter.Apply
	}
	// The handler keeps a finding only when it holds them for after the
	// scan; the reporter may keep them too.
	transient := !o.holds() && report.Transient(rep)
	scanErr := scan.Scanner{Engine: eng, Filter: filter, Transient: transient}.Run(ctx, src, o.handler(ctx, rep, checker, sink))
	found, held := sink.found, sink.held
	if o.Dedupe && scanErr == nil {
		for _, f := range report.Dedupe(held) {
			if err := sink.write(rep, f); err != nil {
				scanErr = err
				break
			}
		}
	}
	if sink.lost > 0 && scanErr == nil {
		scanErr = fmt.Errorf("%d finding(s) could not be written to the report (named above)", sink.lost)
	}
	why := incompleteReason(ctx, scanErr, errs)
	if why != "" {
		report.MarkIncomplete(rep, why)
	}
	if err := rep.Close(); err != nil && scanErr == nil {
		scanErr = err
	}
	reportComplete = scanErr == nil && ctx.Err() == nil && (why == "" || o.IgnoreErrors)
	if o.BaselineOut != "" && scanErr == nil {
		scanErr = writeBaselineFile(o.BaselineOut, held)
	}
	if line := sink.suppressedSummary(o.ShowSuppressed); line != "" {
		fmt.Fprint(sio.Err, line)
	}
	if o.ReportUnused && o.filter != nil && scanErr == nil {
		if unused := o.filter.Unused(); len(unused) > 0 {
			fmt.Fprintf(sio.Err, "bks: %d baseline or allowlist entr%s matched nothing:\n", len(unused), map[bool]string{true: "y", false: "ies"}[len(unused) == 1])
			for _, u := range unused {
				fmt.Fprintf(sio.Err, "  %s\n", u)
			}
		}
	}
	if o.triage != nil && scanErr == nil {
		var active []findings.Finding
		for _, f := range held {
			if f.Suppressed == "" {
				active = append(active, f)
			}
		}
		fmt.Fprintln(sio.Err)
		triageOut := sio
		if o.Output == "" && o.Format != "text" {
			// Keep machine output on stdout clean: the summary goes to stderr.
			triageOut = &IO{In: sio.In, Out: sio.Err, Err: sio.Err, Getenv: sio.Getenv}
		}
		if err := triageRun(ctx, o.factory, triageOut, o.triage, o.cfg, active); err != nil {
			if errors.Is(err, cmdutil.ErrFound) && found > 0 {
				return cmdutil.Found(o.ExitCode)
			}
			return err
		}
	}
	switch {
	case scanErr != nil && (errors.Is(scanErr, context.Canceled) || ctx.Err() != nil):
		return fmt.Errorf("%w: the scan is incomplete", cmdutil.ErrInterrupted)
	case scanErr != nil:
		return scanErr
	case errs != nil && errs.n() > 0 && !o.IgnoreErrors:
		return fmt.Errorf("%d item(s) could not be scanned (see above); --ignore-errors to exit by findings only", errs.n())
	case found > 0 || o.scope.widened:
		// A change that widens what is suppressed fails the run as a
		// finding does (--trust-head-config accepts it).
		return cmdutil.Found(o.ExitCode)
	}
	return nil
}

// incompleteReason says why a scan that ended with scanErr did not scan
// everything, or "" when it did.
func incompleteReason(ctx context.Context, scanErr error, errs *errorCollector) string {
	switch {
	case ctx.Err() != nil || errors.Is(scanErr, context.Canceled):
		return "interrupted: the scan is incomplete"
	case scanErr != nil:
		return "the scan failed: " + scanErr.Error()
	case errs != nil && errs.n() > 0:
		return fmt.Sprintf("%d item(s) could not be scanned; the tool's error output names them", errs.n())
	}
	return ""
}

// finishReport moves the -o report into place once runDetect returned
// runErr: it replaces the previous report only when the scan completed,
// and says on stderr where an incomplete one went.
func finishReport(sio *IO, fh *reportFile, complete bool, runErr error) error {
	dest, err := fh.finish(complete)
	switch {
	case err != nil && complete:
		return err
	case err != nil:
		fmt.Fprintf(sio.Err, "bks: %s left unchanged; the incomplete report could not be kept: %v\n", fh.path, err)
	case !complete:
		fmt.Fprintf(sio.Err, "bks: the run did not complete: %s left unchanged, partial report in %s\n", fh.path, dest)
	}
	return runErr
}

func writeBaselineFile(path string, fs []findings.Finding) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	if err := rules.WriteBaseline(f, fs); err != nil {
		f.Close()
		return fmt.Errorf("baseline: %w", err)
	}
	return f.Close()
}
