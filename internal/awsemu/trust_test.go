package awsemu_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

// Role trust policies decide AssumeRole (the lenient emulator let anyone
// assume any role): OrganizationAccountAccessRole trusts only the
// management account, so a delegated administrator is refused; a trust
// naming an ARN admits that principal only; a trust naming the account
// also needs the caller's identity policy to allow sts:AssumeRole.
func TestTrustPolicies(t *testing.T) {
	const mgmt, member, delegated = "999988887777", "444455556666", "555566667777"
	keyOf := func(n uint64) string { return testkeys.AccessKeyID("AKIA", member, n) }
	admin := []string{"arn:aws:iam::aws:policy/AdministratorAccess"}
	seed := func(caller string) *awsemu.Seed {
		return &awsemu.Seed{
			Caller: &awsemu.SeedCaller{Account: caller},
			Accounts: []*awsemu.Account{{ID: mgmt}, {ID: delegated}, {ID: member,
				Users: []*awsemu.User{
					{Name: "ci", AccessKeys: []*awsemu.AccessKey{{ID: keyOf(1)}}},
					{Name: "admin", AccessKeys: []*awsemu.AccessKey{{ID: keyOf(2)}}, AttachedPolicies: admin},
					{Name: "nobody", AccessKeys: []*awsemu.AccessKey{{ID: keyOf(3)}}},
				},
				Roles: []*awsemu.Role{
					{Name: "ci-deploy", AssumeRolePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + member + `:user/ci"},"Action":"sts:AssumeRole"}]}`},
					{Name: "account-trust", AssumeRolePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + member + `"},"Action":"sts:AssumeRole"}]}`},
				}}},
			Organization: &awsemu.Organization{ManagementAccount: mgmt, Accounts: []*awsemu.OrgAccountRef{{ID: mgmt}, {ID: member}, {ID: delegated}}},
		}
	}
	assumeErr := func(cfg aws.Config, role string) error {
		_, err := sts.NewFromConfig(cfg).AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + member + ":role/" + role), RoleSessionName: aws.String("t")})
		return err
	}
	fromMgmt := start(t, seed(mgmt))
	if err := assumeErr(fromMgmt.AWSConfig("us-east-1"), "OrganizationAccountAccessRole"); err != nil {
		t.Errorf("management account: %v", err)
	}
	fromDelegated := start(t, seed(delegated))
	if err := assumeErr(fromDelegated.AWSConfig("us-east-1"), "OrganizationAccountAccessRole"); code(err) != "AccessDenied" {
		t.Errorf("delegated administrator: %v", err)
	}
	cfg := fromMgmt.AWSConfig("us-east-1")
	for _, tc := range []struct {
		key, role string
		ok        bool
	}{
		{keyOf(1), "ci-deploy", true},      // named by ARN, no identity policy needed
		{keyOf(2), "ci-deploy", false},     // an administrator the trust does not name
		{keyOf(2), "account-trust", true},  // the account, and an identity policy allowing it
		{keyOf(3), "account-trust", false}, // the account, but no identity policy
	} {
		err := assumeErr(as(cfg, tc.key), tc.role)
		if (err == nil) != tc.ok {
			t.Errorf("%s assumes %s: %v, want ok=%v", tc.key, tc.role, err, tc.ok)
		}
	}
}
