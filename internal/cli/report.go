package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/costexplorer"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/awsops/incident"
	"github.com/bks-dev/bks/awsops/timeline"
)

type reportOptions struct {
	AWS       awsFlags
	Target    string
	Format    string
	Output    string
	Regions   []string
	Days      int
	MaxEvents int
	NoCost    bool
}

func newCmdReport(io *IO) *cobra.Command {
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
			return reportRun(cmd.Context(), io, opts)
		},
	}
	addAWSFlags(cmd.Flags(), &opts.AWS)
	f := cmd.Flags()
	f.StringVar(&opts.Format, "format", incident.FormatText, "text, markdown or json")
	f.StringVarP(&opts.Output, "output", "o", "", "write the report to this file (mode 0600) instead of standard output")
	f.StringSliceVar(&opts.Regions, "regions", nil, "regions to search CloudTrail (default: the partition's standard regions)")
	f.IntVar(&opts.Days, "days", timeline.MaxDays, "days back (at most 90)")
	f.IntVar(&opts.MaxEvents, "max-events", 5000, "CloudTrail events read at most")
	f.BoolVar(&opts.NoCost, "no-cost", false, "do not query Cost Explorer")
	return cmd
}

func reportRun(ctx context.Context, sio *IO, opts *reportOptions) error {
	fail := func(err error) error { return &ExitError{Code: ExitFailure, Err: err} }
	switch opts.Format {
	case incident.FormatText, incident.FormatMarkdown, incident.FormatJSON:
	default:
		return fail(fmt.Errorf("report: --format %q: want text, markdown or json", opts.Format))
	}
	tg, err := readTarget(sio.In, opts.Target)
	if err != nil {
		return fail(err)
	}
	cfg, id, err := opts.AWS.load(ctx)
	if err != nil {
		return fail(err)
	}
	regions, note := regionsFor(opts.Regions, id.Partition)
	if note != "" {
		fmt.Fprintln(sio.Err, "note: "+note)
	}
	deps := incident.Deps{IAM: iam.NewFromConfig(cfg), CloudTrail: cloudTrailClients(cfg)}
	ro := incident.Options{Account: id.Account, Partition: id.Partition, Regions: regions, Days: opts.Days, MaxEvents: opts.MaxEvents}
	switch {
	case opts.NoCost:
		ro.NoCostReason = "not queried (--no-cost)"
	case id.Partition == "aws":
		deps.Cost = costexplorer.NewFromConfig(cfg, func(o *costexplorer.Options) { o.Region = "us-east-1" })
	case id.Partition == "aws-cn":
		deps.Cost = costexplorer.NewFromConfig(cfg, func(o *costexplorer.Options) { o.Region = "cn-northwest-1" })
	default:
		ro.NoCostReason = "Cost Explorer is not available in the " + id.Partition + " partition: read the cost from the commercial payer account"
	}
	rep, err := incident.Build(ctx, deps, tg, ro)
	if err != nil {
		return fail(err)
	}
	if opts.Output == "" {
		return rep.Write(sio.Out, opts.Format)
	}
	f, err := os.OpenFile(opts.Output, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fail(fmt.Errorf("report: %w", err))
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fail(fmt.Errorf("report: %w", err))
	}
	if err := rep.Write(f, opts.Format); err != nil {
		f.Close()
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(fmt.Errorf("report: %w", err))
	}
	fmt.Fprintf(sio.Err, "report written to %s (risk %s)\n", opts.Output, rep.Risk.Level)
	return nil
}
