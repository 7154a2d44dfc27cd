package revoke_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/awsops/audit"
	"github.com/bks-dev/bks/awsops/revoke"
	"github.com/bks-dev/bks/awsops/verify"
	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

const acct = "111122223333"

var t0 = time.Date(2026, 4, 10, 9, 30, 0, 0, time.UTC)

type env struct {
	srv    *awsemu.Server
	cfg    aws.Config
	caller awsops.Identity
	log    bytes.Buffer
}

func newEnv(t *testing.T, seed *awsemu.Seed) *env {
	t.Helper()
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
	srv, err := awsemu.New(seed, awsemu.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	region := "us-east-1"
	switch seed.Partition {
	case "aws-us-gov":
		region = "us-gov-west-1"
	case "aws-cn":
		region = "cn-north-1"
	}
	e := &env{srv: srv, cfg: srv.AWSConfig(region)}
	e.caller, err = awsops.WhoAmI(context.Background(), sts.NewFromConfig(e.cfg))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) revoker(opts revoke.Options) *revoke.Revoker {
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0.Add(90 * time.Second) }
	}
	return &revoke.Revoker{
		IAM: iam.NewFromConfig(e.cfg),
		CloudTrail: func(region string) revoke.CloudTrailAPI {
			return cloudtrail.NewFromConfig(e.cfg, func(o *cloudtrail.Options) { o.Region = region })
		},
		Caller:  e.caller,
		Audit:   audit.New(&e.log),
		Options: opts,
	}
}

