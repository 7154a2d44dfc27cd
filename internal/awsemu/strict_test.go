package awsemu_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/bks-dev/bks/internal/awsemu"
)

// sizedPolicy is a one-statement deny of nonSpace characters without white
// space, followed by pad line breaks and spaces.
func sizedPolicy(nonSpace int, pad int) string {
	head := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Resource":"*","Action":"bedrock:`
	tail := `"}]}`
	return head + strings.Repeat("A", nonSpace-len(head)-len(tail)) + tail + strings.Repeat(" \n", pad)
}

// The refusals of strict.go, each from AWS's documentation; every one of
// these calls succeeded on the lenient emulator.
func TestStrictIAMRefusals(t *testing.T) {
	s := start(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct,
		Users: []*awsemu.User{{Name: "BedrockAPIKey-ab12"}},
		Roles: []*awsemu.Role{{Name: "AWSReservedSSO_Admin_0123456789abcdef", Path: "/aws-reserved/sso.amazonaws.com/"}, {Name: "app"}},
	}}})
	ctx := context.Background()
	c := iam.NewFromConfig(s.AWSConfig("us-east-1"))
	putUser := func(name, doc string) error {
		_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("BedrockAPIKey-ab12"), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
		return err
	}
	putRole := func(role, name, doc string) error {
		_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
		return err
	}

	// IAM Identity Center roles are protected.
	if err := putRole("AWSReservedSSO_Admin_0123456789abcdef", "deny", sizedPolicy(200, 0)); code(err) != "UnmodifiableEntity" {
		t.Errorf("SSO role: %v", err)
	}

	// Inline budgets: 2,048 per user, 10,240 per role, white space not counted.
	if err := putUser("a", sizedPolicy(1500, 2000)); err != nil {
		t.Fatalf("1,500 characters plus white space: %v", err)
	}
	if err := putUser("b", sizedPolicy(600, 0)); code(err) != "LimitExceeded" || !strings.Contains(message(err), "2048") {
		t.Errorf("user over 2,048: %v", err)
	}
	if err := putUser("a", sizedPolicy(2048, 0)); err != nil {
		t.Errorf("replacing a policy counts the new one only: %v", err)
	}
	if err := putRole("app", "a", sizedPolicy(10240, 0)); err != nil {
		t.Errorf("role at 10,240: %v", err)
	}
	if err := putRole("app", "b", sizedPolicy(100, 0)); code(err) != "LimitExceeded" {
		t.Errorf("role over 10,240: %v", err)
	}

	// Grammar: Resource required, a known Version.
	for doc, want := range map[string]string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"bedrock:*"}]}`:                "must contain resources",
		`{"Version":"2012-10-18","Statement":[{"Effect":"Deny","Action":"bedrock:*","Resource":"*"}]}`: "legacy parsing",
	} {
		if err := putRole("app", "c", doc); code(err) != "MalformedPolicyDocument" || !strings.Contains(message(err), want) {
			t.Errorf("%s: %v", doc, err)
		}
	}

	// AllUsers with UserName.
	if _, err := c.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{AllUsers: aws.Bool(true), UserName: aws.String("BedrockAPIKey-ab12")}); code(err) != "ValidationError" {
		t.Errorf("AllUsers with UserName: %v", err)
	}

	// Names are case-insensitive.
	out, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("bedrockapikey-AB12")})
	if err != nil || aws.ToString(out.User.UserName) != "BedrockAPIKey-ab12" {
		t.Errorf("GetUser by another case: %v", err)
	}
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("BEDROCKAPIKEY-AB12")}); code(err) != "EntityAlreadyExists" {
		t.Errorf("CreateUser of a case variant: %v", err)
	}
	if _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("APP")}); err != nil {
		t.Errorf("GetRole by another case: %v", err)
	}
}
