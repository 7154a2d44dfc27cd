package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/auth/bearer"

	"github.com/bks-dev/bks/awsops/kpi"
	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

// kpisEmulator is an account with two live long-term keys (a Bedrock key,
// and an access key of a phantom user whose own Bedrock key is
// inactive), whose CloudTrail holds one Bedrock call made with an API key
// and three by a role session.
func kpisEmulator(t *testing.T) (*awsemu.Server, map[string]string) {
	const acct = "111122223333"
	long := testkeys.LongTerm("BedrockAPIKey-kp01", acct, testkeys.Secret(61))
	srv, env := irEmulator(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct,
		Users: []*awsemu.User{
			{Name: "BedrockAPIKey-kp01", ServiceCredentials: []*awsemu.ServiceCred{{Secret: long}}},
			{Name: "BedrockAPIKey-kp02", ServiceCredentials: []*awsemu.ServiceCred{{Status: "Inactive"}},
				AccessKeys: []*awsemu.AccessKey{{ID: testkeys.AccessKeyID("AKIA", acct, 62)}}},
			{Name: "dev", AccessKeys: []*awsemu.AccessKey{{ID: testkeys.AccessKeyID("AKIA", acct, 63)}}},
		},
		Roles: []*awsemu.Role{{Name: "app"}},
	}}})
	srv.RecordBearerCalls(true)
	ctx := context.Background()
	b := bedrock.NewFromConfig(srv.BedrockConfig("us-east-1"), func(o *bedrock.Options) {
		o.BearerAuthTokenProvider = bearer.StaticTokenProvider{Token: bearer.Token{Value: long}}
		o.AuthSchemePreference = []string{"httpBearerAuth"}
	})
	if _, err := b.ListFoundationModels(ctx, &bedrock.ListFoundationModelsInput{}); err != nil {
		t.Fatal(err)
	}
	cfg := srv.AWSConfig("us-east-1")
	ar, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + acct + ":role/app"), RoleSessionName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	rcfg := cfg.Copy()
	rcfg.Credentials = credentials.NewStaticCredentialsProvider(*ar.Credentials.AccessKeyId, *ar.Credentials.SecretAccessKey, *ar.Credentials.SessionToken)
	for range 3 {
		if _, err := bedrock.NewFromConfig(rcfg).ListFoundationModels(ctx, &bedrock.ListFoundationModelsInput{}); err != nil {
			t.Fatal(err)
		}
	}
	return srv, env
}

// writeTriageState writes a bks triage state file: a key revoked 10
// minutes after its detection, one still open, one deleted (when is not
// known), one of a third party.
func writeTriageState(t *testing.T) string {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	revoked := t0.Add(10 * time.Minute)
	entry := func(fp string, third bool, cred string, rev *time.Time) map[string]any {
		return map[string]any{"fingerprint": fp, "rule_id": "bedrock-long-term", "redacted": "ABSK…" + fp, "account_id": "111122223333",
			"third_party": third, "severity": "critical", "credential_state": cred, "first_detected": t0, "last_seen": t0,
			"revoked_at": rev, "places": 1}
	}
	b, _ := json.Marshal(map[string]any{"version": 1, "incidents": map[string]any{
		"fp1": entry("fp1", false, "revoked", &revoked),
		"fp2": entry("fp2", false, "active", nil),
		"fp3": entry("fp3", false, "deleted", nil),
		"fp4": entry("fp4", true, "active", nil),
	}})
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKPIs: bks kpis reads the live keys from an IAM scan, the role share
// from CloudTrail (through LookupEvents by event source) and the MTTR
// from the triage state, as text and as JSON.
func TestKPIs(t *testing.T) {
	srv, env := kpisEmulator(t)
	state := writeTriageState(t)
	args := []string{"kpis", "--state", state, "--regions", "us-east-1", "--endpoint-url", srv.URL}
	code, out, errOut := runCLIEnv(t, env, "", append(args, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var rep kpi.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rep.Accounts) != 1 {
		t.Fatalf("accounts %+v", rep.Accounts)
	}
	a := rep.Accounts[0]
	if !a.KeysKnown || a.LiveKeys != 2 {
		t.Errorf("live keys %d (known %v), want 2", a.LiveKeys, a.KeysKnown)
	}
	if a.Calls.Role != 3 || a.Calls.APIKey != 1 || a.Calls.LongTermKey != 1 || a.RoleShare == nil || *a.RoleShare != 0.75 {
		t.Errorf("calls %+v share %v, want 3 role, 1 long-term API key, 0.75", a.Calls, a.RoleShare)
	}
	m := rep.MTTR
	if m.Remediated != 1 || m.Open != 1 || m.Untimed != 1 || m.MeanSeconds == nil || *m.MeanSeconds != 600 {
		t.Errorf("MTTR %+v, want 1 remediated in 600 s, 1 open, 1 at an unknown time", m)
	}
	if len(rep.Incomplete) != 0 {
		t.Errorf("incomplete: %v", rep.Incomplete)
	}
	code, out, errOut = runCLIEnv(t, env, "", args...)
	if code != 0 || !strings.Contains(out, "111122223333") || !strings.Contains(out, "75.0%") || !strings.Contains(out, "10m0s over 1 incident(s); 1 open") {
		t.Errorf("text: exit %d\n%s%s", code, out, errOut)
	}
}

// A region whose CloudTrail cannot be read makes the share incomplete:
// the report says so and the exit code is 2, never a clean-looking share.
func TestKPIsIncompleteRegion(t *testing.T) {
	srv, env := kpisEmulator(t)
	srv.Inject(awsemu.Fault{Action: "LookupEvents", Region: "eu-west-1", Kind: "denied"})
	code, out, errOut := runCLIEnv(t, env, "", "kpis", "--regions", "us-east-1,eu-west-1", "--endpoint-url", srv.URL)
	if code != 2 || !strings.Contains(out, "INCOMPLETE: Bedrock calls: region eu-west-1") || !strings.Contains(errOut, "incomplete") {
		t.Errorf("exit %d, want 2 naming eu-west-1\n%s%s", code, out, errOut)
	}
}

// bks serve eventbridge prints the stack; a plain-http URL is refused.
func TestServeEventBridgeCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "", "serve", "eventbridge", "--url", "https://bks.example.com/events/aws", "--format", "cloudformation", "--events-header", "X-Api-Key")
	var tpl map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &tpl) != nil || !strings.Contains(out, `"ApiKeyName": "X-Api-Key"`) {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "", "serve", "eventbridge", "--url", "http://bks.example.com/events/aws"); code != 2 || !strings.Contains(errOut, "https") {
		t.Errorf("http URL: exit %d %s", code, errOut)
	}
}
