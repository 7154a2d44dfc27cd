package cmdutil

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/account"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/costexplorer"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	gh "github.com/google/go-github/v62/github"
	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/awsops/verify"
	"github.com/bks-dev/bks/internal/termsafe"
	ghsrc "github.com/bks-dev/bks/sources/github"
	glsrc "github.com/bks-dev/bks/sources/gitlab"
	hfsrc "github.com/bks-dev/bks/sources/huggingface"
)

// Factory builds what commands reach outside the process with: AWS
// configurations and clients, the GitHub, GitLab and Hugging Face Hub API
// clients and the Bedrock live
// checker. Commands receive one and never build these inline. The
// function fields are filled in by New; a test swaps one for a fake.
type Factory struct {
	IO *IO
	// AWSLoadOptions are applied last to every AWS configuration load,
	// triage's per-account ones included: `bks demo` points the SDK at its
	// emulator with them instead of changing the process environment.
	AWSLoadOptions []func(*config.LoadOptions) error

	// AWS resolves the configuration and credentials the flags select and
	// asks STS who the caller is (always the first call).
	AWS func(ctx context.Context, fl *AWSFlags) (*AWSAccount, error)
	// GitHub returns the API client and the token it authenticates with
	// (clones use it too). apiURL and token, when "", come from
	// GITHUB_API_URL and GITHUB_TOKEN, then GH_TOKEN.
	GitHub func(apiURL, token string) (*gh.Client, string, error)
	// GitLab returns the API client and the token it authenticates with
	// (clones use it too); token, when "", comes from GITLAB_TOKEN. log
	// receives rate-limit waits.
	GitLab func(apiURL, token string, log func(string)) (*gl.Client, string, error)
	// HuggingFace returns the Hub client; token, when "", comes from
	// HF_TOKEN, apiURL from HF_ENDPOINT.
	HuggingFace func(apiURL, token string) (*hfsrc.Client, error)
	// Verifier returns a live checker of Bedrock keys. AWS_CA_BUNDLE, when
	// set, is trusted in addition to the system roots (it changes whom bks
	// trusts, never where a key goes).
	Verifier func(o verify.Options) (*verify.Checker, error)
}

// New returns the factory of the real thing: the AWS SDK's standard chain
// (plus awsLoadOptions), GitHub, Bedrock, with io's environment. Its
// IO.Err escapes control characters (termsafe.Writer): no warning or error
// can print a file name, commit message or rule output raw to a terminal.
func New(io *IO, awsLoadOptions ...func(*config.LoadOptions) error) *Factory {
	safe := *io
	safe.Err = termsafe.Writer(io.Err)
	f := &Factory{IO: &safe, AWSLoadOptions: awsLoadOptions}
	f.AWS = f.loadAWS
	f.GitHub = f.gitHub
	f.GitLab = f.gitLab
	f.HuggingFace = f.huggingFace
	f.Verifier = f.verifier
	return f
}

// AWSSettings are the settings the flags choose, for AWS operations that
// load configurations themselves (triage, one per account).
func (f *Factory) AWSSettings(fl *AWSFlags) awsops.Settings {
	return awsops.Settings{Profile: fl.Profile, Region: fl.Region, EndpointURL: fl.EndpointURL, MaxAttempts: fl.MaxAttempts, Rate: fl.Rate, LoadOptions: f.AWSLoadOptions,
		Notify: func(msg string) { fmt.Fprintf(f.IO.Err, "bks: %s\n", msg) }}
}

// noCredentialsHelp is the one line printed when no credentials resolve.
const noCredentialsHelp = "no AWS credentials found: set AWS_PROFILE or pass --profile, export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`"