func (e *env) checker(t *testing.T) *verify.Checker {
	c, err := verify.New(verify.Options{EndpointURL: e.srv.TLSURL, HTTPClient: e.srv.TLSClient(), Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustTarget(t *testing.T, arg, partition string) revoke.Target {
	t.Helper()
	tg, err := revoke.ParseTarget(arg, partition)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func longTermSeed(partition string) (*awsemu.Seed, string) {
	user := "BedrockAPIKey-x7k2"
	key := testkeys.LongTerm(user, acct, testkeys.Secret(77))
	return &awsemu.Seed{
		Partition: partition,
		Accounts: []*awsemu.Account{{ID: acct, Users: []*awsemu.User{
			{Name: user,
				ServiceCredentials: []*awsemu.ServiceCred{{Secret: key}, {}},
				AccessKeys:         []*awsemu.AccessKey{{}, {Status: "Inactive"}},
				AttachedPolicies:   []string{"arn:" + partition + ":iam::aws:policy/AmazonBedrockLimitedAccess"},
			},
			{Name: "bks-admin"},
		}}},
	}, key
}

// Must show: revoking a long-term key leaves the deny policy, no Bedrock
// credential and inactive access keys; the live check then fails; a second
// revoke is a no-op.
func TestRevokeLongTerm(t *testing.T) {
	for _, part := range []string{"aws", "aws-us-gov", "aws-cn"} {
		t.Run(part, func(t *testing.T) {
			seed, key := longTermSeed(part)
			e := newEnv(t, seed)
			ctx := context.Background()
			chk := e.checker(t)
			if r := chk.Check(ctx, key); r.Status != verify.Live {
				t.Fatalf("before: %+v", r)
			}
			rv := e.revoker(revoke.Options{})
			tg := mustTarget(t, key, part)
			e.srv.ResetCalls()
			plan, err := rv.Plan(ctx, tg)
			if err != nil {
				t.Fatal(err)
			}
			if w := e.srv.WriteCalls(); len(w) != 0 {
				t.Fatalf("Plan made write calls: %+v", w)
			}
			if !strings.HasPrefix(plan.Principal.ARN, "arn:"+part+":iam::"+acct+":user/") {
				t.Errorf("principal ARN %s", plan.Principal.ARN)
			}
			var actions []string
			for _, s := range plan.Steps {
				if s.Needed {
					actions = append(actions, s.Action)
				}
			}
			want := "iam:PutUserPolicy iam:DeleteServiceSpecificCredential iam:DeleteServiceSpecificCredential iam:UpdateAccessKey"
			if strings.Join(actions, " ") != want {
				t.Fatalf("steps %v, want %s", actions, want)
			}
			if _, err := rv.Apply(ctx, plan); err != nil {
				t.Fatal(err)
			}

			u, _ := e.srv.User(acct, "BedrockAPIKey-x7k2")
			doc := u.InlinePolicies[revoke.UserPolicyName]
			var pd struct {
				Statement []struct {
					Effect    string
					Action    any
					Condition map[string]map[string]string
				}
			}
			if err := json.Unmarshal([]byte(doc), &pd); err != nil || len(pd.Statement) != 2 {
				t.Fatalf("deny policy %q: %v", doc, err)
			}
			if a, _ := json.Marshal(pd.Statement[0].Action); string(a) != `["bedrock:*","bedrock-mantle:*"]` {
				t.Errorf("deny actions %s", a)
			}
			if got := pd.Statement[1].Condition["DateLessThan"]["aws:TokenIssueTime"]; got != "2026-04-10T09:31:30Z" {
				t.Errorf("cutoff %s", got)
			}
			if len(u.ServiceCredentials) != 0 {
				t.Errorf("%d Bedrock credentials left", len(u.ServiceCredentials))
			}
			for _, k := range u.AccessKeys {
				if k.Status != "Inactive" {
					t.Errorf("access key %s is %s", k.ID, k.Status)
				}
			}
			// A fresh checker: the first one cached "live".
			if r := e.checker(t).Check(ctx, key); r.Status != verify.Invalid || !r.Dead() {
				t.Errorf("after revoke the key is %s: %s", r.Status, r.Reason)
			}
			var recs []audit.Record
			for _, line := range strings.Split(strings.TrimSpace(e.log.String()), "\n") {
				var rec audit.Record
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatal(err)
				}
				recs = append(recs, rec)
			}
			if len(recs) != 4 || recs[0].Action != "iam:PutUserPolicy" || recs[0].Result != audit.ResultOK || recs[0].Account != acct {
				t.Errorf("audit %+v", recs)
			}

			// Second run: nothing to do, and no write call.
			e.srv.ResetCalls()
			plan2, err := e.revoker(revoke.Options{Now: func() time.Time { return t0.Add(time.Hour) }}).Plan(ctx, tg)
			if err != nil {
				t.Fatal(err)
			}
			if plan2.Pending() {
				t.Errorf("second run wants to change: %+v", plan2.Steps)
			}
			if !plan2.Cutoff.Equal(t0.Add(90 * time.Second)) {
				t.Errorf("second run cutoff %s, want the first run's", plan2.Cutoff)
			}
			if _, err := rv.Apply(ctx, plan2); err != nil {
				t.Fatal(err)
			}
			if w := e.srv.WriteCalls(); len(w) != 0 {
				t.Errorf("second run made write calls: %+v", w)
			}
		})
	}
}

func TestRevokeRefusesSelfUnlessForced(t *testing.T) {
	seed, _ := longTermSeed("aws")
	e := newEnv(t, seed)
	ctx := context.Background()
	_, err := e.revoker(revoke.Options{}).Plan(ctx, mustTarget(t, "bks-admin", "aws"))
	if !errors.Is(err, revoke.ErrRefused) {
		t.Fatalf("self: %v", err)
	}
	if _, err := e.revoker(revoke.Options{Force: true}).Plan(ctx, mustTarget(t, "bks-admin", "aws")); err != nil {
		t.Fatalf("self with force: %v", err)
	}
	// A key from another account is refused outright.
	other := testkeys.LongTerm("BedrockAPIKey-zzzz", "999988887777", testkeys.Secret(1))
	if _, err := e.revoker(revoke.Options{Force: true}).Plan(ctx, mustTarget(t, other, "aws")); !errors.Is(err, revoke.ErrWrongAccount) {
		t.Errorf("other account: %v", err)
	}
	if _, err := e.revoker(revoke.Options{}).Plan(ctx, mustTarget(t, "nobody", "aws")); !errors.Is(err, revoke.ErrNotFound) {
		t.Errorf("missing user: %v", err)
	}
}

// shortTermEnv seeds a role, assumes it, and records one CloudTrail event
// of the session in eventRegion only.
func shortTermEnv(t *testing.T, partition, keyRegion, eventRegion, role, rolePath string) (*env, string, string) {
	t.Helper()
	seed := &awsemu.Seed{Partition: partition, Accounts: []*awsemu.Account{{ID: acct,
		Users: []*awsemu.User{{Name: "bks-admin"}},
		Roles: []*awsemu.Role{{Name: role, Path: rolePath}, {Name: "other-role"}},
	}}}
	e := newEnv(t, seed)
	ctx := context.Background()
	out, err := sts.NewFromConfig(e.cfg).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(awsops.RoleARN(partition, acct, role)), RoleSessionName: aws.String("ci-job"),
	})
	if err != nil {
		t.Fatal(err)
	}
	asia := aws.ToString(out.Credentials.AccessKeyId)
	key := testkeys.ShortTerm(testkeys.ShortTermOptions{
		AccessKeyID: asia, SecretKey: "x", SessionToken: aws.ToString(out.Credentials.SessionToken),
		Region: keyRegion, Issued: t0, Expires: 43200,
	})
	if err := e.srv.AddEvent(acct, awsemu.Event{
		Region: eventRegion, Time: t0.Add(-time.Minute), Name: "InvokeModel", Source: "bedrock.amazonaws.com",
		AccessKeyID: asia, IdentityType: "AssumedRole", IdentityARN: aws.ToString(out.AssumedRoleUser.Arn),
		AdditionalEventData: map[string]any{"callWithBearerToken": true},
	}); err != nil {
		t.Fatal(err)
	}
	return e, key, asia
}

// Must show: a short-term key's issuing role found in a region other than
// the default (and other than the key's own, searched first).
func TestRevokeShortTermFindsIssuerInAnotherRegion(t *testing.T) {
	cases := []struct {
		partition, keyRegion, eventRegion string
		regions                           []string
	}{
		{"aws", "eu-west-1", "ap-northeast-1", []string{"us-east-1", "eu-central-1", "ap-northeast-1", "us-west-2"}},
		{"aws-us-gov", "us-gov-west-1", "us-gov-east-1", nil}, // partition defaults
		{"aws-cn", "cn-north-1", "cn-northwest-1", nil},
	}
	for _, tc := range cases {
		t.Run(tc.partition, func(t *testing.T) {
			e, key, _ := shortTermEnv(t, tc.partition, tc.keyRegion, tc.eventRegion, "app-role", "/")
			ctx := context.Background()
			chk := e.checker(t)
			if r := chk.Check(ctx, key); r.Status != verify.Live {
				t.Fatalf("before: %+v", r)
			}
			rv := e.revoker(revoke.Options{Regions: tc.regions})
			e.srv.ResetCalls()
			plan, err := rv.Plan(ctx, mustTarget(t, key, tc.partition))
			if err != nil {
				t.Fatal(err)
			}
			if plan.FoundInRegion != tc.eventRegion || plan.SearchedRegions[0] != tc.keyRegion {
				t.Errorf("found in %q after %v", plan.FoundInRegion, plan.SearchedRegions)
			}
			var lookups []string
			for _, c := range e.srv.Calls() {
				if c.Action == "LookupEvents" {
					lookups = append(lookups, c.Region)
				}
			}
			if len(lookups) == 0 || lookups[0] != tc.keyRegion || lookups[len(lookups)-1] != tc.eventRegion {
				t.Errorf("LookupEvents regions %v", lookups)
			}
			if plan.Principal.Type != "role" || plan.Principal.Name != "app-role" || !strings.HasPrefix(plan.Principal.ARN, "arn:"+tc.partition+":iam::") {
				t.Errorf("principal %+v", plan.Principal)
			}
			if len(plan.CutsOff) == 0 || !strings.Contains(plan.CutsOff[0], "EVERY session of role app-role") {
				t.Errorf("cuts off %v", plan.CutsOff)
			}
			if w := e.srv.WriteCalls(); len(w) != 0 {
				t.Fatalf("Plan wrote: %+v", w)
			}
			if _, err := rv.Apply(ctx, plan); err != nil {
				t.Fatal(err)
			}
			r := e.checker(t).Check(ctx, key)
			if !r.Dead() {
				t.Errorf("after revoke: %+v", r)
			}
			plan2, err := e.revoker(revoke.Options{Regions: tc.regions, Now: func() time.Time { return t0.Add(2 * time.Hour) }}).Plan(ctx, mustTarget(t, key, tc.partition))
			if err != nil || plan2.Pending() {
				t.Errorf("second run: %v %+v", err, plan2)
			}
		})
	}
}

func TestRevokeShortTermRefusals(t *testing.T) {
	ctx := context.Background()
	t.Run("sso role", func(t *testing.T) {
		e, key, _ := shortTermEnv(t, "aws", "us-east-1", "us-east-1", "AWSReservedSSO_Admin_0123456789abcdef", "/aws-reserved/sso.amazonaws.com/")
		_, err := e.revoker(revoke.Options{Regions: []string{"us-east-1"}}).Plan(ctx, mustTarget(t, key, "aws"))
		if !errors.Is(err, revoke.ErrRefused) || !strings.Contains(err.Error(), "IAM Identity Center") {
			t.Fatalf("sso: %v", err)
		}
		// --force cannot help: AWS answers UnmodifiableEntity for
		// SSO-reserved roles. bks refuses upfront with the commands to
		// run instead (it planned a PutRolePolicy before).
		_, err = e.revoker(revoke.Options{Regions: []string{"us-east-1"}, Force: true}).Plan(ctx, mustTarget(t, key, "aws"))
		for _, want := range []string{"UnmodifiableEntity", "aws sso-admin put-inline-policy-to-permission-set", "aws sso-admin provision-permission-set", "aws organizations attach-policy", "Active sessions", `"aws:TokenIssueTime"`, "AWSReservedSSO_Admin_0123456789abcdef"} {
			if !errors.Is(err, revoke.ErrRefused) || !strings.Contains(err.Error(), want) {
				t.Errorf("sso with force: lacks %q: %v", want, err)
			}
		}
	})
	t.Run("own role", func(t *testing.T) {
		e, key, _ := shortTermEnv(t, "aws", "us-east-1", "us-east-1", "app-role", "/")
		rv := e.revoker(revoke.Options{Regions: []string{"us-east-1"}})
		rv.Caller.ARN = "arn:aws:sts::" + acct + ":assumed-role/app-role/me"
		if _, err := rv.Plan(ctx, mustTarget(t, key, "aws")); !errors.Is(err, revoke.ErrRefused) {
			t.Errorf("own role: %v", err)
		}
	})
	t.Run("not in cloudtrail", func(t *testing.T) {
		e, key, _ := shortTermEnv(t, "aws", "us-east-1", "sa-east-1", "app-role", "/")
		_, err := e.revoker(revoke.Options{Regions: []string{"us-east-1", "us-west-2"}}).Plan(ctx, mustTarget(t, key, "aws"))
		if !errors.Is(err, revoke.ErrIssuerNotFound) {
			t.Errorf("not found: %v", err)
		}
		// --role names the issuer directly.
		plan, err := e.revoker(revoke.Options{IssuerRole: "app-role"}).Plan(ctx, mustTarget(t, key, "aws"))
		if err != nil || plan.Principal.Name != "app-role" {
			t.Errorf("explicit role: %v", err)
		}
	})
}

// A short-term key signed with a long-term access key: the access key is
// found by GetAccessKeyLastUsed and deactivated.
func TestRevokeAKIAToken(t *testing.T) {
	seed := &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: []*awsemu.User{
		{Name: "dev", AccessKeys: []*awsemu.AccessKey{{}}}, {Name: "bks-admin"},
	}}}}
	e := newEnv(t, seed)
	ctx := context.Background()
	u, _ := e.srv.User(acct, "dev")
	akia := u.AccessKeys[0].ID
	key := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: akia, SecretKey: "x", Region: "us-west-2", Issued: t0, Expires: 3600})
	rv := e.revoker(revoke.Options{})
	plan, err := rv.Plan(ctx, mustTarget(t, key, "aws"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rv.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if u, _ := e.srv.User(acct, "dev"); u.AccessKeys[0].Status != "Inactive" {
		t.Errorf("access key %s", u.AccessKeys[0].Status)
	}
	if r := e.checker(t).Check(ctx, key); r.Status != verify.Invalid {
		t.Errorf("after: %+v", r)
	}
}

// A failing write is audited, does not stop the rest (it used to: the
// steps after it were not-run), and a re-run finishes.
func TestRevokeResumesAfterFailure(t *testing.T) {
	seed, key := longTermSeed("aws")
	seed.Faults = []awsemu.Fault{{Action: "DeleteServiceSpecificCredential", Kind: "denied", Times: 1}}
	e := newEnv(t, seed)
	ctx := context.Background()
	rv := e.revoker(revoke.Options{})
	plan, err := rv.Plan(ctx, mustTarget(t, key, "aws"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rv.Apply(ctx, plan); !errors.Is(err, revoke.ErrPartial) {
		t.Fatalf("error %v, want ErrPartial", err)
	}
	if plan.Steps[1].Result != "error" || plan.Steps[2].Result != "ok" || plan.Steps[3].Result != "ok" {
		t.Errorf("steps %+v", plan.Steps)
	}
	if !strings.Contains(e.log.String(), `"result":"error"`) {
		t.Errorf("audit lacks the failure: %s", e.log.String())
	}
	plan, err = rv.Plan(ctx, mustTarget(t, key, "aws"))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Steps[0].Needed {
		t.Error("policy step repeated")
	}
	if _, err := rv.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if u, _ := e.srv.User(acct, "BedrockAPIKey-x7k2"); len(u.ServiceCredentials) != 0 {
		t.Error("credentials left")
	}
}
