package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/awsops/audit"
	"github.com/bks-dev/bks/awsops/revoke"
	"github.com/bks-dev/bks/awsops/verify"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
)

type revokeOptions struct {
	AWS        cmdutil.AWSFlags
	Target     string
	DryRun     bool
	Yes        bool
	Force      bool
	Regions    []string
	Role, User string
	AuditLog   string
	JSON       bool
	// The live check after revoking: the same flags as detect's and
	// triage's, so a long-term key (which carries no region) is checked
	// in the partition it answers in, never called dead from another.
	cmdutil.VerifyFlags
}

func newCmdRevokeKey(f *cmdutil.Factory) *cobra.Command {
	opts := &revokeOptions{}
	cmd := &cobra.Command{
		Use:   "revoke-key USER|KEY",
		Short: "Cut off a leaked Bedrock API key in its AWS account",
		Long: `Cut off a leaked Bedrock API key (or every key of an IAM user).

Long-term key (ABSK…) or user name: puts an inline deny on the user for
bedrock:* and bedrock-mantle:* plus a deny of every action for sessions
issued before now (aws:TokenIssueTime), deletes the user's Bedrock API keys,
and deactivates its access keys.

Short-term key (bedrock-api-key-…): such keys cannot be deleted. bks finds
the role or user that issued the key's session in CloudTrail (the key's
region first, then the others) and denies every action to that role's or
user's sessions issued before now. That cuts off EVERY older session of
the role, not only the key: bks says so before it acts. Your own identity
is refused unless --force. IAM Identity Center roles (AWSReservedSSO_*) are
always refused — IAM answers UnmodifiableEntity to any change — and bks
prints the commands that work instead (the permission set's inline policy,
or an SCP, and revoking the users' active sessions). A short-term key signed
with an IAM user's long-term access key (AKIA…) carries no
aws:TokenIssueTime, so no session deny reaches it: bks deactivates that
access key instead, and if that is refused puts an unconditional Bedrock
deny on the user (exit 3: the access key still stands).

Every step runs whatever the others did: a refused deny (an SCP, the
2,048-character inline policy budget, a role that may delete but not write
policies) no longer keeps the key from being deleted. A refused inline deny
falls back to attaching AWS's managed AWSDenyAll, and says so. When some
steps fail, bks exits 3 (partially revoked) and lists what still stands.

--dry-run prints the exact calls and policy documents and changes nothing.
Without --yes bks asks first, and refuses when there is no terminal to ask
on. Running it again changes nothing and says so. Every write call is
appended to the audit log. "-" reads the key from standard input (keeps it
out of shell history).`,
		Example: `  bks revoke-key --dry-run BedrockAPIKey-x7k2
  pbpaste | bks revoke-key --yes --verify -
  bks revoke-key --profile prod --regions eu-west-1,eu-central-1 bedrock-api-key-...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Target = args[0]
			return revokeRun(cmd.Context(), f, opts)
		},
	}
	opts.AWS.Register(cmd.Flags())
	fs := cmd.Flags()
	fs.BoolVar(&opts.DryRun, "dry-run", false, "print the plan (calls and policy documents) and change nothing")
	fs.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	fs.BoolVar(&opts.Force, "force", false, "allow revoking your own identity (IAM Identity Center roles are refused even so)")
	fs.StringSliceVar(&opts.Regions, "regions", nil, "regions to search CloudTrail for a short-term key's issuer, after the key's own (default: the partition's standard regions)")
	fs.StringVar(&opts.Role, "role", "", "short-term key: the issuing role, when CloudTrail does not show it")
	fs.StringVar(&opts.User, "user", "", "short-term key: the issuing IAM user, when CloudTrail does not show it")
	fs.StringVar(&opts.AuditLog, "audit-log", "", audit.FlagHelp)
	fs.BoolVar(&opts.JSON, "json", false, "print the plan and results as JSON")
	opts.VerifyFlags.Register(fs, "afterwards, check live that the key no longer works (sends the key to AWS Bedrock)")
	// The name this command used before it shared detect's flags.
	fs.StringVar(&opts.VerifyEndpoint, "verify-endpoint-url", "", "same as --verify-endpoint")
	_ = fs.MarkHidden("verify-endpoint-url")
	return cmd
}

type revokeOutput struct {
	Plan    *revoke.Plan   `json:"plan"`
	DryRun  bool           `json:"dry_run"`
	Changed bool           `json:"changed"`
	Verify  *verify.Result `json:"verify,omitempty"`
}

func revokeRun(ctx context.Context, f *cmdutil.Factory, opts *revokeOptions) error {
	sio := f.IO
	raw := opts.Target
	if raw == "-" {
		b, err := io.ReadAll(io.LimitReader(sio.In, 1<<20))
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		raw = strings.TrimSpace(string(b))
	}
	if opts.Role != "" && opts.User != "" {
		return errors.New("revoke-key: give --role or --user, not both")
	}
	target, err := revoke.ParseTarget(raw, "")
	if err != nil {
		return err
	}
	if opts.Verify && target.Key == "" {
		return errors.New("revoke-key: --verify needs the key itself, not a user name")
	}
	acct, err := f.AWS(ctx, &opts.AWS)
	if err != nil {
		return err
	}
	id := acct.Caller
	rv := &revoke.Revoker{
		IAM: acct.IAM(), Caller: id,
		CloudTrail: func(region string) revoke.CloudTrailAPI { return acct.CloudTrail(region) },
		Options:    revoke.Options{Force: opts.Force, Regions: opts.Regions, IssuerRole: opts.Role, IssuerUser: opts.User},
	}
	plan, err := rv.Plan(ctx, target)
	if err != nil {
		return err
	}
	out := revokeOutput{Plan: plan, DryRun: opts.DryRun}
	if !opts.JSON {
		writeRevokePlan(sio.Out, plan)
	}
	switch {
	case !plan.Pending():
		if !opts.JSON {
			fmt.Fprintln(sio.Out, "\nNothing to change: the key is already revoked.")
		}
	case opts.DryRun:
		if !opts.JSON {
			fmt.Fprintln(sio.Out, "\nDry run: no change made.")
		}
	default:
		if !opts.Yes {
			if !sio.StdinIsTerminal {
				return errors.New("revoke-key: refusing to change the account without --yes (no terminal to ask for confirmation)")
			}
			if !confirm(sio, fmt.Sprintf("\nRevoke in account %s as %s? [y/N] ", plan.Account, id.ARN)) {
				return errors.New("revoke-key: not confirmed; nothing changed")
			}
		}
		log, auditPath, err := audit.OpenOrDefault(opts.AuditLog, sio.Env)
		if err != nil {
			return err
		}
		opts.AuditLog = auditPath
		defer log.Close()
		log.Run, log.Caller = runID(), id.ARN
		rv.Audit = log
		_, applyErr := rv.Apply(ctx, plan)
		out.Changed = true
		if !opts.JSON {
			writeRevokeResults(sio.Out, plan, opts.AuditLog)
		}
		if applyErr != nil {
			if opts.JSON {
				writeJSON(sio.Out, out)
			}
			if errors.Is(applyErr, revoke.ErrPartial) {
				return cmdutil.Partial(applyErr)
			}
			return applyErr
		}
	}
	if opts.Verify && !opts.DryRun {
		c, err := f.Verifier(opts.VerifyFlags.Options(10 * time.Second))
		if err != nil {
			return err
		}
		r := c.Check(ctx, raw)
		out.Verify = &r
		if !opts.JSON {
			if r.Dead() {
				fmt.Fprintf(sio.Out, "\nLive check: %s — the key no longer works (%s).\n", r.Status, r.Reason)
			} else {
				fmt.Fprintf(sio.Out, "\nLive check: %s — %s.\n", r.Status, r.Reason)
			}
		}
		if opts.JSON {
			writeJSON(sio.Out, out)
		}
		switch {
		case r.Status == verify.Unknown:
			return errors.New("revoke-key: the live check could not tell whether the key still works")
		case !r.Dead():
			return &cmdutil.FoundError{Code: ExitFound, Msg: "revoke-key: the key STILL WORKS (IAM changes can take a few seconds to apply: run --verify again)"}
		}
		return nil
	}
	if opts.JSON {
		writeJSON(sio.Out, out)
	}
	return nil
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func confirm(sio *IO, prompt string) bool {
	fmt.Fprint(sio.Err, prompt)
	line, _ := bufio.NewReader(sio.In).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}

func runID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func writeRevokePlan(w io.Writer, p *revoke.Plan) {
	t := p.Target
	what := "user " + t.UserName
	if t.Key != "" {
		what = t.Kind + " key " + t.Key
	}
	fmt.Fprintf(w, "Revoking %s in account %s (%s)\n", what, p.Account, p.Partition)
	if t.Kind == revoke.KindShortTerm {
		fmt.Fprintf(w, "  access key id %s, region %s", t.AccessKeyID, t.Region)
		if t.ExpiresAt != nil {
			fmt.Fprintf(w, ", expires %s", t.ExpiresAt.UTC().Format(time.RFC3339))
		}
		fmt.Fprintln(w)
		if p.FoundInRegion != "" {
			fmt.Fprintf(w, "  issuer found in CloudTrail in %s (searched %s)\n", p.FoundInRegion, strings.Join(p.SearchedRegions, ", "))
		}
	}
	fmt.Fprintf(w, "  acts on %s %s\n\nCalls:\n", p.Principal.Type, p.Principal.ARN)
	for i, s := range p.Steps {
		mark := " "
		if !s.Needed {
			mark = "="
		}
		fmt.Fprintf(w, "%s %d. %s\n", mark, i+1, s.Call())
		if s.Note != "" {
			fmt.Fprintf(w, "     already done: %s\n", s.Note)
		}
		if s.PolicyDocument != "" {
			for _, line := range strings.Split(s.PolicyDocument, "\n") {
				fmt.Fprintf(w, "       %s\n", line)
			}
		}
	}
	if len(p.CutsOff) > 0 {
		fmt.Fprintln(w, "\nThis also cuts off:")
		for _, c := range p.CutsOff {
			fmt.Fprintf(w, "  - %s\n", c)
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
}

func writeRevokeResults(w io.Writer, p *revoke.Plan, auditPath string) {
	fmt.Fprintln(w, "\nResults:")
	for i, s := range p.Steps {
		line := fmt.Sprintf("  %d. %-12s %s", i+1, s.Result, s.Call())
		if s.Error != "" {
			line += " — " + s.Error
		}
		fmt.Fprintln(w, line)
		switch {
		case s.Fallback == "":
		case s.Action == "iam:UpdateAccessKey":
			fmt.Fprintf(w, "     deactivating the access key was refused: put the inline deny %s on %s instead\n", s.Fallback, s.Params["UserName"])
		default:
			fmt.Fprintf(w, "     the inline deny was refused: attached %s instead\n", s.Fallback)
		}
	}
	if len(p.StillStands) > 0 {
		fmt.Fprintln(w, "\nPARTIALLY REVOKED. Still stands:")
		for _, s := range p.StillStands {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
	fmt.Fprintf(w, "Audit log: %s\n", auditPath)
}
