package cli

import (
	"bytes"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/serve"
	"github.com/bks-dev/bks/serve/eventbridge"
)

// minEventsSecret is the shortest secret --events-secret-file accepts:
// the endpoint's only protection, it must not be guessable.
const minEventsSecret = 16

// readEventsSecret reads the shared secret of /events/aws from path (one
// line; surrounding white space, a trailing newline, is not part of it).
func readEventsSecret(path string) ([]byte, error) {
	b, err := serve.ReadPrivateFile("--events-secret-file", path)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSpace(b)
	if len(b) < minEventsSecret || bytes.ContainsAny(b, "\r\n") {
		return nil, fmt.Errorf("--events-secret-file %s: want one line of %d characters or more (e.g. openssl rand -hex 32)", path, minEventsSecret)
	}
	return b, nil
}

func newCmdServeEventBridge(f *cmdutil.Factory) *cobra.Command {
	var format, url, header string
	cmd := &cobra.Command{
		Use:   "eventbridge --url URL [--format terraform|cloudformation]",
		Short: "Print the EventBridge rules, connection, API destination and role that feed POST /events/aws",
		Long: `Print, as Terraform or as a CloudFormation template (JSON), what sends an
account's CloudTrail events to bks serve: a rule for the IAM events of
Bedrock API keys and of access keys of BedrockAPIKey-* users (the key
inventory), a rule for Bedrock calls (the share made with roles rather than
API keys), a connection whose API-key authorization sends the shared secret
in --events-header, the API destination --url, and the role EventBridge
assumes to invoke it. The secret is not in the output: it is the variable
bks_events_secret (Terraform) or the parameter EventsSecret
(CloudFormation); give it the content of bks serve's --events-secret-file.

IAM events reach EventBridge in us-east-1 only: deploy there, and in every
other region where Bedrock is used (docs/SERVE.md).`,
		Example: `  bks serve eventbridge --url https://bks.example.com/events/aws > bks-eventbridge.tf
  bks serve eventbridge --format cloudformation --url https://bks.example.com/events/aws > bks.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := eventbridge.Render(format, eventbridge.Options{URL: url, Header: header})
			if err != nil {
				return err
			}
			_, err = f.IO.Out.Write(b)
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "terraform", "terraform or cloudformation")
	cmd.Flags().StringVar(&url, "url", "", "bks serve's https URL of /events/aws, as EventBridge reaches it (required)")
	cmd.Flags().StringVar(&header, "events-header", serve.DefaultEventsHeader, "the header that carries the secret (bks serve's --events-header)")
	return cmd
}
