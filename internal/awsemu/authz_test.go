package awsemu_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

// as returns cfg signed with a seeded user's access key.
func as(cfg aws.Config, keyID string) aws.Config {
	c := cfg.Copy()
	c.Credentials = aws.NewCredentialsCache(staticCreds(keyID, "emulator-secret", ""))
	return c
}

// assume returns cfg signed with a session of roleARN.
func assume(t *testing.T, cfg aws.Config, roleARN string) aws.Config {
	t.Helper()
	ar, err := sts.NewFromConfig(cfg).AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("bks")})
	if err != nil {
		t.Fatalf("AssumeRole %s: %v", roleARN, err)
	}
	c := cfg.Copy()
	c.Credentials = aws.NewCredentialsCache(staticCreds(*ar.Credentials.AccessKeyId, *ar.Credentials.SecretAccessKey, *ar.Credentials.SessionToken))
	return c
}

func message(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

const denyPut = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","iam:Delete*"],"Resource":"*"},{"Effect":"Deny","Action":"iam:PutUserPolicy","Resource":"*"}]}`

// Identity policies decide (the lenient emulator let every caller do
// everything): an explicit Deny wins over an Allow, and nothing allowed is
// an implicit deny, each with AWS's AccessDenied message
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
func TestAuthzIdentityPolicies(t *testing.T) {
	key := testkeys.AccessKeyID("AKIA", acct, 5)
	s := start(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: []*awsemu.User{
		{Name: "responder", AccessKeys: []*awsemu.AccessKey{{ID: key}}, InlinePolicies: map[string]string{"limited": denyPut}},
		{Name: "nobody", AccessKeys: []*awsemu.AccessKey{{ID: testkeys.AccessKeyID("AKIA", acct, 6)}}},
		{Name: "BedrockAPIKey-ab12", ServiceCredentials: []*awsemu.ServiceCred{{}}},
	}}}})
	ctx := context.Background()
	c := iam.NewFromConfig(as(s.AWSConfig("us-east-1"), key))
	_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("BedrockAPIKey-ab12"), PolicyName: aws.String("x"), PolicyDocument: aws.String(denyPut)})
	want := "User: arn:aws:iam::" + acct + ":user/responder is not authorized to perform: iam:PutUserPolicy on resource: arn:aws:iam::" + acct + ":user/BedrockAPIKey-ab12 with an explicit deny in an identity-based policy"
	if code(err) != "AccessDenied" || message(err) != want {
		t.Fatalf("explicit deny: %v\nwant %s", err, want)
	}
	if _, err := c.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("allowed ListUsers: %v", err)
	}
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x")}); code(err) != "AccessDenied" || !strings.HasSuffix(message(err), "because no identity-based policy allows the iam:CreateUser action") {
		t.Fatalf("implicit deny: %v", err)
	}
	nobody := iam.NewFromConfig(as(s.AWSConfig("us-east-1"), testkeys.AccessKeyID("AKIA", acct, 6)))
	if _, err := nobody.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("responder")}); code(err) != "AccessDenied" {
		t.Fatalf("a user with no policy: %v", err)
	}
	// The default caller has AdministratorAccess.
	if _, err := iam.NewFromConfig(s.AWSConfig("us-east-1")).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x")}); err != nil {
		t.Fatalf("admin caller: %v", err)
	}
	// AWSDenyAll attached to the responder denies everything.
	s.Mutate(acct, func(a *awsemu.Account) error {
		a.Users[0].AttachedPolicies = []string{"arn:aws:iam::aws:policy/AWSDenyAll"}
		return nil
	})
	if _, err := c.ListUsers(ctx, &iam.ListUsersInput{}); code(err) != "AccessDenied" {
		t.Fatalf("AWSDenyAll: %v", err)
	}
}

const phantomSCP = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:PutUserPolicy","Resource":"arn:aws:iam::*:user/BedrockAPIKey-*"}]}`

