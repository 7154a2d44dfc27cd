// Package eventbridge writes the AWS side of `bks serve`'s second input
// (`bks serve eventbridge`): the EventBridge rules that send the IAM key
// events and the Bedrock calls of an account to POST /events/aws, the
// connection whose "API key" authorization carries the shared secret in a
// header, the API destination, and the IAM role EventBridge assumes to
// invoke it; as Terraform or as a CloudFormation template (JSON).
//
// The secret is never in the output: it is a sensitive Terraform variable
// or a NoEcho CloudFormation parameter.
//
// IAM is a global service whose CloudTrail events reach EventBridge in
// us-east-1 only; Bedrock calls reach it in the region of the call. Deploy
// the stack in us-east-1, and in every other region where Bedrock is used
// (the keys rule matches nothing there).
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event.html,
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html.
package eventbridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/bks-dev/bks/awsops/kpi"
	"github.com/bks-dev/bks/serve"
)

// Options name the endpoint and the header of the secret.
type Options struct {
	// URL is bks serve's https://…/events/aws, as EventBridge reaches it.
	URL string
	// Header is the secret's header name (serve.DefaultEventsHeader).
	Header string
}

func (o Options) check() (Options, error) {
	if o.Header == "" {
		o.Header = serve.DefaultEventsHeader
	}
	if !httpToken(o.Header) {
		return o, fmt.Errorf("eventbridge: header %q: want a header name (letters, digits, '-')", o.Header)
	}
	u, err := url.Parse(o.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		// API destinations call HTTPS endpoints only.
		return o, errors.New("eventbridge: --url must be the https:// URL of bks serve's /events/aws, without credentials")
	}
	return o, nil
}

func httpToken(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Rule is one EventBridge rule of the stack.
type Rule struct {
	Name        string // the resource's logical name (bks_keys, bks_bedrock_calls)
	Description string
	Pattern     map[string]any
	// State is ENABLED, or ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS
	// for read-only management events such as most Bedrock calls
	// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail-management.html).
	State string
}

// Rules are the two rules: the key inventory's IAM events, and every
// Bedrock call (bedrock-runtime and Mantle) for the share of role calls.
func Rules() []Rule {
	return []Rule{
		{
			Name:        "keys",
			Description: "bks serve: Bedrock API keys and access keys of BedrockAPIKey-* users created, changed or deleted (IAM events arrive in us-east-1)",
			Pattern: map[string]any{
				"source":      []string{"aws.iam"},
				"detail-type": []string{serve.CloudTrailDetailType},
				"detail": map[string]any{
					"eventSource": []string{"iam.amazonaws.com"},
					"eventName":   serve.KeyEventNames(),
				},
			},
			State: "ENABLED",
		},
		{
			Name:        "bedrock_calls",
			Description: "bks serve: Bedrock calls, to measure the share made with IAM roles rather than API keys",
			Pattern: map[string]any{
				"detail-type": []string{serve.CloudTrailDetailType},
				"detail":      map[string]any{"eventSource": kpi.BedrockSources},
			},
			State: "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
		},
	}
}

// Retry policy of the targets: EventBridge's maximum, 24 hours and 185
// attempts, so that a service down for a while loses nothing
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html).
const (
	maxEventAge = 86400
	maxRetries  = 185
)

// Render returns the stack in format: "terraform" or "cloudformation".
func Render(format string, o Options) ([]byte, error) {
	o, err := o.check()
	if err != nil {
		return nil, err
	}
	switch format {
	case "terraform":
		return terraform(o)
	case "cloudformation":
		return cloudFormation(o)
	}
	return nil, fmt.Errorf("eventbridge: format %q: want terraform or cloudformation", format)
}

// patternJSON is a rule's pattern as indented JSON (also valid HCL).
func patternJSON(p map[string]any, indent string) string {
	b, err := json.MarshalIndent(p, indent, "  ")
	if err != nil {
		panic(err) // maps of strings and lists: cannot fail
	}
	return string(b)
}
