package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/awsops/scp"
	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

// Must show: revoke-key in a member account whose protect-phantom-users SCP
// binds the caller (OrganizationAccountAccessRole, no break-glass): the key
// is deleted anyway, the output lists what still stands, and the exit code
// is 3 (partially revoked).
func TestRevokeKeyPartialExitCode(t *testing.T) {
	const acct, mgmt = "111122223333", "999988887777"
	user := "BedrockAPIKey-p4r7"
	key := testkeys.LongTerm(user, acct, testkeys.Secret(8))
	p, _ := scp.Lookup("protect-phantom-users")
	doc, err := p.Render(scp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, env := irEmulator(t, &awsemu.Seed{
		Caller:   &awsemu.SeedCaller{Account: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/OrganizationAccountAccessRole/ir"},
		Accounts: []*awsemu.Account{{ID: acct, Users: []*awsemu.User{{Name: user, ServiceCredentials: []*awsemu.ServiceCred{{Secret: key}}}}}, {ID: mgmt}},
		Organization: &awsemu.Organization{ManagementAccount: mgmt, Accounts: []*awsemu.OrgAccountRef{{ID: mgmt}, {ID: acct}},
			SCPs: []*awsemu.SCP{{Name: p.Name, Document: string(doc)}}},
	})
	code, out, errOut := runCLIEnv(t, env, "", "revoke-key", "--endpoint-url", srv.URL, "--audit-log", filepath.Join(t.TempDir(), "a.jsonl"), "--yes", user)
	if code != 3 {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"PARTIALLY REVOKED. Still stands:", "no deny policy on " + user, "service control policy", "fallback AttachUserPolicy"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "partially revoked") {
		t.Errorf("stderr: %s", errOut)
	}
	if u, _ := srv.User(acct, user); len(u.ServiceCredentials) != 0 {
		t.Error("the key was not deleted")
	}
}

// Must show: revoke-key --force on a short-term key issued to an IAM
// Identity Center role is refused upfront with the commands to run
// instead, and writes nothing.
func TestRevokeKeySSORoleRefusedWithGuidance(t *testing.T) {
	const acct = "111122223333"
	role := "AWSReservedSSO_PowerUser_0a1b2c3d4e5f6a7b"
	srv, env := irEmulator(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct,
		Roles: []*awsemu.Role{{Name: role, Path: "/aws-reserved/sso.amazonaws.com/eu-west-1/"}}}}})
	key := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: testkeys.AccessKeyID("ASIA", acct, 3), SecretKey: "x", SessionToken: "t",
		Region: "eu-west-1", Issued: time.Now().Add(-time.Minute), Expires: 3600})
	code, out, errOut := runCLIEnv(t, env, "", "revoke-key", "--endpoint-url", srv.URL, "--yes", "--force", "--role", role, key)
	if code != ExitFailure {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"UnmodifiableEntity", "aws sso-admin put-inline-policy-to-permission-set", "aws sso-admin provision-permission-set", "--target-id " + acct, `permission set "PowerUser"`, "aws organizations attach-policy", "Active sessions"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if w := srv.WriteCalls(); len(w) != 0 {
		t.Errorf("wrote: %+v", w)
	}
}

// revoke-key on a short-term key signed with an IAM user's access key,
// when deactivating that access key is refused: the Bedrock deny stands in
// (a TokenIssueTime deny would not bite such a key), the output says so and
// what still stands, and the exit code is 3 (partially revoked).
func TestRevokeKeyAKIATokenDeactivationRefused(t *testing.T) {
	const acct = "111122223333"
	akia := testkeys.AccessKeyID("AKIA", acct, 44)
	srv, env := irEmulator(t, &awsemu.Seed{
		Accounts: []*awsemu.Account{{ID: acct, Users: []*awsemu.User{{Name: "dev", AccessKeys: []*awsemu.AccessKey{{ID: akia}}}}}},
		Faults:   []awsemu.Fault{{Action: "UpdateAccessKey", Kind: "denied"}},
	})
	key := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: akia, SecretKey: "x", Region: "us-east-1", Issued: time.Now().Add(-time.Minute), Expires: 3600})
	code, out, errOut := runCLIEnv(t, env, "", "revoke-key", "--endpoint-url", srv.URL, "--audit-log", filepath.Join(t.TempDir(), "a.jsonl"), "--yes", key)
	if code != 3 {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"deactivating the access key was refused: put the inline deny BKS-DenyBedrockAPIKeys on dev instead",
		"PARTIALLY REVOKED. Still stands:", "access key " + akia + " of dev is still active"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if u, _ := srv.User(acct, "dev"); u.InlinePolicies["BKS-DenyBedrockAPIKeys"] == "" {
		t.Error("no Bedrock deny on dev")
	}
}
