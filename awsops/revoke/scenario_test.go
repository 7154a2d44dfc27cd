package revoke_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bks-dev/bks/awsops/revoke"
	"github.com/bks-dev/bks/awsops/scp"
	"github.com/bks-dev/bks/awsops/verify"
	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

// orgSeed puts the long-term seed's account in an organization as a member,
// with every SCP bks ships attached, and the caller a session of role.
func orgSeed(t *testing.T, role string) (*awsemu.Seed, string) {
	t.Helper()
	seed, key := longTermSeed("aws")
	const mgmt = "999988887777"
	var scps []*awsemu.SCP
	for _, p := range scp.List() {
		doc, err := p.Render(scp.Options{})
		if err != nil {
			t.Fatal(err)
		}
		scps = append(scps, &awsemu.SCP{Name: p.Name, Document: string(doc)})
	}
	seed.Accounts = append(seed.Accounts, &awsemu.Account{ID: mgmt})
	seed.Accounts[0].Roles = append(seed.Accounts[0].Roles, &awsemu.Role{Name: "bks-responder"})
	seed.Organization = &awsemu.Organization{ManagementAccount: mgmt, SCPs: scps,
		Accounts: []*awsemu.OrgAccountRef{{ID: mgmt}, {ID: acct}}}
	seed.Caller = &awsemu.SeedCaller{Account: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/" + role + "/incident-42"}
	return seed, key
}

// Must show: in an organization with bks's SCPs attached, a revocation
// run as the break-glass role deletes the key AND lands the deny.
func TestScenarioRevokeInOrgWithSCPs(t *testing.T) {
	seed, key := orgSeed(t, "bks-responder")
	e := newEnv(t, seed)
	plan, err := e.revokeKey(t, key)
	if err != nil {
		t.Fatalf("apply: %v (%+v)", err, plan.Steps)
	}
	u, _ := e.srv.User(acct, "BedrockAPIKey-x7k2")
	if _, ok := u.InlinePolicies[revoke.UserPolicyName]; !ok || len(u.ServiceCredentials) != 0 {
		t.Errorf("deny %v, credentials left %d", ok, len(u.ServiceCredentials))
	}
	e.wantDead(t, key)
}

// The same organization, run as OrganizationAccountAccessRole (which the
// SCPs bind, as AWS documents): the deny and its AWSDenyAll fallback are
// both refused by protect-phantom-users, yet the key is deleted and the
// run reports a partial revocation naming what still stands.
func TestScenarioRevokeInOrgWithoutBreakGlass(t *testing.T) {
	seed, key := orgSeed(t, "OrganizationAccountAccessRole")
	e := newEnv(t, seed)
	plan, err := e.revokeKey(t, key)
	if !errors.Is(err, revoke.ErrPartial) {
		t.Fatalf("error %v, want ErrPartial", err)
	}
	s := plan.Steps[0]
	if s.Result != "error" || !strings.Contains(s.Error, "service control policy") || !strings.Contains(s.Error, "fallback AttachUserPolicy") {
		t.Errorf("deny step %+v", s)
	}
	if u, _ := e.srv.User(acct, "BedrockAPIKey-x7k2"); len(u.ServiceCredentials) != 0 || u.AccessKeys[0].Status != "Inactive" {
		t.Errorf("key not cut off: %+v", u)
	}
	e.wantDead(t, key)
	if len(plan.StillStands) != 1 || !strings.Contains(plan.StillStands[0], "no deny policy on BedrockAPIKey-x7k2") {
		t.Errorf("still stands %q", plan.StillStands)
	}
}

// Must show: a user whose inline policies already fill IAM's 2,048
// characters: the inline deny is refused (LimitExceeded), AWSDenyAll is
// attached instead and said, and the key is deleted.
func TestScenarioRevokeWithFullInlineBudget(t *testing.T) {
	seed, key := longTermSeed("aws")
	fillInlineBudget(seed)
	e := newEnv(t, seed)
	plan, err := e.revokeKey(t, key)
	if err != nil {
		t.Fatalf("apply: %v (%+v)", err, plan.Steps)
	}
	s := plan.Steps[0]
	if s.Result != "fallback" || s.Fallback != "arn:aws:iam::aws:policy/AWSDenyAll" || !strings.Contains(s.Error, "LimitExceeded") {
		t.Errorf("deny step %+v", s)
	}
	u, _ := e.srv.User(acct, "BedrockAPIKey-x7k2")
	if len(u.ServiceCredentials) != 0 || len(u.AttachedPolicies) != 2 || u.AttachedPolicies[1] != s.Fallback {
		t.Errorf("user after: %+v", u)
	}
	e.wantDead(t, key)
}

// The AWSDenyAll fallback cuts the key off by itself: with the deletion
// refused too, the live check says the key no longer works.
func TestScenarioFallbackAloneCutsKey(t *testing.T) {
	seed, key := longTermSeed("aws")
	fillInlineBudget(seed)
	seed.Faults = []awsemu.Fault{{Action: "DeleteServiceSpecificCredential", Kind: "denied"}}
	e := newEnv(t, seed)
	plan, err := e.revokeKey(t, key)
	if !errors.Is(err, revoke.ErrPartial) {
		t.Fatalf("apply: %v", err)
	}
	if plan.Steps[0].Result != "fallback" {
		t.Fatalf("deny step %+v", plan.Steps[0])
	}
	e.wantDead(t, key)
	if len(plan.StillStands) != 2 || !strings.Contains(plan.StillStands[0], "is not deleted") {
		t.Errorf("still stands %q", plan.StillStands)
	}
}

// The fallback names AWSDenyAll in the caller's partition (GovCloud,
// China), and the emulator enforces it there too.
func TestScenarioFallbackPartition(t *testing.T) {
	for _, part := range []string{"aws-us-gov", "aws-cn"} {
		t.Run(part, func(t *testing.T) {
			seed, key := longTermSeed(part)
			fillInlineBudget(seed)
			seed.Faults = []awsemu.Fault{{Action: "DeleteServiceSpecificCredential", Kind: "denied"}}
			e := newEnv(t, seed)
			rv := e.revoker(revoke.Options{})
			plan, err := rv.Plan(context.Background(), mustTarget(t, key, part))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rv.Apply(context.Background(), plan); !errors.Is(err, revoke.ErrPartial) {
				t.Errorf("apply: %v", err)
			}
			if s := plan.Steps[0]; s.Result != "fallback" || s.Fallback != "arn:"+part+":iam::aws:policy/AWSDenyAll" {
				t.Errorf("deny step %+v", s)
			}
			e.wantDead(t, key)
		})
	}
}

// A short-term key signed with an IAM user's long-term access key (AKIA…)
// carries no aws:TokenIssueTime, so a DateLessThan deny never bites it:
// deactivating that access key is what cuts it off. When the responder may
// write policies but not UpdateAccessKey, the revocation used to stop
// there ("every write call failed") with the key live. Now an inline deny
// of the user's Bedrock actions (AWS's documented way to stop a principal's
// API keys,
// https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-permissions.html)
// lands instead, the key is dead, and the run is partial: the access key
// still stands.
func TestScenarioAKIATokenWhenDeactivationRefused(t *testing.T) {
	seed := &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: []*awsemu.User{
		{Name: "dev", AccessKeys: []*awsemu.AccessKey{{}}, AttachedPolicies: []string{"arn:aws:iam::aws:policy/AmazonBedrockLimitedAccess"}},
	}}},
		Caller: &awsemu.SeedCaller{Account: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/responder/incident-7",
			InlinePolicies: map[string]string{"responder": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:UpdateAccessKey","Resource":"*"}]}`}}}
	e := newEnv(t, seed)
	u, _ := e.srv.User(acct, "dev")
	akia := u.AccessKeys[0].ID
	key := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: akia, SecretKey: "x", Region: "us-east-1", Issued: t0, Expires: 3600})
	if r := e.checker(t).Check(context.Background(), key); r.Status != verify.Live {
		t.Fatalf("before: %+v", r)
	}
	plan, err := e.revokeKey(t, key)
	if !errors.Is(err, revoke.ErrPartial) {
		t.Fatalf("error %v, want ErrPartial (%+v)", err, plan.Steps)
	}
	s := plan.Steps[0]
	if s.Action != "iam:UpdateAccessKey" || s.Result != "fallback" || !strings.Contains(s.Error, "AccessDenied") || s.Fallback != revoke.BearerPolicyName {
		t.Errorf("step %+v", s)
	}
	e.wantDead(t, key)
	if u, _ := e.srv.User(acct, "dev"); u.InlinePolicies[revoke.BearerPolicyName] == "" || u.AccessKeys[0].Status != "Active" {
		t.Errorf("user after: %+v", u)
	}
	if len(plan.StillStands) != 1 || !strings.Contains(plan.StillStands[0], "access key "+akia+" of dev is still active") {
		t.Errorf("still stands %q", plan.StillStands)
	}
}

