package awsemu_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/smithy-go/auth/bearer"

	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

// listInRegion calls Bedrock's real endpoint for region, as the SDK
// resolves it, reaching the emulator through RegionalClient.
func listInRegion(s *awsemu.Server, region, token string) error {
	return listModels(aws.Config{Region: region, HTTPClient: s.RegionalClient(), Retryer: awsemu.NoBackoffRetryer(1)}, token)
}

// listModels calls ListFoundationModels with a bearer token.
func listModels(cfg aws.Config, token string) error {
	b := bedrock.NewFromConfig(cfg, func(o *bedrock.Options) {
		o.BearerAuthTokenProvider = bearer.StaticTokenProvider{Token: bearer.Token{Value: token}}
		o.AuthSchemePreference = []string{"httpBearerAuth"}
	})
	_, err := b.ListFoundationModels(context.Background(), &bedrock.ListFoundationModelsInput{})
	return err
}

// A short-term key works only in the region it was signed for, a
// long-term key only in its partition; elsewhere AWS answers
// "Authentication failed". The lenient emulator accepted both anywhere.
func TestBearerTokenRegionAndPartition(t *testing.T) {
	akia := testkeys.AccessKeyID("AKIA", acct, 31)
	long := testkeys.LongTerm("BedrockAPIKey-rg01", acct, testkeys.Secret(31))
	s := start(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: []*awsemu.User{
		{Name: "BedrockAPIKey-rg01", ServiceCredentials: []*awsemu.ServiceCred{{Secret: long}}},
		{Name: "dev", AccessKeys: []*awsemu.AccessKey{{ID: akia}}},
	}}}})
	short := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: akia, SecretKey: "x", Region: "eu-west-1", Issued: t0, Expires: 3600})
	for _, tc := range []struct {
		name, region, token string
		ok                  bool
	}{
		{"short-term in its region", "eu-west-1", short, true},
		{"short-term in another region", "us-east-1", short, false},
		{"long-term in its partition", "ap-northeast-1", long, true},
		{"long-term in GovCloud", "us-gov-west-1", long, false},
		{"long-term in China", "cn-north-1", long, false},
	} {
		err := listInRegion(s, tc.region, tc.token)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case !tc.ok && (code(err) != "AccessDeniedException" || !strings.Contains(message(err), "Authentication failed")):
			t.Errorf("%s: %v, want AccessDeniedException Authentication failed", tc.name, err)
		}
	}
}
