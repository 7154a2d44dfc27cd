package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/awsops/revoke"
	"github.com/bks-dev/bks/awsops/timeline"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
)

type timelineOptions struct {
	AWS       cmdutil.AWSFlags
	Target    string
	Regions   []string
	Days      int
	MaxEvents int
	JSON      bool
}

func newCmdTimeline(f *cmdutil.Factory) *cobra.Command {
	opts := &timelineOptions{}
	cmd := &cobra.Command{
		Use:   "timeline USER|KEY",
		Short: "What a user or a leaked key did, from CloudTrail (all regions)",
		Long: `Read CloudTrail's 90-day event history (it exists in every region, with or
without a trail) for an IAM user (a user name or long-term key: lookup by
Username) or a short-term key (lookup by its AccessKeyId), in every region,
page by page, at no more than 2 calls per second per region.

Prints the events in time order (time, region, event, source, IP, user
agent, error; calls made with a Bedrock API key are marked, model
invocations stand out) and a summary: first and last seen, regions,
source IPs, counts by event. Exit 2 when a region could not be read.`,
		Example: `  bks timeline BedrockAPIKey-x7k2
  bks timeline --regions us-east-1,eu-west-1 --days 30 --json - < key.txt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Target = args[0]
			return timelineRun(cmd.Context(), f, opts)
		},
	}
	opts.AWS.Register(cmd.Flags())
	cmd.Flags().StringSliceVar(&opts.Regions, "regions", nil, "regions to search (default: the partition's standard regions)")
	cmd.Flags().IntVar(&opts.Days, "days", timeline.MaxDays, "days back (at most 90: CloudTrail's event history)")
	cmd.Flags().IntVar(&opts.MaxEvents, "max-events", 5000, "stop after this many events, newest first (0: no limit)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the timeline as JSON")
	return cmd
}

// readTarget reads a USER|KEY argument ("-" = standard input).
func readTarget(in io.Reader, arg string) (revoke.Target, error) {
	if arg == "-" {
		b, err := io.ReadAll(io.LimitReader(in, 1<<20))
		if err != nil {
			return revoke.Target{}, fmt.Errorf("read stdin: %w", err)
		}
		arg = strings.TrimSpace(string(b))
	}
	return revoke.ParseTarget(arg, "")
}

// regionsFor returns the regions to search and a note when the user gave
// none: those enabled in the account (account:ListRegions) when it may be
// read, else the partition's default regions. A short-term key's own
// region comes first (keyRegion, "" for other targets), added when the
// list leaves it out, as triage does.
func regionsFor(ctx context.Context, acct *cmdutil.AWSAccount, given []string, keyRegion string) ([]string, string) {
	if len(given) > 0 {
		return awsops.RegionFirst(keyRegion, given), ""
	}
	partition := acct.Caller.Partition
	if rs, err := awsops.EnabledRegions(ctx, acct.AccountManagement()); err == nil && len(rs) > 0 {
		return awsops.RegionFirst(keyRegion, rs), fmt.Sprintf("searching the %d regions enabled in the account (account:ListRegions)", len(rs))
	} else if ctx.Err() != nil {
		return nil, ""
	}
	rs := revoke.DefaultRegions(partition)
	return awsops.RegionFirst(keyRegion, rs), fmt.Sprintf("searching the %d regions enabled by default in %s (account:ListRegions was not allowed); add opt-in regions with --regions", len(rs), partition)
}

// cloudTrailClients adapts the account's CloudTrail clients to timeline's
// interface.
func cloudTrailClients(a *cmdutil.AWSAccount) func(string) timeline.CloudTrailAPI {
	return func(region string) timeline.CloudTrailAPI { return a.CloudTrail(region) }
}

func timelineRun(ctx context.Context, f *cmdutil.Factory, opts *timelineOptions) error {
	sio := f.IO
	tg, err := readTarget(sio.In, opts.Target)
	if err != nil {
		return err
	}
	if opts.MaxEvents < 0 {
		return errors.New("timeline: --max-events must be 0 or more")
	}
	acct, err := f.AWS(ctx, &opts.AWS)
	if err != nil {
		return err
	}
	id := acct.Caller
	if tg.Account != "" && tg.Account != id.Account {
		fmt.Fprintf(sio.Err, "warning: the key is from account %s; these credentials read account %s's CloudTrail\n", tg.Account, id.Account)
	}
	regions, note := regionsFor(ctx, acct, opts.Regions, tg.Region)
	if note != "" && !opts.JSON {
		fmt.Fprintln(sio.Err, "note: "+note)
	}
	to := timeline.Options{Regions: regions, Days: opts.Days, MaxEvents: opts.MaxEvents}
	if tg.Kind == revoke.KindShortTerm {
		to.AccessKeyID = tg.AccessKeyID
	} else {
		to.Username = tg.UserName
	}
	res, err := timeline.Lookup(ctx, cloudTrailClients(acct), to)
	if err != nil && res == nil {
		return err
	}
	if opts.JSON {
		writeJSON(sio.Out, res)
	} else {
		res.WriteText(sio.Out)
	}
	if err != nil {
		return err
	}
	if len(res.Failed) > 0 {
		return fmt.Errorf("timeline: %d region(s) could not be read: the timeline is incomplete", len(res.Failed))
	}
	return nil
}
