// Package awsops holds what every bks account operation shares: loading
// AWS configuration and credentials the way the AWS CLI does (--profile,
// --region, --endpoint-url, then the standard chain), the caller's identity
// (sts:GetCallerIdentity, always the first call), a self-imposed request
// rate, and the classification of AWS errors.
//
// Everything in bks that talks to AWS lives under this directory. The
// operations are subpackages, each behind the small client interface it
// uses: iamscan (find and enrich Bedrock credentials and phantom users,
// classify them), cleanup (delete ORPHANED phantom users), org (AWS
// Organizations fan-out through AssumeRole), audit (the JSON Lines log of
// every write call), revoke (cut a leaked key off), timeline (its
// CloudTrail events), incident (the incident report), verify (the live
// check against Bedrock), scp (service control policies to prevent leaks)
// and respond (triage's actions, carried out with the packages above).
package awsops

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// ErrNoCredentials is returned when no AWS credentials could be found or
// loaded. Callers print a one-line explanation and exit 2.
var ErrNoCredentials = errors.New("no AWS credentials found")

// Settings are the AWS CLI-style choices a user makes on the command line.
type Settings struct {
	Profile     string // --profile (else AWS_PROFILE / default)
	Region      string // --region (else AWS_REGION / profile; us-east-1 when none)
	EndpointURL string // --endpoint-url: one endpoint for every service
	// MaxAttempts per call, retries included (default 8). Throttling and
	// 5xx replies are retried with the SDK's jittered backoff.
	MaxAttempts int
	// Rate is the self-imposed limit in requests per second per account
	// (default DefaultRate; negative = no limit).
	Rate float64
	// LoadOptions are applied last, after the ones above: a caller that
	// must not depend on the machine's AWS settings (the demo, against its
	// emulator) sets credentials, region and files here instead of in the
	// process environment.
	LoadOptions []func(*config.LoadOptions) error
	// Notify, when set, is told each time a call is retried after a
	// connection error: what bks is waiting for ("" never).
	Notify func(msg string)
}

// DefaultRate keeps well below IAM's per-account request quotas.
const DefaultRate = 20

// DefaultMaxAttempts is enough to ride out a few throttles in a row.
const DefaultMaxAttempts = 8

// DialAttempts caps the attempts of a call whose connection fails.
const DialAttempts = 3

// LoadConfig builds the aws.Config for settings from the standard chain
// (environment, shared config and credentials files, SSO, web identity,
// container and instance roles) and checks that credentials resolve:
// without them it returns an error wrapping ErrNoCredentials.
func LoadConfig(ctx context.Context, s Settings) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if s.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(s.Profile))
	}
	if s.Region != "" {
		opts = append(opts, config.WithRegion(s.Region))
	}
	if s.EndpointURL != "" {
		opts = append(opts, config.WithBaseEndpoint(s.EndpointURL))
	}
	attempts := s.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	opts = append(opts, config.WithRetryer(func() aws.Retryer {
		return &dialRetryer{RetryerV2: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			// bks paces itself (Rate); the SDK's retry quota would turn a
			// burst of throttles into hard failures across the whole scan.
			o.RateLimiter = ratelimit.None
		}), notify: s.Notify}
	}))
	opts = append(opts, s.LoadOptions...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		var pe config.SharedConfigProfileNotExistError
		if errors.As(err, &pe) {
			return aws.Config{}, fmt.Errorf("load AWS config: profile %q not found: %w", pe.Profile, ErrNoCredentials)
		}
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	cfg.HTTPClient = shield(cfg.HTTPClient)
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Credentials == nil {
		return aws.Config{}, ErrNoCredentials
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return aws.Config{}, ctx.Err()
		}
		return aws.Config{}, fmt.Errorf("%w (%s)", ErrNoCredentials, firstLine(err.Error()))
	}
	WithRateLimit(&cfg, s.Rate)
	return cfg, nil
}

// WithRateLimit makes every client built from cfg wait for its turn at
// rate requests per second (DefaultRate when 0, unlimited when negative).
// Each call gives cfg a limiter of its own, replacing any it had: give
// each account's config one (AWS quotas are per account).
func WithRateLimit(cfg *aws.Config, rate float64) {
	if rate == 0 {
		rate = DefaultRate
	}
	if rate < 0 {
		return
	}
	l := NewLimiter(rate, max(1, int(rate/2)))
	cfg.APIOptions = append(append([]func(*middlewareStack) error(nil), cfg.APIOptions...), l.middleware)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Identity is who the credentials belong to.
type Identity struct {
	Account   string `json:"account"`
	ARN       string `json:"arn"`
	UserID    string `json:"user_id"`
	Partition string `json:"partition"`
}

// STSAPI is the part of the STS client WhoAmI uses.
type STSAPI interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// WhoAmI calls sts:GetCallerIdentity.
func WhoAmI(ctx context.Context, api STSAPI) (Identity, error) {
	out, err := api.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Identity{}, fmt.Errorf("sts:GetCallerIdentity: %w", err)
	}
	id := Identity{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn), UserID: aws.ToString(out.UserId)}
	id.Partition = PartitionOf(id.ARN)
	return id, nil
}

// PartitionOf returns the partition of an ARN ("aws" when it has none).
func PartitionOf(arn string) string {
	f := strings.SplitN(arn, ":", 3)
	if len(f) >= 2 && f[0] == "arn" && f[1] != "" {
		return f[1]
	}
	return "aws"
}

// UserARN builds a partition-aware IAM user ARN.
func UserARN(partition, account, path, name string) string {
	if path == "" {
		path = "/"
	}
	return fmt.Sprintf("arn:%s:iam::%s:user%s%s", partition, account, path, name)
}

// RoleARN builds a partition-aware IAM role ARN.
func RoleARN(partition, account, name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, account, name)
}
