package revoke_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bks-dev/bks/awsops/revoke"
	"github.com/bks-dev/bks/internal/awsemu"
)

// A responder allowed to delete keys but not to write policies: the seed's
// caller has everything but Put*Policy (and, with noAttach, Attach*Policy).
func responderSeed(noAttach bool) (*awsemu.Seed, string) {
	seed, key := longTermSeed("aws")
	actions := `"iam:PutUserPolicy","iam:PutRolePolicy"`
	if noAttach {
		actions += `,"iam:AttachUserPolicy"`
	}
	seed.Caller = &awsemu.SeedCaller{Account: acct, InlinePolicies: map[string]string{"responder": `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":[` + actions + `],"Resource":"*"}]}`}}
	return seed, key
}

// Must show: the deny step failing does not stop the key's deletion (it
// did: Apply marked every later step not-run, and the key stayed live);
// the run says it is partial and what still stands.
func TestRevokeDeletesKeyWhenDenyRefused(t *testing.T) {
	seed, key := responderSeed(true)
	e := newEnv(t, seed)
	plan, err := e.revokeKey(t, key)
	if u, _ := e.srv.User(acct, "BedrockAPIKey-x7k2"); len(u.ServiceCredentials) != 0 || u.AccessKeys[0].Status != "Inactive" {
		t.Fatalf("key left live: %d credentials, access key %s; steps %+v", len(u.ServiceCredentials), u.AccessKeys[0].Status, plan.Steps)
	}
	e.wantDead(t, key)
	if !errors.Is(err, revoke.ErrPartial) {
		t.Fatalf("error %v, want ErrPartial", err)
	}
	if plan.Steps[0].Result != "error" || plan.Steps[1].Result != "ok" || plan.Steps[2].Result != "ok" || plan.Steps[3].Result != "ok" {
		t.Errorf("results %+v", plan.Steps)
	}
	if len(plan.StillStands) != 1 || !strings.Contains(plan.StillStands[0], "no deny policy") {
		t.Errorf("still stands: %q", plan.StillStands)
	}
	if !strings.Contains(plan.Steps[0].Error, "AccessDenied") {
		t.Errorf("deny step error %q", plan.Steps[0].Error)
	}
}

// When the inline deny is refused, AWS's managed AWSDenyAll is attached
// instead, and the step says so.
func TestRevokeFallsBackToAWSDenyAll(t *testing.T) {
	seed, key := responderSeed(false)
	e := newEnv(t, seed)
	plan, err := e.revokeKey(t, key)
	if err != nil {
		t.Fatalf("apply: %v (%+v)", err, plan.Steps)
	}
	s := plan.Steps[0]
	if s.Result != "fallback" || s.Fallback != "arn:aws:iam::aws:policy/AWSDenyAll" || !strings.Contains(s.Error, "AccessDenied") {
		t.Errorf("deny step %+v", s)
	}
	u, _ := e.srv.User(acct, "BedrockAPIKey-x7k2")
	if len(u.AttachedPolicies) != 2 || u.AttachedPolicies[1] != "arn:aws:iam::aws:policy/AWSDenyAll" || len(u.ServiceCredentials) != 0 {
		t.Errorf("user after: %+v %+v", u.AttachedPolicies, u.ServiceCredentials)
	}
	if !strings.Contains(e.log.String(), "AWSDenyAll") {
		t.Errorf("audit lacks the fallback: %s", e.log.String())
	}
}

// revokeKey plans and applies the revocation of key as the seed's caller.
func (e *env) revokeKey(t *testing.T, key string) (*revoke.Plan, error) {
	t.Helper()
	ctx := context.Background()
	rv := e.revoker(revoke.Options{})
	plan, err := rv.Plan(ctx, mustTarget(t, key, "aws"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = rv.Apply(ctx, plan)
	return plan, err
}

// fillInlineBudget gives the long-term seed's user an inline policy of
// about 1,950 of IAM's 2,048 characters.
func fillInlineBudget(seed *awsemu.Seed) {
	seed.Accounts[0].Users[0].InlinePolicies = map[string]string{"legacy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*","Action":"bedrock:` + strings.Repeat("x", 1900) + `"}]}`}
}

// wantDead fails unless the key's live check says it no longer works.
func (e *env) wantDead(t *testing.T, key string) {
	t.Helper()
	if r := e.checker(t).Check(context.Background(), key); !r.Dead() {
		t.Errorf("live check after: %+v", r)
	}
}