func (f *Factory) loadAWS(ctx context.Context, fl *AWSFlags) (*AWSAccount, error) {
	cfg, err := awsops.LoadConfig(ctx, f.AWSSettings(fl))
	if errors.Is(err, awsops.ErrNoCredentials) {
		return nil, errors.New(noCredentialsHelp)
	}
	if err != nil {
		return nil, err
	}
	id, err := awsops.WhoAmI(ctx, sts.NewFromConfig(cfg))
	if err != nil {
		if awsops.RefusedCredentials(err) {
			return nil, refusedCredentials(ctx, cfg, fl, awsops.ErrorCode(err))
		}
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" && ctx.Err() == nil {
			return nil, fmt.Errorf("cannot reach AWS (%v): check --endpoint-url, AWS_ENDPOINT_URL and the network", oe)
		}
		return nil, err
	}
	return &AWSAccount{Config: cfg, Caller: id}, nil
}

// refusedCredentials explains credentials STS refused: when no region was
// named and they belong to another partition (GovCloud, China), which
// region to name; else to refresh them.
func refusedCredentials(ctx context.Context, cfg aws.Config, fl *AWSFlags, code string) error {
	if fl.Region == "" {
		if region, id, ok := awsops.FindPartition(ctx, cfg); ok {
			return fmt.Errorf("AWS credentials were refused in %s (%s): they are credentials of the %s partition, which work only there: pass --region %s (or set the profile's region)", cfg.Region, code, id.Partition, region)
		}
	}
	return fmt.Errorf("AWS credentials were refused in %s (%s): refresh them or pick another --profile (GovCloud and China credentials need --region of their partition)", cfg.Region, code)
}

func (f *Factory) gitHub(apiURL, token string) (*gh.Client, string, error) {
	token = firstSet(token, f.IO.Env("GITHUB_TOKEN"), f.IO.Env("GH_TOKEN"))
	apiURL = firstSet(apiURL, f.IO.Env("GITHUB_API_URL"))
	c, err := ghsrc.NewClient(apiURL, token, nil)
	return c, token, err
}

func (f *Factory) gitLab(apiURL, token string, log func(string)) (*gl.Client, string, error) {
	token = firstSet(token, f.IO.Env("GITLAB_TOKEN"))
	c, err := glsrc.NewClient(glsrc.ClientOptions{APIURL: apiURL, Token: token, Log: log})
	return c, token, err
}

func (f *Factory) huggingFace(apiURL, token string) (*hfsrc.Client, error) {
	return hfsrc.NewClient(firstSet(apiURL, f.IO.Env("HF_ENDPOINT")), firstSet(token, f.IO.Env("HF_TOKEN")), nil)
}

func firstSet(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func (f *Factory) verifier(o verify.Options) (*verify.Checker, error) {
	if bundle := f.IO.Env("AWS_CA_BUNDLE"); bundle != "" {
		pem, err := os.ReadFile(bundle)
		if err != nil {
			return nil, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("AWS_CA_BUNDLE %s: no certificate in it", bundle)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		o.HTTPClient = &http.Client{Transport: tr, Timeout: o.Timeout}
	}
	return verify.New(o)
}

// AWSAccount is one account's configuration and the caller's identity in
// it. It builds the service clients commands use.
type AWSAccount struct {
	Config aws.Config
	Caller awsops.Identity
}

// IAM is the account's IAM client.
func (a AWSAccount) IAM() *iam.Client { return iam.NewFromConfig(a.Config) }

// Organizations is the account's AWS Organizations client.
func (a AWSAccount) Organizations() *organizations.Client {
	return organizations.NewFromConfig(a.Config)
}

// AccountManagement is the account's AWS Account Management client
// (account:ListRegions).
func (a AWSAccount) AccountManagement() *account.Client { return account.NewFromConfig(a.Config) }

// CloudTrail is the account's CloudTrail client in region (CloudTrail's
// event history is regional).
func (a AWSAccount) CloudTrail(region string) *cloudtrail.Client {
	return cloudtrail.NewFromConfig(a.Config, func(o *cloudtrail.Options) { o.Region = region })
}

// CostExplorer is the account's Cost Explorer client in region (the
// partition's Cost Explorer region).
func (a AWSAccount) CostExplorer(region string) *costexplorer.Client {
	return costexplorer.NewFromConfig(a.Config, func(o *costexplorer.Options) { o.Region = region })
}
