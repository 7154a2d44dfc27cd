package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/awsops/iamscan"
	"github.com/bks-dev/bks/awsops/kpi"
	"github.com/bks-dev/bks/awsops/timeline"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/serve/store"
	"github.com/bks-dev/bks/triage"
)

type kpisOptions struct {
	AWS       cmdutil.AWSFlags
	Regions   []string
	Days      int
	MaxEvents int
	State     string
	DB        string
	JSON      bool
}

func newCmdKPIs(f *cmdutil.Factory) *cobra.Command {
	opts := &kpisOptions{}
	cmd := &cobra.Command{
		Use:   "kpis",
		Short: "The three KPIs of Bedrock keys, computed once from AWS and the state",
		Long: `Compute once what bks serve keeps current (docs/SERVE.md, KPIs):

- live long-term keys of the account: Bedrock API keys Active and unexpired,
  and Active access keys of BedrockAPIKey-* users, from an IAM scan (the
  goal is zero);
- the share of Bedrock calls made with IAM roles rather than API keys:
  role calls / (role calls + API-key calls), from CloudTrail's event
  history of the last --days (callWithBearerToken marks an API-key call),
  in every region, at no more than 2 LookupEvents calls a second per region;
- the mean time to remediate, from detection to revocation or removal,
  from the state file of bks triage --state, or the database of bks serve
  (--db).

A region or a part that could not be read is named, the figures are
marked INCOMPLETE, and the exit code is 2.`,
		Example: `  bks kpis --state triage.json
  bks kpis --db /var/lib/bks/serve.db --regions us-east-1,eu-west-1 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return kpisRun(cmd.Context(), f, opts)
		},
	}
	opts.AWS.Register(cmd.Flags())
	fs := cmd.Flags()
	fs.StringSliceVar(&opts.Regions, "regions", nil, "regions whose Bedrock calls to count (default: those enabled in the account)")
	fs.IntVar(&opts.Days, "days", 30, "days of Bedrock calls to count (at most 90: CloudTrail's event history)")
	fs.IntVar(&opts.MaxEvents, "max-events", 100000, "stop counting Bedrock calls after this many, newest first (the share is then marked incomplete; 0: no limit)")
	fs.StringVar(&opts.State, "state", "", "the state file of bks triage --state, for the mean time to remediate")
	fs.StringVar(&opts.DB, "db", "", "the database of bks serve (file or postgres:// URL), for the mean time to remediate")
	fs.BoolVar(&opts.JSON, "json", false, "print the KPIs as JSON")
	cmd.MarkFlagsMutuallyExclusive("state", "db")
	return cmd
}

func kpisRun(ctx context.Context, f *cmdutil.Factory, opts *kpisOptions) error {
	if opts.Days < 1 || opts.MaxEvents < 0 {
		return errors.New("kpis: --days must be 1 or more, --max-events 0 or more")
	}
	rems, err := kpisRemediations(ctx, opts)
	if err != nil {
		return err
	}
	acct, err := f.AWS(ctx, &opts.AWS)
	if err != nil {
		return err
	}
	id := acct.Caller
	now := time.Now().UTC()
	rep := kpi.Report{At: now, MTTR: kpi.MeanTimeToRemediate(rems)}
	var b kpi.Builder
	sc := &iamscan.Scanner{IAM: acct.IAM(), Account: id.Account, Partition: id.Partition}
	if scan, err := sc.Run(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rep.Incomplete = append(rep.Incomplete, "live keys: IAM could not be read: "+describeErr(err))
		b.Calls(id.Account, kpi.CallerOther, "", 0) // the account is listed, its keys unknown
	} else {
		b.LiveKeys(id.Account, kpi.LiveKeysOf(scan.Users, now))
		for _, u := range scan.Users {
			if u.Status == iamscan.Unknown {
				rep.Incomplete = append(rep.Incomplete, fmt.Sprintf("live keys: user %s could not be fully read", u.UserName))
			}
		}
	}
	regions, note := regionsFor(ctx, acct, opts.Regions, "")
	if note != "" && !opts.JSON {
		fmt.Fprintln(f.IO.Err, "note: "+note)
	}
	res, err := timeline.Lookup(ctx, cloudTrailClients(acct), timeline.Options{
		EventSources: kpi.BedrockSources, Regions: regions, Days: opts.Days, MaxEvents: opts.MaxEvents, Now: func() time.Time { return now },
	})
	switch {
	case res == nil && ctx.Err() != nil:
		return ctx.Err()
	case res == nil:
		rep.Incomplete = append(rep.Incomplete, "Bedrock calls: "+err.Error())
		rep.Since = now.AddDate(0, 0, -opts.Days)
	default:
		rep.Since = res.Start
		for _, e := range res.Events {
			if kpi.IsBedrockSource(e.Source) {
				b.Calls(id.Account, kpi.Caller(e), e.BearerTokenType, 1)
			}
		}
		for _, fr := range res.Failed {
			rep.Incomplete = append(rep.Incomplete, fmt.Sprintf("Bedrock calls: region %s: %s", fr.Region, fr.Error))
		}
		if res.Truncated {
			rep.Incomplete = append(rep.Incomplete, fmt.Sprintf("Bedrock calls: stopped at --max-events %d", opts.MaxEvents))
		}
		rep.Incomplete = append(rep.Incomplete, res.Warnings...)
	}
	rep.Accounts = b.Accounts()
	if opts.JSON {
		writeJSON(f.IO.Out, rep)
	} else {
		rep.WriteText(f.IO.Out)
	}
	if len(rep.Incomplete) > 0 {
		return fmt.Errorf("kpis: incomplete: %d part(s) could not be read", len(rep.Incomplete))
	}
	return nil
}

// kpisRemediations reads the incidents' detections and remediations from
// the triage state file or the service's database (neither: none).
func kpisRemediations(ctx context.Context, opts *kpisOptions) ([]kpi.Remediation, error) {
	switch {
	case opts.DB != "":
		st, err := store.Open(ctx, opts.DB)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		return st.Remediations(ctx)
	case opts.State != "":
		if _, err := os.Stat(opts.State); err != nil { // LoadState takes a missing file for an empty state
			return nil, fmt.Errorf("kpis: --state: %w", err)
		}
		state, err := triage.LoadState(opts.State)
		if err != nil {
			return nil, fmt.Errorf("kpis: %w", err)
		}
		var out []kpi.Remediation
		for _, e := range state.Entries {
			if e.ThirdParty {
				continue
			}
			r := kpi.Remediation{Detected: e.FirstDetected}
			switch {
			case e.RevokedAt != nil:
				r.Remediated = *e.RevokedAt
			case e.Credential == triage.StateRevoked || e.Credential == triage.StateDeleted ||
				e.Credential == triage.StateInactive || e.Credential == triage.StateExpired:
				r.Resolved = true
			}
			out = append(out, r)
		}
		return out, nil
	}
	return nil, nil
}
