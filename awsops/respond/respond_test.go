package respond_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/awsops/audit"
	"github.com/bks-dev/bks/awsops/respond"
	"github.com/bks-dev/bks/awsops/revoke"
	"github.com/bks-dev/bks/awsops/timeline"
	"github.com/bks-dev/bks/awsops/verify"
	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/triage"
)

func TestMain(m *testing.M) {
	awsemu.IsolateEnv()
	os.Exit(m.Run())
}

const (
	ours     = "111122223333" // the caller's account
	member   = "444455556666" // reached through a role
	stranger = "777788889999" // seeded, but neither the caller's nor reachable
)

// t0 is the emulator's and the responder's clock. It is the real time:
// the SDK checks an assumed role's credentials for expiry against it.
var t0 = time.Now().UTC().Truncate(time.Second)

// world is the emulator seeded with one account's keys, and a Responder
// that reaches it the way `bks triage` does: the standard credential chain
// (environment, shared files) and --endpoint-url.
type world struct {
	srv   *awsemu.Server
	keys  map[string]string // IAM user name -> its key
	r     *respond.Responder
	audit bytes.Buffer
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{keys: map[string]string{}}
	cred := func(user, acct string, seed uint64) []*awsemu.ServiceCred {
		w.keys[user] = testkeys.LongTerm(user, acct, testkeys.Secret(seed))
		return []*awsemu.ServiceCred{{Secret: w.keys[user]}}
	}
	claude := testkeys.ClaudeLongTerm("c1a0", ours, testkeys.Secret(9))
	w.keys["AeaApiKey-c1a0"] = claude
	seed := &awsemu.Seed{Accounts: []*awsemu.Account{
		{ID: ours,
			Users: []*awsemu.User{
				{Name: "bks-admin"},
				{Name: "BedrockAPIKey-aaaa", ServiceCredentials: cred("BedrockAPIKey-aaaa", ours, 1), AccessKeys: []*awsemu.AccessKey{{}}},
				{Name: "BedrockAPIKey-idle", ServiceCredentials: []*awsemu.ServiceCred{{Status: "Inactive"}}},
				{Name: "BedrockAPIKey-none"},
				{Name: "AeaApiKey-c1a0", ServiceCredentials: []*awsemu.ServiceCred{{Service: "aws-external-anthropic.amazonaws.com", Secret: claude}}},
			},
			Roles: []*awsemu.Role{{Name: "app-role"}},
			Events: []*awsemu.Event{
				{Region: "us-east-1", Time: t0.Add(-2 * time.Hour), Name: "InvokeModel", Source: "bedrock.amazonaws.com", Username: "BedrockAPIKey-aaaa"},
				{Region: "eu-west-1", Time: t0.Add(-time.Hour), Name: "Converse", Source: "bedrock.amazonaws.com", Username: "BedrockAPIKey-aaaa"},
			},
		},
		{ID: member,
			Users: []*awsemu.User{{Name: "BedrockAPIKey-bbbb", ServiceCredentials: cred("BedrockAPIKey-bbbb", member, 2)}},
			// The responder role, as an administrator would set it up.
			Roles: []*awsemu.Role{{Name: "bks-triage", AttachedPolicies: []string{"arn:aws:iam::aws:policy/AdministratorAccess"}}},
		},
		{ID: stranger},
	}}
	srv, err := awsemu.New(seed, awsemu.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	w.srv = srv

	home := t.TempDir()
	files := map[string]string{
		"config":      "[profile payments]\nregion = eu-west-1\n",
		"credentials": "[payments]\naws_access_key_id = " + testkeys.AccessKeyID("AKIA", ours, 11) + "\naws_secret_access_key = profile-secret\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(home, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range map[string]string{
		"HOME": home, "AWS_CONFIG_FILE": filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": awsemu.CallerAccessKeyID, "AWS_SECRET_ACCESS_KEY": "emulator-secret",
	} {
		t.Setenv(k, v)
	}
	w.r = &respond.Responder{
		Base:  awsops.Settings{EndpointURL: srv.URL, MaxAttempts: 2, Rate: -1},
		Audit: audit.New(&w.audit),
		Days:  7,
		Rate:  -1,
		Now:   func() time.Time { return t0 },
	}
	return w
}

// scan finds the keys in text the way detect does.
func scan(text string) []findings.Finding {
	eng := detectors.New(detectors.Options{Decode: detectors.DecodeOptions{Now: t0}})
	var fs []findings.Finding
	eng.Scan([]byte(text), 0, func(m detectors.Match) { fs = append(fs, findings.New(m, findings.Location{Path: "f", Line: 1})) })
	return fs
}

// incident is the one incident triage makes of key.
func incident(t *testing.T, key string) *triage.Incident {
	t.Helper()
	incs := triage.Group(scan(key))
	if len(incs) != 1 {
		t.Fatalf("%d incidents from one key", len(incs))
	}
	return incs[0]
}

func TestCheckCredential(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	acct := triage.Account{ID: ours}
	cases := []struct{ user, want string }{
		{"BedrockAPIKey-aaaa", triage.StateActive},
		{"BedrockAPIKey-idle", triage.StateInactive},
		{"BedrockAPIKey-none", triage.StateDeleted}, // the user is there, its key is not
		{"BedrockAPIKey-zzzz", triage.StateDeleted}, // no such user
		{"AeaApiKey-c1a0", triage.StateActive},      // Claude Platform: its own service name
	}
	for _, tc := range cases {
		key := w.keys[tc.user]
		if key == "" {
			key = testkeys.LongTerm(tc.user, ours, testkeys.Secret(3))
		}
		got, err := w.r.CheckCredential(ctx, acct, incident(t, key))
		if err != nil || got != tc.want {
			t.Errorf("%s: %s %v, want %s", tc.user, got, err, tc.want)
		}
	}
	var services []string
	for _, c := range w.srv.Calls() {
		if c.Action == "ListServiceSpecificCredentials" {
			services = append(services, c.Params["ServiceName"])
		}
	}
	if len(services) != 5 || services[0] != "bedrock.amazonaws.com" || services[4] != "aws-external-anthropic.amazonaws.com" {
		t.Errorf("ServiceName of each lookup: %v", services)
	}
	// bks's deny policy in place: revoked, even though the key is active.
	if err := w.srv.Mutate(ours, func(a *awsemu.Account) error {
		for _, u := range a.Users {
			if u.Name == "BedrockAPIKey-aaaa" {
				u.InlinePolicies[revoke.UserPolicyName] = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"bedrock:*","Resource":"*"}]}`
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := w.r.CheckCredential(ctx, acct, incident(t, w.keys["BedrockAPIKey-aaaa"])); err != nil || got != triage.StateRevoked {
		t.Errorf("with the deny policy: %s %v", got, err)
	}
	if n := w.srv.CountCalls("GetCallerIdentity"); n != 1 {
		t.Errorf("%d GetCallerIdentity calls: the account is reached once", n)
	}
	// IAM refusing the lookup: the state is unknown, and the error says which call.
	w.srv.Inject(awsemu.Fault{Action: "ListServiceSpecificCredentials", Kind: "denied"})
	got, err := w.r.CheckCredential(ctx, acct, incident(t, w.keys["BedrockAPIKey-aaaa"]))
	if got != triage.StateUnknown || err == nil || !strings.HasPrefix(err.Error(), "ListServiceSpecificCredentials BedrockAPIKey-aaaa: ") {
		t.Errorf("denied: %s %v", got, err)
	}
}

// How an account is reached: a role assumed from the base credentials, a
// profile of the shared files, or the base credentials, which must be the
// account's own. A failure is remembered: the account is not retried for
// every incident.
func TestReach(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	viaRole := triage.Account{ID: member, RoleARN: "arn:aws:iam::" + member + ":role/bks-triage", Regions: []string{"eu-central-1"}}
	for range 2 {
		got, err := w.r.CheckCredential(ctx, viaRole, incident(t, w.keys["BedrockAPIKey-bbbb"]))
		if err != nil || got != triage.StateActive {
			t.Fatalf("through the role: %s %v", got, err)
		}
	}
	if n := w.srv.CountCalls("AssumeRole"); n != 1 {
		t.Errorf("%d AssumeRole calls, want 1", n)
	}
	for _, c := range w.srv.Calls() {
		if c.Service == "sts" && c.Region != "eu-central-1" {
			t.Errorf("%s in %s: without --region the account's first region is used", c.Action, c.Region)
		}
	}

	if got, err := w.r.CheckCredential(ctx, triage.Account{ID: ours, Profile: "payments"}, incident(t, w.keys["BedrockAPIKey-aaaa"])); err != nil || got != triage.StateActive {
		t.Errorf("through the profile: %s %v", got, err)
	}
	_, err := w.r.CheckCredential(ctx, triage.Account{ID: "999999999999", Profile: "nope"}, incident(t, w.keys["BedrockAPIKey-aaaa"]))
	if !errors.Is(err, awsops.ErrNoCredentials) || !strings.Contains(err.Error(), "reach account 999999999999") {
		t.Errorf("missing profile: %v", err)
	}

	wrong := triage.Account{ID: stranger, Name: "partner"}
	inc := incident(t, testkeys.LongTerm("BedrockAPIKey-cccc", stranger, testkeys.Secret(4)))
	w.srv.ResetCalls()
	for range 2 {
		got, err := w.r.CheckCredential(ctx, wrong, inc)
		if got != triage.StateUnknown || err == nil || err.Error() != "reach account 777788889999: the credentials for account 777788889999 (partner) are for account 111122223333" {
			t.Errorf("wrong credentials: %s %v", got, err)
		}
	}
	if _, _, err := w.r.Revoke(ctx, wrong, inc); err == nil {
		t.Error("revoke in an unreachable account")
	}
	if _, err := w.r.Timeline(ctx, wrong, inc, ""); err == nil {
		t.Error("timeline of an unreachable account")
	}
	if err := w.r.Report(ctx, wrong, inc, ""); err == nil {
		t.Error("report of an unreachable account")
	}
	if n := len(w.srv.Calls()); n != 1 {
		t.Errorf("%d calls for an account that failed once, want its one GetCallerIdentity", n)
	}
}

func TestVerify(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	inc := incident(t, w.keys["BedrockAPIKey-aaaa"])
	if _, err := w.r.Verify(ctx, inc); err == nil || err.Error() != "live check not configured" {
		t.Errorf("without a checker: %v", err)
	}
	chk, err := verify.New(verify.Options{EndpointURL: w.srv.TLSURL, HTTPClient: w.srv.TLSClient(), Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	w.r.Checker = chk
	if got, err := w.r.Verify(ctx, inc); err != nil || got != string(verify.Live) {
		t.Errorf("live key: %q %v", got, err)
	}
	if got, _ := w.r.Verify(ctx, incident(t, testkeys.LongTerm("BedrockAPIKey-aaaa", ours, testkeys.Secret(5)))); got != string(verify.Invalid) {
		t.Errorf("made-up key: %q", got)
	}
}

func TestRevokeLongTerm(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	acct := triage.Account{ID: ours}
	inc := incident(t, w.keys["BedrockAPIKey-aaaa"])
	changed, detail, err := w.r.Revoke(ctx, acct, inc)
	if err != nil || !changed || detail != "3 write call(s) on arn:aws:iam::111122223333:user/BedrockAPIKey-aaaa" {
		t.Fatalf("revoke: %v %q %v", changed, detail, err)
	}
	u, _ := w.srv.User(ours, "BedrockAPIKey-aaaa")
	if u.InlinePolicies[revoke.UserPolicyName] == "" || len(u.ServiceCredentials) != 0 || u.AccessKeys[0].Status != "Inactive" {
		t.Errorf("after revoke: %+v", u)
	}
	if n := strings.Count(w.audit.String(), "\n"); n != 3 {
		t.Errorf("%d audit records, want 3:\n%s", n, w.audit.String())
	}
	w.srv.ResetCalls()
	changed, detail, err = w.r.Revoke(ctx, acct, inc)
	if err != nil || changed || detail != "already revoked: arn:aws:iam::111122223333:user/BedrockAPIKey-aaaa" {
		t.Errorf("second revoke: %v %q %v", changed, detail, err)
	}
	if wc := w.srv.WriteCalls(); len(wc) != 0 {
		t.Errorf("second revoke wrote: %+v", wc)
	}
	// Revoke refuses what revoke-key refuses: here the caller itself.
	self := incident(t, testkeys.LongTerm("bks-admin", ours, testkeys.Secret(6)))
	if _, _, err := w.r.Revoke(ctx, acct, self); !errors.Is(err, revoke.ErrRefused) {
		t.Errorf("revoking the caller: %v", err)
	}
}

// A short-term key is revoked on the role that issued it, found through
// CloudTrail in the key's region or the account's.
func TestRevokeShortTerm(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	cfg := w.srv.AWSConfig("us-east-1")
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + ours + ":role/app-role"), RoleSessionName: aws.String("ci"),
	})
	if err != nil {
		t.Fatal(err)
	}
	asia := aws.ToString(out.Credentials.AccessKeyId)
	key := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: asia, SecretKey: "x", SessionToken: aws.ToString(out.Credentials.SessionToken),
		Region: "eu-west-1", Issued: t0.Add(-time.Minute), Expires: 43200})
	if err := w.srv.AddEvent(ours, awsemu.Event{Region: "ap-northeast-1", Time: t0.Add(-time.Minute), Name: "InvokeModel",
		Source: "bedrock.amazonaws.com", AccessKeyID: asia, IdentityType: "AssumedRole", IdentityARN: aws.ToString(out.AssumedRoleUser.Arn)}); err != nil {
		t.Fatal(err)
	}
	inc := incident(t, key)
	tg := respond.Target(inc)
	if tg.Kind != revoke.KindShortTerm || tg.AccessKeyID != asia || tg.Region != "eu-west-1" || tg.Account != ours || tg.Key != inc.Redacted {
		t.Errorf("target %+v", tg)
	}
	changed, detail, err := w.r.Revoke(ctx, triage.Account{ID: ours, Regions: []string{"us-east-1", "ap-northeast-1"}}, inc)
	if err != nil || !changed || !strings.HasSuffix(detail, "write call(s) on arn:aws:iam::111122223333:role/app-role") {
		t.Fatalf("revoke: %v %q %v", changed, detail, err)
	}
	var lookups []string
	for _, c := range w.srv.Calls() {
		if c.Action == "LookupEvents" {
			lookups = append(lookups, c.Region)
		}
	}
	if strings.Join(lookups, " ") != "eu-west-1 us-east-1 ap-northeast-1" {
		t.Errorf("issuer looked up in %v", lookups)
	}
}

func TestTarget(t *testing.T) {
	inc := incident(t, testkeys.ClaudeLongTerm("c1a0", ours, testkeys.Secret(9)))
	tg := respond.Target(inc)
	want := revoke.Target{Kind: revoke.KindLongTerm, Service: "aws-external-anthropic.amazonaws.com", Account: ours, UserName: "AeaApiKey-c1a0", Key: inc.Redacted}
	if tg != want {
		t.Errorf("Claude Platform target %+v, want %+v", tg, want)
	}
	if tg := respond.Target(incident(t, testkeys.LongTerm("BedrockAPIKey-aaaa", ours, testkeys.Secret(1)))); tg.Service != "bedrock.amazonaws.com" || tg.UserName != "BedrockAPIKey-aaaa" {
		t.Errorf("Bedrock target %+v", tg)
	}
}

func TestTimeline(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	dir := t.TempDir()
	inc := incident(t, w.keys["BedrockAPIKey-aaaa"])
	got, err := w.r.Timeline(ctx, triage.Account{ID: ours, Regions: []string{"us-east-1", "eu-west-1"}}, inc, dir)
	if err != nil || got != "2 event(s) in 2 region(s)" {
		t.Fatalf("timeline: %q %v", got, err)
	}
	var res timeline.Result
	readJSON(t, filepath.Join(dir, "timeline.json"), &res)
	if len(res.Events) != 2 || res.Days != 7 || strings.Join(res.Lookups, " ") != "Username=BedrockAPIKey-aaaa" {
		t.Errorf("timeline.json: %+v", res)
	}
	// No regions configured: the partition's defaults. No directory: only the summary.
	got, err = w.r.Timeline(ctx, triage.Account{ID: ours}, inc, "")
	if err != nil || got != "2 event(s) in "+itoa(len(revoke.DefaultRegions("aws")))+" region(s)" {
		t.Errorf("default regions: %q %v", got, err)
	}
}

// A short-term key's timeline looks its access key id up in the key's own
// region first, then the account's.
func TestTimelineShortTerm(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	asia := testkeys.AccessKeyID("ASIA", ours, 7)
	key := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: asia, SecretKey: "x", SessionToken: "tok",
		Region: "eu-west-1", Issued: t0.Add(-time.Hour), Expires: 43200})
	if err := w.srv.AddEvent(ours, awsemu.Event{Region: "eu-west-1", Time: t0.Add(-30 * time.Minute), Name: "InvokeModel",
		Source: "bedrock.amazonaws.com", AccessKeyID: asia, IdentityType: "AssumedRole", IdentityARN: "arn:aws:sts::" + ours + ":assumed-role/app-role/ci"}); err != nil {
		t.Fatal(err)
	}
	inc := incident(t, key)
	for _, tc := range []struct{ configured, want []string }{
		{[]string{"us-east-1"}, []string{"eu-west-1", "us-east-1"}},
		{[]string{"us-east-1", "eu-west-1"}, []string{"us-east-1", "eu-west-1"}},
		{nil, []string{"eu-west-1"}},
	} {
		dir := t.TempDir()
		got, err := w.r.Timeline(ctx, triage.Account{ID: ours, Regions: tc.configured}, inc, dir)
		if err != nil || got != "1 event(s) in "+itoa(len(tc.want))+" region(s)" {
			t.Errorf("%v: %q %v", tc.configured, got, err)
		}
		var res timeline.Result
		readJSON(t, filepath.Join(dir, "timeline.json"), &res)
		if strings.Join(res.Regions, " ") != strings.Join(tc.want, " ") || strings.Join(res.Lookups, " ") != "AccessKeyId="+asia {
			t.Errorf("%v: regions %v, lookups %v", tc.configured, res.Regions, res.Lookups)
		}
	}
}

func TestReport(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "inc")
	if err := w.r.Report(ctx, triage.Account{ID: ours, Regions: []string{"us-east-1", "eu-west-1"}}, incident(t, w.keys["BedrockAPIKey-aaaa"]), dir); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil || !strings.Contains(string(md), "BedrockAPIKey-aaaa") || !strings.Contains(string(md), "Cost Explorer is not queried during triage") {
		t.Errorf("report.md: %v\n%s", err, md)
	}
	var rep map[string]any
	readJSON(t, filepath.Join(dir, "report.json"), &rep)
	for _, name := range []string{"report.md", "report.json"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", name, fi.Mode(), err)
		}
	}
	if err := w.r.Report(ctx, triage.Account{ID: ours}, incident(t, w.keys["BedrockAPIKey-aaaa"]), ""); err != nil {
		t.Errorf("report without a directory: %v", err)
	}
	// A directory that cannot be made is an error, not a silent loss.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.r.Report(ctx, triage.Account{ID: ours}, incident(t, w.keys["BedrockAPIKey-aaaa"]), filepath.Join(blocker, "inc")); err == nil {
		t.Error("report into a file's subdirectory succeeded")
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
