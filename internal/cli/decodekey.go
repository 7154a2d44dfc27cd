package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
)

type decodeKeyOptions struct {
	Key       string
	JSON      bool
	Now       string
	Partition string
}

func newCmdDecodeKey(f *cmdutil.Factory) *cobra.Command {
	opts := &decodeKeyOptions{}
	cmd := &cobra.Command{
		Use:   "decode-key KEY",
		Short: "Decode a Bedrock API key offline (account, user, region, expiry)",
		Long: `Decode a Bedrock or Claude Platform on AWS API key offline: no call to AWS.

Surrounding white space, quotes, "Bearer ", "Authorization:" and NAME=
assignments are trimmed; "-" reads the key from standard input. The secret
part is never printed. A malformed key exits 2 with what is broken.`,
		Example: `  bks decode-key ABSKQmVkcm9ja0FQSUtleS1...
  bks decode-key --json "$AWS_BEARER_TOKEN_BEDROCK"
  pbpaste | bks decode-key -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Key = args[0]
			return decodeKeyRun(f.IO, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the decoded fields as JSON")
	cmd.Flags().StringVar(&opts.Now, "now", "", "evaluate expiry against this time (RFC 3339) instead of the clock")
	cmd.Flags().StringVar(&opts.Partition, "partition", "aws", "partition assumed for long-term keys, which carry none (aws, aws-us-gov, aws-cn)")
	return cmd
}

// parseNow parses a --now flag: "" is the clock (the zero time).
func parseNow(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil { // time's error shows its layout string, not a format a user writes
		return time.Time{}, fmt.Errorf("--now %q: not a time; give RFC 3339, e.g. 2026-01-31T12:00:00Z or 2026-01-31T13:00:00+01:00", s)
	}
	return t.UTC(), nil
}

func decodeKeyRun(sio *IO, opts *decodeKeyOptions) error {
	now, err := parseNow(opts.Now)
	if err != nil {
		return err
	}
	raw := opts.Key
	if raw == "-" {
		b, err := io.ReadAll(io.LimitReader(sio.In, 1<<20))
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		raw = string(b)
	}
	key := detectors.Trim(raw)
	k, err := detectors.Decode(key, detectors.DecodeOptions{Now: now, Partition: opts.Partition})
	if err != nil {
		return fmt.Errorf("malformed key: %w", err)
	}
	if opts.JSON {
		enc := json.NewEncoder(sio.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(k)
	}
	writeKeyText(sio.Out, k)
	return nil
}

// writeKeyText prints a decoded key as aligned "field: value" lines.
func writeKeyText(w io.Writer, k detectors.Key) {
	var rows [][2]string
	add := func(name, v string) {
		if v != "" {
			rows = append(rows, [2]string{name, v})
		}
	}
	add("type", k.Type)
	add("service", k.Service)
	add("partial", k.PartialReason)
	add("account_id", orUnknown(k.AccountID, "unknown (old-style access key id)", k.Type == detectors.TypeShortTerm))
	add("username", k.Username)
	add("user_arn", k.UserARN)
	add("partition", k.Partition)
	add("key_position", k.KeyPosition)
	if k.Marker != "" {
		add("marker", k.Marker)
	}
	add("access_key_id", k.AccessKeyID)
	add("region", k.Region)
	if k.IssuedAt != nil {
		add("issued_at", k.IssuedAt.Format(time.RFC3339))
	}
	if k.ExpiresAt != nil {
		add("expires_at", k.ExpiresAt.Format(time.RFC3339))
	} else if k.Type == detectors.TypeLongTerm {
		add("expires_at", "not in the key (long-term keys live until revoked or their IAM expiry)")
	}
	if k.Expired != nil {
		state := "no"
		if *k.Expired {
			state = "yes"
		} else if k.ExpiresInSeconds != nil {
			state = fmt.Sprintf("no (%s left)", time.Duration(*k.ExpiresInSeconds)*time.Second)
		}
		add("expired", state)
	}
	add("time_error", k.TimeError)
	if k.HasSessionToken != nil {
		add("has_session_token", fmt.Sprint(*k.HasSessionToken))
	}
	add("secret_length", fmt.Sprint(k.SecretLength))
	add("secret_sha256", k.SecretSHA256)
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%-*s  %s\n", width+1, r[0]+":", r[1])
	}
}

func orUnknown(v, unknown string, applies bool) string {
	if v == "" && applies {
		return unknown
	}
	return v
}
