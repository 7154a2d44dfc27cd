package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/awsops/iamscan"
	"github.com/bks-dev/bks/awsops/org"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/internal/termsafe"
)

type scanOptions struct {
	cmdutil.AccountFlags
	JSON    bool
	CSV     string
	Verbose bool
	Now     string
}

func newCmdScan(f *cmdutil.Factory) *cobra.Command {
	opts := &scanOptions{}
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Find every Bedrock API key and phantom BedrockAPIKey-* user in AWS accounts",
		Long: `Find every Bedrock API key in an AWS account — on BedrockAPIKey-* users made by
the console and on ordinary users given a key through the IAM API — read
everything that hangs on each user, and classify it:

  AT RISK   persistent credentials beyond Bedrock on a phantom user (an active
            access key, a console password used within --dormant-after days,
            an active signing certificate or SSH key), or an active Bedrock
            key with extra policies or groups
  ACTIVE    an active Bedrock key and nothing more
  ORPHANED  a phantom user with no active credential of any kind: safe to
            delete with 'bks cleanup'
  UNKNOWN   a lookup failed (the permission is named); never cleaned up
  INACTIVE  an ordinary IAM user whose Bedrock keys are all inactive; bks
            never deletes ordinary users

Over policy: every AT RISK user, and every ACTIVE user holding a key that
never expires or is older than --max-key-age days.

Exit codes: 0 nothing over policy, 1 something over policy, 2 an error (no
credentials, an account that could not be scanned, an UNKNOWN user).`,
		Example: `  bks scan
  bks scan --profile prod --json > scan.json
  bks scan --org --org-skip 111122223333 --csv users.csv
  bks scan --endpoint-url http://127.0.0.1:4566`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return scanRun(cmd.Context(), f, opts)
		},
	}
	fs := cmd.Flags()
	opts.AccountFlags.Register(fs)
	fs.BoolVar(&opts.JSON, "json", false, "print the whole result as JSON")
	fs.StringVar(&opts.CSV, "csv", "", "also write one row per user to this CSV file")
	fs.BoolVarP(&opts.Verbose, "verbose", "v", false, "list every reason and every key under each user")
	fs.StringVar(&opts.Now, "now", "", "evaluate ages and expiry against this time (RFC 3339) instead of the clock")
	return cmd
}

// accountResult is one account's scan.
type accountResult struct {
	Account org.Account     `json:"account"`
	Report  *iamscan.Report `json:"report,omitempty"`
	Err     error           `json:"-"`
	Error   string          `json:"error,omitempty"`
}

// scanResult is what `bks scan --json` prints.
type scanResult struct {
	Caller   awsops.Identity `json:"caller"`
	Org      bool            `json:"organization"`
	Accounts []accountResult `json:"accounts"`
	Summary  iamscan.Summary `json:"summary"`
	Failed   int             `json:"failed_accounts"`
}

