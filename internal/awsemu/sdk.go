package awsemu

import (
	"io"
	"net/http"
	"os"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// CallerAccessKeyID is the access key id AWSConfig signs with; unknown to
// the emulator, it acts as the seed's default caller.
const CallerAccessKeyID = "AKIAEMULATORCALLER01"

// AWSConfig returns an aws.Config built by hand (never from the machine's
// AWS_* environment) that reaches the plain endpoint: static credentials,
// BaseEndpoint, and a standard retryer with up to 8 attempts and no
// backoff delay, so tests of throttling run instantly.
func (s *Server) AWSConfig(region string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(CallerAccessKeyID, "emulator-secret", ""),
		BaseEndpoint: aws.String(s.URL),
		Retryer:      NoBackoffRetryer(8),
		HTTPClient:   HTTPClient(nil),
	}
}

// HTTPClient wraps base (the SDK's default client when nil) so request
// bodies reach net/http without WriteTo: smithy-go closes the body when
// the response headers arrive and its WriteTo then fails with io.EOF,
// which net/http takes for a write error when a fast loopback server has
// answered before its final read of the body — closing the connection
// under the response ("use of closed network connection").
func HTTPClient(base aws.HTTPClient) aws.HTTPClient {
	if base == nil {
		base = awshttp.NewBuildableClient()
	}
	return shield{base}
}

type shield struct{ inner aws.HTTPClient }

func (c shield) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = readOnly{r.Body}
	}
	return c.inner.Do(r)
}

type readOnly struct{ rc io.ReadCloser }

func (b readOnly) Read(p []byte) (int, error) { return b.rc.Read(p) }
func (b readOnly) Close() error               { return b.rc.Close() }

// NoBackoffRetryer is the SDK's standard retryer without delays or retry
// quota, for tests.
func NoBackoffRetryer(attempts int) func() aws.Retryer {
	return func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			o.RateLimiter = ratelimit.None
		})
	}
}

// BedrockConfig returns an aws.Config for bearer-token Bedrock calls to the
// TLS endpoint (the SDK's bearer signer refuses plain HTTP).
func (s *Server) BedrockConfig(region string) aws.Config {
	cfg := s.AWSConfig(region)
	cfg.BaseEndpoint = aws.String(s.TLSURL)
	cfg.HTTPClient = HTTPClient(s.TLSClient())
	return cfg
}

// IsolateEnv unsets the AWS_* variables of the machine (this one sets
// AWS_CA_BUNDLE; a developer's shell may set a profile or region) that
// would otherwise reach SDK clients built from the environment: tests
// call it from TestMain.
func IsolateEnv() {
	for _, k := range []string{"AWS_CA_BUNDLE", "AWS_BEARER_TOKEN_BEDROCK", "AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL"} {
		os.Unsetenv(k)
	}
}
