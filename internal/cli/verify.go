package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/awsops/verify"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
)

type verifyOptions struct {
	Keys        []string
	Region      string
	EndpointURL string
	Timeout     time.Duration
	Concurrency int
	JSON        bool
	Now         string
}

func newCmdVerify(f *cmdutil.Factory) *cobra.Command {
	opts := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify KEY...",
		Short: "Check whether Bedrock API keys are live (calls AWS)",
		Long: `Check whether Bedrock API keys still work, by calling Bedrock's read-only,
free ListFoundationModels with each key as a bearer token.

This sends the key to AWS: a short-term key to the Bedrock endpoint of its
own region (bedrock.<region>.amazonaws.com), a long-term key to the Bedrock
endpoint of --region. Nowhere else, unless you name --endpoint-url
yourself. Expired short-term keys are reported without any call.

Statuses: live (works), live-denied (authenticated but a policy denies the
call: the key works with fewer rights, or is blocked by an explicit deny),
invalid (AWS rejected it), expired (offline), unknown (could not tell).

Exit codes: 0 no key is live, 1 a key is live or live-denied, 2 a check
could not tell (and none is live). "-" reads keys from standard input, one
per line.`,
		Example: `  bks verify "$AWS_BEARER_TOKEN_BEDROCK"
  bks verify --region us-gov-west-1 ABSK...
  bks detect --json . | jq -r .secret | bks verify -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Keys = args
			return verifyRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Region, "region", "", "region to check long-term keys in (default: us-east-1, then GovCloud's us-gov-west-1 when rejected; name it for China and other partitions; short-term keys always use their own)")
	cmd.Flags().StringVar(&opts.EndpointURL, "endpoint-url", "", "send checks to this https:// endpoint instead of AWS (tests, demos)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 10*time.Second, "time limit per key")
	cmdutil.CountVar(cmd.Flags(), &opts.Concurrency, "concurrency", 4, "keys checked at once")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print one JSON object per key")
	cmd.Flags().StringVar(&opts.Now, "now", "", "judge expiry against this time (RFC 3339) instead of the clock")
	return cmd
}

func verifyRun(ctx context.Context, f *cmdutil.Factory, opts *verifyOptions) error {
	sio := f.IO
	now, err := parseNow(opts.Now)
	if err != nil {
		return err
	}
	keys, err := readKeyArgs(sio.In, opts.Keys)
	if err != nil {
		return err
	}
	vo := verify.Options{LongTermRegion: opts.Region, EndpointURL: opts.EndpointURL, Timeout: opts.Timeout, Concurrency: opts.Concurrency}
	if !now.IsZero() {
		vo.Now = func() time.Time { return now }
	}
	c, err := f.Verifier(vo)
	if err != nil {
		return err
	}
	results := c.CheckAll(ctx, keys)
	if opts.JSON {
		enc := json.NewEncoder(sio.Out)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return fmt.Errorf("verify: write: %w", err)
			}
		}
	} else {
		writeVerifyText(sio.Out, results)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return verifyExit(results)
}

func verifyExit(results []verify.Result) error {
	unknown := false
	for _, r := range results {
		switch r.Status {
		case verify.Live, verify.LiveDenied:
			if !r.Dead() {
				return cmdutil.ErrFound
			}
		case verify.Unknown:
			unknown = true
		}
	}
	if unknown {
		return cmdutil.ErrFailed // the table says which
	}
	return nil
}

func writeVerifyText(w io.Writer, results []verify.Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tTYPE\tREGION\tSTATUS\tDETAIL")
	for _, r := range results {
		region := r.Region
		if region == "" {
			region = "-"
		}
		typ := r.Type
		if typ == "" {
			typ = "-"
		}
		detail := r.Reason
		if r.Principal != "" {
			detail += " (" + r.Principal + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Key, typ, region, r.Status, detail)
	}
	tw.Flush()
}

// readKeyArgs returns the keys named on the command line, reading "-" as
// one key per line of stdin.
func readKeyArgs(in io.Reader, args []string) ([]string, error) {
	var keys []string
	for _, a := range args {
		if a != "-" {
			keys = append(keys, a)
			continue
		}
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if s := strings.TrimSpace(sc.Text()); s != "" {
				keys = append(keys, s)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read keys from stdin: %w", err)
		}
	}
	return keys, nil
}