// SCPs bind every principal of a member account, OrganizationAccountAccessRole
// (AdministratorAccess) included, and not the management account
// (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html).
func TestAuthzSCP(t *testing.T) {
	const mgmt, member = "999988887777", "444455556666"
	user := func() []*awsemu.User {
		return []*awsemu.User{{Name: "BedrockAPIKey-ab12", ServiceCredentials: []*awsemu.ServiceCred{{}}}, {Name: "dev"}}
	}
	s := start(t, &awsemu.Seed{
		Accounts: []*awsemu.Account{{ID: mgmt, Users: user()}, {ID: member, Users: user()}},
		Organization: &awsemu.Organization{ManagementAccount: mgmt, Accounts: []*awsemu.OrgAccountRef{{ID: mgmt}, {ID: member}},
			SCPs: []*awsemu.SCP{{Name: "protect-phantom-users", Document: phantomSCP}}},
	})
	ctx := context.Background()
	cfg := s.AWSConfig("us-east-1")
	put := func(c *iam.Client, name string) error {
		_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("x"), PolicyDocument: aws.String(phantomSCP)})
		return err
	}
	if err := put(iam.NewFromConfig(cfg), "BedrockAPIKey-ab12"); err != nil {
		t.Fatalf("management account: %v", err)
	}
	mc := iam.NewFromConfig(assume(t, cfg, "arn:aws:iam::"+member+":role/OrganizationAccountAccessRole"))
	err := put(mc, "BedrockAPIKey-ab12")
	want := "User: arn:aws:sts::" + member + ":assumed-role/OrganizationAccountAccessRole/bks is not authorized to perform: iam:PutUserPolicy on resource: arn:aws:iam::" + member + ":user/BedrockAPIKey-ab12 with an explicit deny in a service control policy"
	if code(err) != "AccessDenied" || message(err) != want {
		t.Fatalf("member account: %v\nwant %s", err, want)
	}
	if err := put(mc, "dev"); err != nil {
		t.Fatalf("outside the SCP's resources: %v", err)
	}
}

// The condition operators bks's policies and SCPs use.
func TestAuthzConditions(t *testing.T) {
	for _, tc := range []struct {
		cond string
		deny bool
	}{
		{`{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/bks-responder"}}`, true},
		{`{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/bks-admin"}}`, false},
		{`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/bks-*"}}`, true},
		{`{"StringLike":{"aws:PrincipalArn":"*:user/BKS-*"}}`, false},
		{`{"StringNotLike":{"aws:PrincipalArn":"*:user/nope"}}`, true},
		{`{"StringEquals":{"aws:PrincipalAccount":"` + acct + `"}}`, true},
		{`{"Null":{"aws:TokenIssueTime":"true"}}`, true},
		{`{"Null":{"aws:TokenIssueTime":"false"}}`, false},
		{`{"DateLessThan":{"aws:TokenIssueTime":"2030-01-01T00:00:00Z"}}`, false},
		{`{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}`, true},
		{`{"DateGreaterThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}`, false},
		{`{"StringEquals":{"aws:PrincipalAccount":"1"},"Null":{"aws:TokenIssueTime":"true"}}`, false},
		{`{"UnknownOperator":{"aws:PrincipalAccount":"1"}}`, false},
	} {
		s := start(t, &awsemu.Seed{Caller: &awsemu.SeedCaller{Account: acct, InlinePolicies: map[string]string{
			"allow": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
			"deny":  `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:List*","Resource":"*","Condition":` + tc.cond + `}]}`,
		}}, Accounts: []*awsemu.Account{{ID: acct}}})
		_, err := iam.NewFromConfig(s.AWSConfig("us-east-1")).ListUsers(context.Background(), &iam.ListUsersInput{})
		if got := code(err) == "AccessDenied"; got != tc.deny {
			t.Errorf("%s: denied = %v (%v), want %v", tc.cond, got, err, tc.deny)
		}
	}
}
