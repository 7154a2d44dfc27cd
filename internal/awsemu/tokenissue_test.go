package awsemu_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

// denyOlderSessions is bks's session deny: every action for credentials
// issued before 2030.
const denyOlderSessions = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:Get*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2030-01-01T00:00:00Z"}}}]}`

// listWithToken calls Bedrock at the emulator's own address with a bearer
// token.
func listWithToken(s *awsemu.Server, region, token string) error {
	return listModels(s.BedrockConfig(region), token)
}

// aws:TokenIssueTime is in the request context only for requests signed
// with temporary credentials
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-tokenissuetime).
// A short-term Bedrock key is a presigned URL signed with its creator's
// credentials, so it carries the key's semantics of those credentials: a
// key signed with an IAM user's long-term access key has no
// aws:TokenIssueTime (a DateLessThan deny does not bite), one signed by a
// role session has the session's issue time, not the URL's X-Amz-Date.
// The lenient emulator took the URL's X-Amz-Date for both.
func TestTokenIssueTimeSemantics(t *testing.T) {
	akia := testkeys.AccessKeyID("AKIA", acct, 21)
	s := start(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct,
		Users: []*awsemu.User{{Name: "dev", AccessKeys: []*awsemu.AccessKey{{ID: akia}}, InlinePolicies: map[string]string{"cut": denyOlderSessions}}},
		Roles: []*awsemu.Role{{Name: "app", InlinePolicies: map[string]string{"cut": denyOlderSessions}}},
	}}})
	ctx := context.Background()
	cfg := s.AWSConfig("us-east-1")

	// Long-term access key: the key is absent, the deny does not bite,
	// for SigV4 calls and for a short-term Bedrock key it signed.
	if _, err := iam.NewFromConfig(as(cfg, akia)).GetUser(ctx, &iam.GetUserInput{UserName: aws.String("dev")}); err != nil {
		t.Errorf("SigV4 with the user's access key: %v", err)
	}
	userToken := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: akia, SecretKey: "x", Region: "us-east-1", Issued: t0, Expires: 3600})
	if err := listWithToken(s, "us-east-1", userToken); err != nil {
		t.Errorf("a key signed with a long-term access key is denied by a DateLessThan aws:TokenIssueTime deny: %v", err)
	}

	// A role session: the key is the session's issue time (t0), whatever
	// the presigned URL's own date says.
	rcfg := assume(t, cfg, "arn:aws:iam::"+acct+":role/app")
	creds, err := rcfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iam.NewFromConfig(rcfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")}); code(err) != "AccessDenied" {
		t.Errorf("SigV4 with an old session: %v, want AccessDenied", err)
	}
	sessToken := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: creds.AccessKeyID, SecretKey: "x", SessionToken: creds.SessionToken, Region: "us-east-1", Issued: t0, Expires: 3600})
	if err := listWithToken(s, "us-east-1", sessToken); code(err) != "AccessDeniedException" {
		t.Errorf("a key signed by an old session: %v, want AccessDeniedException", err)
	}
}

// The seed's caller named as an assumed role is a session: its requests
// carry aws:TokenIssueTime (the emulator's start), so a deny of sessions
// issued before now bites it as it would on AWS.
func TestTokenIssueTimeOfAssumedRoleCaller(t *testing.T) {
	seed := &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: []*awsemu.User{{Name: "dev"}}}},
		Caller: &awsemu.SeedCaller{Account: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/responder/incident",
			InlinePolicies: map[string]string{"cut": denyOlderSessions}}}
	s, err := awsemu.New(seed, awsemu.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	_, err = iam.NewFromConfig(s.AWSConfig("us-east-1")).GetUser(context.Background(), &iam.GetUserInput{UserName: aws.String("dev")})
	if code(err) != "AccessDenied" {
		t.Errorf("an assumed-role caller issued before the cutoff: %v, want AccessDenied", err)
	}
}
