package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/pflag"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/awsops/iamscan"
	"github.com/bks-dev/bks/awsops/org"
)

// awsFlags are the AWS CLI-style flags every account command takes.
type awsFlags struct {
	Profile     string
	Region      string
	EndpointURL string
	Rate        float64
	MaxAttempts int
}

func addAWSFlags(fs *pflag.FlagSet, f *awsFlags) {
	fs.StringVar(&f.Profile, "profile", "", "AWS profile from the shared config files (else AWS_PROFILE, then the default chain)")
	fs.StringVar(&f.Region, "region", "", "AWS region for regional calls (else AWS_REGION or the profile's; us-east-1 when none)")
	fs.StringVar(&f.EndpointURL, "endpoint-url", "", "send every AWS call to this endpoint (as the AWS CLI does), e.g. a test emulator")
	fs.Float64Var(&f.Rate, "rate", awsops.DefaultRate, "AWS requests per second per account, retries included (negative: no limit)")
	fs.IntVar(&f.MaxAttempts, "max-attempts", awsops.DefaultMaxAttempts, "attempts per AWS call; throttling and 5xx are retried with backoff")
}

// noCredentialsHelp is the one line printed when no credentials resolve.
const noCredentialsHelp = "no AWS credentials found: set AWS_PROFILE or pass --profile, export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`"

// load resolves configuration and credentials, then asks STS who we are
// (always the first call).
func (f *awsFlags) load(ctx context.Context) (aws.Config, awsops.Identity, error) {
	cfg, err := awsops.LoadConfig(ctx, awsops.Settings{Profile: f.Profile, Region: f.Region, EndpointURL: f.EndpointURL, MaxAttempts: f.MaxAttempts, Rate: f.Rate})
	if errors.Is(err, awsops.ErrNoCredentials) {
		return aws.Config{}, awsops.Identity{}, &ExitError{Code: ExitFailure, Err: errors.New(noCredentialsHelp)}
	}
	if err != nil {
		return aws.Config{}, awsops.Identity{}, &ExitError{Code: ExitFailure, Err: err}
	}
	id, err := awsops.WhoAmI(ctx, sts.NewFromConfig(cfg))
	if err != nil {
		if c := awsops.ErrorCode(err); c == "InvalidClientTokenId" || c == "ExpiredToken" || c == "SignatureDoesNotMatch" {
			return aws.Config{}, awsops.Identity{}, &ExitError{Code: ExitFailure, Err: fmt.Errorf("AWS credentials were refused (%s): refresh them or pick another --profile", c)}
		}
		return aws.Config{}, awsops.Identity{}, &ExitError{Code: ExitFailure, Err: err}
	}
	return cfg, id, nil
}

// orgFlags select an organization-wide run.
type orgFlags struct {
	Org      bool
	Role     string
	Accounts []string
	Skip     []string
	Parallel int
}

func addOrgFlags(fs *pflag.FlagSet, f *orgFlags) {
	fs.BoolVar(&f.Org, "org", false, "act on every ACTIVE account of the AWS Organization (run from the management or a delegated admin account)")
	fs.StringVar(&f.Role, "org-role", org.DefaultRole, "role to assume in member accounts")
	fs.StringSliceVar(&f.Accounts, "org-accounts", nil, "only these account ids (comma-separated)")
	fs.StringSliceVar(&f.Skip, "org-skip", nil, "skip these account ids (comma-separated)")
	fs.IntVar(&f.Parallel, "org-parallel", 4, "accounts processed at once")
}

func (f *orgFlags) validate() error {
	for _, id := range append(append([]string(nil), f.Accounts...), f.Skip...) {
		if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
			return fmt.Errorf("--org-accounts/--org-skip: %q is not a 12-digit account id", id)
		}
	}
	if !f.Org && (len(f.Accounts) > 0 || len(f.Skip) > 0) {
		return errors.New("--org-accounts and --org-skip need --org")
	}
	return nil
}

// policyFlags are the thresholds of what is over policy.
type policyFlags struct {
	MaxKeyAgeDays int
	DormantDays   int
	Concurrency   int
}

func addPolicyFlags(fs *pflag.FlagSet, f *policyFlags) {
	fs.IntVar(&f.MaxKeyAgeDays, "max-key-age", 90, "days after which an active Bedrock key is over policy")
	fs.IntVar(&f.DormantDays, "dormant-after", 90, "days after which an unused console password counts as a dormant leftover, not a live credential")
	fs.IntVar(&f.Concurrency, "concurrency", 8, "users read at once per account")
}

func (f *policyFlags) policy() iamscan.Policy {
	return iamscan.Policy{MaxKeyAge: days(f.MaxKeyAgeDays), DormantAfter: days(f.DormantDays)}
}