// TestScenarioAKIATokenWhenEveryCutRefused: the responder may neither
// deactivate the access key that signed a short-term key nor put the
// inline Bedrock deny that stands in for it. The key stays live, and the
// output must say so in those words, not only that the access key is
// still active.
func TestScenarioAKIATokenWhenEveryCutRefused(t *testing.T) {
	seed := &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: []*awsemu.User{
		{Name: "dev", AccessKeys: []*awsemu.AccessKey{{}}, AttachedPolicies: []string{"arn:aws:iam::aws:policy/AmazonBedrockLimitedAccess"}},
	}}},
		Caller: &awsemu.SeedCaller{Account: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/responder/incident-8",
			InlinePolicies: map[string]string{"responder": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":["iam:UpdateAccessKey","iam:PutUserPolicy"],"Resource":"*"}]}`}}}
	e := newEnv(t, seed)
	u, _ := e.srv.User(acct, "dev")
	akia := u.AccessKeys[0].ID
	key := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: akia, SecretKey: "x", Region: "us-east-1", Issued: t0, Expires: 3600})
	plan, err := e.revokeKey(t, key)
	if err == nil || errors.Is(err, revoke.ErrPartial) {
		t.Fatalf("error %v, want every write call failed (%+v)", err, plan.Steps)
	}
	if r := e.checker(t).Check(context.Background(), key); r.Status != verify.Live {
		t.Fatalf("the key should still work: %+v", r)
	}
	if len(plan.StillStands) != 1 || !strings.Contains(plan.StillStands[0], "the leaked key still works until it expires") {
		t.Errorf("still stands %q", plan.StillStands)
	}
}
