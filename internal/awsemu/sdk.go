package awsemu

import (
	"net/http"
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
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
		Retryer:      NoBackoffRetryer(8),
	}
}

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
	cfg.HTTPClient = s.TLSClient()
	return cfg
}