func scanRun(ctx context.Context, f *cmdutil.Factory, opts *scanOptions) error {
	sio := f.IO
	if err := opts.Org.Validate(); err != nil {
		return err
	}
	now, err := parseNow(opts.Now)
	if err != nil {
		return err
	}
	acct, err := f.AWS(ctx, &opts.AWS)
	if err != nil {
		return err
	}
	id := acct.Caller
	results, err := scanAccounts(ctx, sio, acct, &opts.AccountFlags, now)
	if err != nil {
		return err
	}
	res := scanResult{Caller: id, Org: opts.Org.Org, Accounts: results}
	unknown := 0
	for _, r := range results {
		if r.Err != nil {
			res.Failed++
			continue
		}
		res.Summary.Add(r.Report.Summary)
		unknown += r.Report.Summary.Unknown
	}
	if opts.CSV != "" {
		if err := writeScanCSV(opts.CSV, results); err != nil {
			return err
		}
	}
	if opts.JSON {
		enc := json.NewEncoder(sio.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		writeScanText(sio.Out, res, opts.Verbose, nowOr(now))
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	switch {
	case res.Failed > 0:
		return fmt.Errorf("%d of %d accounts could not be scanned", res.Failed, len(results))
	case unknown > 0:
		return fmt.Errorf("%d users could not be fully read (UNKNOWN): grant the permissions named above and scan again", unknown)
	case res.Summary.OverPolicy > 0:
		return cmdutil.ErrFound
	}
	return nil
}

func nowOr(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now().UTC()
	}
	return t
}

// scanAccounts scans the caller's account, or with --org every selected
// ACTIVE account of the organization (one failure never stops the rest).
func scanAccounts(ctx context.Context, sio *IO, caller *cmdutil.AWSAccount, fl *cmdutil.AccountFlags, now time.Time) ([]accountResult, error) {
	id, of, pf := caller.Caller, &fl.Org, &fl.Policy
	var clock func() time.Time
	if !now.IsZero() {
		clock = func() time.Time { return now }
	}
	scanOne := func(ctx context.Context, acct string, cfg aws.Config) (*iamscan.Report, error) {
		sc := &iamscan.Scanner{IAM: cmdutil.AWSAccount{Config: cfg}.IAM(), Account: acct, Partition: id.Partition, Concurrency: pf.Concurrency, Policy: pf.Policy(), Now: clock}
		return sc.Run(ctx)
	}
	if !of.Org {
		rep, err := scanOne(ctx, id.Account, caller.Config)
		r := accountResult{Account: org.Account{ID: id.Account}, Report: rep, Err: err}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("scan account %s: %s", id.Account, describeErr(err))
		}
		return []accountResult{r}, nil
	}
	accts, err := org.ListAccounts(ctx, caller.Organizations())
	if err != nil {
		return nil, fmt.Errorf("list organization accounts: %s", describeErr(err))
	}
	accts = org.Filter(accts, of.Accounts, of.Skip)
	if len(accts) == 0 {
		return nil, errors.New("no ACTIVE account selected in the organization")
	}
	reports := make(map[string]*iamscan.Report, len(accts))
	results := make([]accountResult, 0, len(accts))
	sw := &org.Sweep{Base: caller.Config, Caller: id, Role: of.Role, Parallel: of.Parallel, Rate: fl.AWS.Rate}
	if sio.IsTerminal {
		sw.Progress = func(done, total int, a org.Account, err error) {
			// bks's own redraw: past stderr's escaping (termsafe.Raw).
			fmt.Fprintf(termsafe.Raw(sio.Err), "\r\033[Kscanning accounts: %d/%d", done, total)
			if done == total {
				fmt.Fprint(termsafe.Raw(sio.Err), "\r\033[K")
			}
		}
	}
	type keyed struct {
		id  string
		rep *iamscan.Report
	}
	ch := make(chan keyed, len(accts))
	res, err := sw.Run(ctx, accts, func(ctx context.Context, a org.Account, cfg aws.Config) error {
		rep, err := scanOne(ctx, a.ID, cfg)
		if err != nil {
			return err
		}
		ch <- keyed{a.ID, rep}
		return nil
	})
	close(ch)
	for k := range ch {
		reports[k.id] = k.rep
	}
	if err != nil {
		return nil, err
	}
	for _, r := range res {
		ar := accountResult{Account: r.Account, Report: reports[r.Account.ID], Err: r.Err}
		if r.Err != nil {
			ar.Error = describeErr(r.Err)
		}
		results = append(results, ar)
	}
	return results, nil
}

