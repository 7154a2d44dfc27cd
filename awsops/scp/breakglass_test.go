package scp_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/bks-dev/bks/awsops/scp"
	"github.com/bks-dev/bks/internal/awsemu"
)

// Must show: with protect-phantom-users attached, the break-glass role
// (bks-responder by default) may still put a deny on a phantom user, while
// any other principal of the member account — an administrator role,
// OrganizationAccountAccessRole — is denied by the SCP, as AWS documents.
func TestBreakGlassPrincipalIsExempt(t *testing.T) {
	awsemu.IsolateEnv()
	const mgmt, member = "999988887777", "444455556666"
	for _, tc := range []struct {
		name       string
		breakGlass []string
		allowed    string // the role that may
	}{
		{"default", nil, "bks-responder"},
		{"configured", []string{"arn:{{partition}}:iam::*:role/security/ir-*"}, "ir-oncall"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := scp.Lookup("protect-phantom-users")
			doc, err := p.Render(scp.Options{BreakGlass: tc.breakGlass})
			if err != nil {
				t.Fatal(err)
			}
			admin := []string{"arn:aws:iam::aws:policy/AdministratorAccess"}
			srv, err := awsemu.New(&awsemu.Seed{
				Accounts: []*awsemu.Account{{ID: mgmt}, {ID: member,
					Users: []*awsemu.User{{Name: "BedrockAPIKey-ab12", ServiceCredentials: []*awsemu.ServiceCred{{}}}},
					Roles: []*awsemu.Role{
						{Name: "bks-responder", AttachedPolicies: admin},
						{Name: "ir-oncall", Path: "/security/", AttachedPolicies: admin},
						{Name: "Admin", AttachedPolicies: admin},
					}}},
				Organization: &awsemu.Organization{ManagementAccount: mgmt, Accounts: []*awsemu.OrgAccountRef{{ID: mgmt}, {ID: member}},
					SCPs: []*awsemu.SCP{{Name: p.Name, Document: string(doc)}}},
			}, awsemu.Options{Now: func() time.Time { return time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC) }})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			cfg := srv.AWSConfig("us-east-1")
			for _, role := range []string{"bks-responder", "ir-oncall", "Admin", "OrganizationAccountAccessRole"} {
				path := "/"
				if role == "ir-oncall" {
					path = "/security/"
				}
				err := putDeny(t, cfg, "arn:aws:iam::"+member+":role"+path+role)
				var ae smithy.APIError
				switch {
				case role == tc.allowed && err != nil:
					t.Errorf("%s (break-glass) denied: %v", role, err)
				case role != tc.allowed && (!errors.As(err, &ae) || !strings.HasSuffix(ae.ErrorMessage(), "with an explicit deny in a service control policy")):
					t.Errorf("%s not denied by the SCP: %v", role, err)
				}
			}
		})
	}
}

func putDeny(t *testing.T, cfg aws.Config, roleARN string) error {
	t.Helper()
	ctx := context.Background()
	ar, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("ir")})
	if err != nil {
		t.Fatalf("assume %s: %v", roleARN, err)
	}
	c := cfg.Copy()
	c.Credentials = credentials.NewStaticCredentialsProvider(*ar.Credentials.AccessKeyId, *ar.Credentials.SecretAccessKey, *ar.Credentials.SessionToken)
	_, err = iam.NewFromConfig(c).PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("BedrockAPIKey-ab12"), PolicyName: aws.String("deny"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"bedrock:*","Resource":"*"}]}`)})
	return err
}
