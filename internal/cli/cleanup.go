package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/awsops/audit"
	"github.com/bks-dev/bks/awsops/cleanup"
	"github.com/bks-dev/bks/awsops/iamscan"
	"github.com/bks-dev/bks/awsops/org"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
)

type cleanupOptions struct {
	cmdutil.AccountFlags
	DryRun   bool
	Yes      bool
	AuditLog string
}

func newCmdCleanup(f *cmdutil.Factory) *cobra.Command {
	opts := &cleanupOptions{}
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Delete ORPHANED BedrockAPIKey-* users and everything on them",
		Long: `Scan, then delete the ORPHANED phantom users (BedrockAPIKey-* users with no
active credential of any kind) — never UNKNOWN, AT RISK, ACTIVE or ordinary
users. Each user is read again right before deletion and skipped if
anything changed since the scan. Dependents go first, in the order IAM needs
(access keys, service-specific credentials, login profile, MFA devices,
signing certificates, SSH keys, groups, attached and inline policies,
permissions boundary), then the user. Anything already gone counts as done,
so an interrupted run can simply be run again.

Asks before deleting; --yes skips the question; with no terminal and no
--yes it refuses. --dry-run shows the plan and makes no write call. Every
write call is appended to the audit log (JSON Lines).

Exit codes: 0 done (or nothing to do), 2 an error (a failed deletion, an
account that could not be scanned, a refusal).`,
		Example: `  bks cleanup --dry-run
  bks cleanup --yes --audit-log cleanup.jsonl
  bks cleanup --org --org-skip 111122223333`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cleanupRun(cmd.Context(), f, opts)
		},
	}
	fs := cmd.Flags()
	opts.AccountFlags.Register(fs)
	fs.BoolVarP(&opts.DryRun, "dry-run", "n", false, "show what would be deleted; make no write call")
	fs.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	fs.BoolVar(&opts.Yes, "force", false, "same as --yes")
	fs.StringVar(&opts.AuditLog, "audit-log", "", audit.FlagHelp)
	return cmd
}

func cleanupRun(ctx context.Context, f *cmdutil.Factory, opts *cleanupOptions) error {
	sio := f.IO
	if err := opts.Org.Validate(); err != nil {
		return err
	}
	if !opts.DryRun && !opts.Yes && !sio.StdinIsTerminal {
		return errors.New("refusing to delete without confirmation: standard input is not a terminal (pass --yes, or --dry-run to see the plan)")
	}
	caller, err := f.AWS(ctx, &opts.AWS)
	if err != nil {
		return err
	}
	id := caller.Caller
	results, err := scanAccounts(ctx, sio, caller, &opts.AccountFlags, time.Time{})
	if err != nil {
		return err
	}
	failed := 0
	plans := map[string][]iamscan.User{}
	var order []org.Account
	total := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
			fmt.Fprintf(sio.Err, "account %s: not scanned: %s\n", r.Account.ID, r.Error)
			continue
		}
		orphans := cleanup.Orphans(r.Report)
		unknown := r.Report.Summary.Unknown
		if unknown > 0 {
			fmt.Fprintf(sio.Err, "account %s: %d UNKNOWN users left alone (run bks scan to see why)\n", r.Account.ID, unknown)
		}
		if len(orphans) == 0 {
			continue
		}
		plans[r.Account.ID] = orphans
		order = append(order, r.Account)
		total += len(orphans)
	}
	if total == 0 {
		fmt.Fprintln(sio.Out, "Nothing to clean up: no ORPHANED BedrockAPIKey-* users.")
		if failed > 0 {
			return fmt.Errorf("%d accounts could not be scanned", failed)
		}
		return nil
	}
	for _, a := range order {
		fmt.Fprintf(sio.Out, "account %s: %d ORPHANED users\n", a.ID, len(plans[a.ID]))
		for _, u := range plans[a.ID] {
			steps := cleanup.Steps(u)
			fmt.Fprintf(sio.Out, "  %s (%d calls: %s)\n", u.UserName, len(steps), strings.Join(u.Reasons, "; "))
			if opts.DryRun {
				for _, s := range steps {
					fmt.Fprintf(sio.Out, "    would call %s\n", s)
				}
			}
		}
	}
	if opts.DryRun {
		fmt.Fprintf(sio.Out, "Dry run: %d users would be deleted; no change made.\n", total)
		if failed > 0 {
			return fmt.Errorf("%d accounts could not be scanned", failed)
		}
		return nil
	}
	if !opts.Yes {
		fmt.Fprintf(sio.Err, "Delete these %d users and everything on them? [y/N] ", total)
		line, _ := bufio.NewReader(sio.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return errors.New("cleanup cancelled: nothing deleted")
		}
	}
	alog, auditPath, err := audit.OpenOrDefault(opts.AuditLog, sio.Env)
	if err != nil {
		return err
	}
	opts.AuditLog = auditPath
	defer alog.Close()
	alog.Caller = id.ARN
	alog.Run = time.Now().UTC().Format("20060102T150405Z")

	var outcomes []cleanup.Outcome
	clean := func(ctx context.Context, acct string, cfg aws.Config) error {
		c := &cleanup.Cleaner{IAM: cmdutil.AWSAccount{Config: cfg}.IAM(), Account: acct, Partition: id.Partition, Audit: alog, Policy: opts.Policy.Policy()}
		for _, u := range plans[acct] {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			outcomes = append(outcomes, c.Clean(ctx, u))
		}
		return nil
	}
	if !opts.Org.Org {
		if err := clean(ctx, id.Account, caller.Config); err != nil {
			return err
		}
	} else {
		sw := &org.Sweep{Base: caller.Config, Caller: id, Role: opts.Org.Role, Parallel: 1, Rate: opts.AWS.Rate}
		res, err := sw.Run(ctx, order, func(ctx context.Context, a org.Account, cfg aws.Config) error { return clean(ctx, a.ID, cfg) })
		if err != nil {
			return err
		}
		for _, r := range res {
			if r.Err != nil {
				failed++
				fmt.Fprintf(sio.Err, "account %s: %s\n", r.Account.ID, describeErr(r.Err))
			}
		}
	}
	counts := map[cleanup.Result]int{}
	for _, o := range outcomes {
		counts[o.Result]++
		line := fmt.Sprintf("%s %s/%s", o.Result, o.Account, o.UserName)
		if o.Detail != "" {
			line += ": " + o.Detail
		}
		fmt.Fprintln(sio.Out, line)
	}
	fmt.Fprintf(sio.Out, "Deleted %d, skipped %d, already gone %d, failed %d. Audit log: %s\n",
		counts[cleanup.Deleted], counts[cleanup.Skipped], counts[cleanup.Gone], counts[cleanup.Failed], opts.AuditLog)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if counts[cleanup.Failed] > 0 || failed > 0 {
		return fmt.Errorf("%d deletions failed, %d accounts failed: run bks cleanup again once fixed", counts[cleanup.Failed], failed)
	}
	return nil
}
