package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/awsops/incident"
	"github.com/bks-dev/bks/awsops/timeline"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
)

type reportOptions struct {
	AWS       cmdutil.AWSFlags
	Target    string
	Format    string
	Output    string
	Regions   []string
	Days      int
	MaxEvents int
	NoCost    bool
}

func newCmdReport(f *cmdutil.Factory) *cobra.Command {
	opts := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report USER|KEY",
		Short: "Incident report for a leaked key or an IAM user",
		Long: `Write the incident report for a leaked Bedrock API key or an IAM user: the
user (created, path, ARN), its Bedrock credentials, access keys, console
password, MFA, groups and policies; the CloudTrail timeline summary; Bedrock
usage (invocations by model and region, daily Bedrock cost from Cost
Explorer when permitted); a risk assessment and the recommended actions in
order. A section that could not be read says why.

--output writes the report to a file readable only by you (mode 0600).`,
		Example: `  bks report BedrockAPIKey-x7k2
  bks report --format markdown --output incident.md - < key.txt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Target = args[0]
			return reportRun(cmd.Context(), f, opts)
		},
	}
	opts.AWS.Register(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&opts.Format, "format", incident.FormatText, "text, markdown or json")
	fs.StringVarP(&opts.Output, "output", "o", "", "write the report to this file (mode 0600) instead of standard output")
	fs.StringSliceVar(&opts.Regions, "regions", nil, "regions to search CloudTrail (default: the partition's standard regions)")
	fs.IntVar(&opts.Days, "days", timeline.MaxDays, "days back (at most 90)")
	fs.IntVar(&opts.MaxEvents, "max-events", 5000, "CloudTrail events read at most")
	fs.BoolVar(&opts.NoCost, "no-cost", false, "do not query Cost Explorer")
	return cmd
}

func reportRun(ctx context.Context, f *cmdutil.Factory, opts *reportOptions) error {
	sio := f.IO
	switch opts.Format {
	case incident.FormatText, incident.FormatMarkdown, incident.FormatJSON:
	default:
		return fmt.Errorf("report: --format %q: want text, markdown or json", opts.Format)
	}
	tg, err := readTarget(sio.In, opts.Target)
	if err != nil {
		return err
	}
	acct, err := f.AWS(ctx, &opts.AWS)
	if err != nil {
		return err
	}
	id := acct.Caller
	regions, note := regionsFor(ctx, acct, opts.Regions, tg.Region)
	if note != "" {
		fmt.Fprintln(sio.Err, "note: "+note)
	}
	deps := incident.Deps{IAM: acct.IAM(), CloudTrail: cloudTrailClients(acct)}
	ro := incident.Options{Account: id.Account, Partition: id.Partition, Regions: regions, Days: opts.Days, MaxEvents: opts.MaxEvents,
		RequireUser: tg.Key == ""} // a name given, not a key
	switch {
	case opts.NoCost:
		ro.NoCostReason = "not queried (--no-cost)"
	case id.Partition == "aws":
		deps.Cost = acct.CostExplorer("us-east-1")
	case id.Partition == "aws-cn":
		deps.Cost = acct.CostExplorer("cn-northwest-1")
	default:
		ro.NoCostReason = "Cost Explorer is not available in the " + id.Partition + " partition: read the cost from the commercial payer account"
	}
	rep, err := incident.Build(ctx, deps, tg, ro)
	if err != nil {
		return err
	}
	if opts.Output == "" {
		return rep.Write(sio.Out, opts.Format)
	}
	// Written beside the file and moved over it only when whole: a failed
	// write leaves the previous report, not a truncated one.
	fh, err := createReportFile(opts.Output, 0o600)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	werr := rep.Write(fh, opts.Format)
	dest, err := fh.finish(werr == nil)
	if werr != nil {
		return fmt.Errorf("report: %w (the partial report is in %s)", werr, dest)
	}
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	fmt.Fprintf(sio.Err, "report written to %s (risk %s)\n", opts.Output, rep.Risk.Level)
	return nil
}