// describeErr renders an AWS error in one line, naming the permission.
func describeErr(err error) string {
	code := awsops.ErrorCode(err)
	msg := err.Error()
	var are *org.AssumeRoleError
	switch {
	case errors.As(err, &are):
		return are.Why()
	case awsops.IsAccessDenied(err):
		return "access denied (" + code + "): " + oneLine(msg)
	}
	return oneLine(msg)
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func writeScanText(w io.Writer, res scanResult, verbose bool, now time.Time) {
	for _, r := range res.Accounts {
		if res.Org || len(res.Accounts) > 1 {
			name := r.Account.ID
			if r.Account.Name != "" {
				name += " (" + r.Account.Name + ")"
			}
			fmt.Fprintf(w, "== account %s\n", name)
		}
		if r.Err != nil {
			fmt.Fprintf(w, "FAILED: %s\n\n", r.Error)
			continue
		}
		rep := r.Report
		if len(rep.Users) > 0 {
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "USER\tCREATED\tBEDROCK KEYS\tACCESS KEYS\tCONSOLE\tPOLICIES/GROUPS\tSTATUS\tWHY")
			for _, u := range rep.Users {
				why := ""
				if len(u.Reasons) > 0 && !verbose {
					why = u.Reasons[0]
					if len(u.Reasons) > 1 {
						why += fmt.Sprintf(" (+%d)", len(u.Reasons)-1)
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.UserName, dateOf(u.Created), bedrockCell(u, now), accessKeyCell(u, now), consoleCell(u), policyCell(u), statusCell(u), why)
				if verbose {
					for _, reason := range u.Reasons {
						fmt.Fprintf(tw, "  · %s\t\t\t\t\t\t\t\n", reason)
					}
				}
			}
			tw.Flush()
		}
		writeSummary(w, rep.Summary, rep.Account)
		if res.Org {
			fmt.Fprintln(w)
		}
	}
	if res.Org {
		fmt.Fprintf(w, "== organization: %d accounts scanned, %d failed\n", len(res.Accounts)-res.Failed, res.Failed)
		writeSummary(w, res.Summary, "")
	}
}

func writeSummary(w io.Writer, s iamscan.Summary, account string) {
	where := "total"
	if account != "" {
		where = "account " + account
	}
	if s.Users == 0 {
		fmt.Fprintf(w, "%s: no Bedrock API keys and no BedrockAPIKey-* users\n", where)
		return
	}
	fmt.Fprintf(w, "%s: %d users (%d phantom), %d Bedrock keys: %d active long-term, %d never expire, %d older than policy\n",
		where, s.Users, s.PhantomUsers, s.BedrockKeys, s.ActiveLongTermKeys, s.NeverExpiringKeys, s.KeysOlderThanMaxAge)
	fmt.Fprintf(w, "AT RISK %d · ACTIVE %d · ORPHANED %d · UNKNOWN %d · INACTIVE %d — %d over policy\n",
		s.AtRisk, s.Active, s.Orphaned, s.Unknown, s.Inactive, s.OverPolicy)
}

func dateOf(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.UTC().Format("2006-01-02")
}

func bedrockCell(u iamscan.User, now time.Time) string {
	if len(u.BedrockKeys) == 0 {
		return "-"
	}
	live := 0
	var notes []string
	for _, c := range u.BedrockKeys {
		if !c.LiveAt(now) {
			continue
		}
		live++
		age := fmt.Sprintf("%dd", int(now.Sub(c.Created).Hours()/24))
		if c.Expires == nil {
			notes = append(notes, age+" no expiry")
		} else {
			notes = append(notes, fmt.Sprintf("%s exp %s", age, c.Expires.UTC().Format("2006-01-02")))
		}
	}
	s := fmt.Sprintf("%d/%d", live, len(u.BedrockKeys))
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, ", ") + ")"
	}
	return s
}

func accessKeyCell(u iamscan.User, now time.Time) string {
	if len(u.AccessKeys) == 0 {
		return "-"
	}
	active := 0
	var last *time.Time
	for _, k := range u.AccessKeys {
		if k.Status == "Active" {
			active++
		}
		if k.LastUsed != nil && (last == nil || k.LastUsed.After(*last)) {
			last = k.LastUsed
		}
	}
	s := fmt.Sprintf("%d/%d active", active, len(u.AccessKeys))
	if last != nil {
		s += ", used " + iamscan.Ago(now.Sub(*last))
	} else {
		s += ", never used"
	}
	return s
}

func consoleCell(u iamscan.User) string {
	if u.LoginProfile == nil {
		return "-"
	}
	return "password"
}

func policyCell(u iamscan.User) string {
	n := len(u.AttachedPolicies) + len(u.InlinePolicies)
	if n == 0 && len(u.Groups) == 0 {
		return "-"
	}
	return fmt.Sprintf("%d pol, %d grp", n, len(u.Groups))
}

func statusCell(u iamscan.User) string {
	if u.OverPolicy {
		return string(u.Status) + "*"
	}
	return string(u.Status)
}

func writeScanCSV(path string, results []accountResult) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"account", "user_name", "arn", "phantom", "created", "status", "over_policy", "bedrock_keys_active", "bedrock_keys_total", "never_expiring_keys", "access_keys_active", "access_keys_total", "console_password", "attached_policies", "inline_policies", "groups", "reasons"})
	for _, r := range results {
		if r.Report == nil {
			continue
		}
		now := r.Report.ScannedAt
		for _, u := range r.Report.Users {
			live, never, akActive := 0, 0, 0
			for _, c := range u.BedrockKeys {
				if c.LiveAt(now) {
					live++
					if c.Expires == nil {
						never++
					}
				}
			}
			for _, k := range u.AccessKeys {
				if k.Status == "Active" {
					akActive++
				}
			}
			w.Write([]string{r.Account.ID, u.UserName, u.ARN, fmt.Sprint(u.Phantom), dateOf(u.Created), string(u.Status), fmt.Sprint(u.OverPolicy),
				fmt.Sprint(live), fmt.Sprint(len(u.BedrockKeys)), fmt.Sprint(never), fmt.Sprint(akActive), fmt.Sprint(len(u.AccessKeys)),
				fmt.Sprint(u.LoginProfile != nil), strings.Join(u.AttachedPolicies, " "), strings.Join(u.InlinePolicies, " "), strings.Join(u.Groups, " "), strings.Join(u.Reasons, "; ")})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("write CSV: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	return nil
}
