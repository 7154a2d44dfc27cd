package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/awsops/incident"
	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testgit"
)

// liveTarget is where the live-account check runs: the emulator (every
// `go test`) or a real sandbox account (make test-aws).
type liveTarget struct {
	cfg        aws.Config        // the responder's credentials: creates and deletes the throwaway user
	account    string            // the account it acts in
	env        map[string]string // bks's environment
	awsArgs    []string          // extra flags of AWS commands (--endpoint-url for the emulator)
	verifyArgs []string          // extra flags of bks verify
	wait       time.Duration     // how long AWS may take to show a change (IAM, CloudTrail)
}

// TestLiveAccount is the live-account check (issue 15 §4): a throwaway IAM
// user with a real Bedrock API key and a locally signed short-term key,
// both committed to a temporary repository; detect git --triage --execute
// with the account set to revoke; then the key is dead, the timeline shows
// its calls and the report has every section; everything created is
// deleted, even on failure. The same body runs against the emulator in
// every `go test` and against a sandbox account with BKS_AWS_LIVE=1 and
// BKS_AWS_LIVE_ACCOUNT=<id> (make test-aws).
func TestLiveAccount(t *testing.T) {
	t.Run("emulator", func(t *testing.T) { runLiveCheck(t, emulatorLiveTarget(t)) })
	t.Run("aws", func(t *testing.T) {
		tg, why := awsLiveTarget(t)
		if tg == nil {
			t.Skip(why)
		}
		runLiveCheck(t, tg)
	})
}

func emulatorLiveTarget(t *testing.T) *liveTarget {
	const acct = "111122223333"
	srv, env := irEmulator(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct}}})
	srv.RecordBearerCalls(true)
	// Runs after the check's own cleanup: nothing it created is left.
	t.Cleanup(func() {
		out, err := iam.NewFromConfig(srv.AWSConfig("us-east-1")).ListUsers(context.Background(), &iam.ListUsersInput{})
		if err != nil || len(out.Users) != 0 {
			t.Errorf("left behind: %v %+v", err, out)
		}
	})
	return &liveTarget{
		cfg: srv.AWSConfig("us-east-1"), account: acct, env: env,
		awsArgs:    []string{"--endpoint-url", srv.URL},
		verifyArgs: []string{"--endpoint-url", srv.TLSURL},
	}
}

// awsLiveTarget is the sandbox account named by BKS_AWS_LIVE_ACCOUNT, when
// BKS_AWS_LIVE=1 and the credentials bks would use are that account's;
// else nil and why the check is skipped.
func awsLiveTarget(t *testing.T) (*liveTarget, string) {
	if os.Getenv("BKS_AWS_LIVE") != "1" {
		return nil, "live AWS check not enabled: run `make test-aws` with BKS_AWS_LIVE=1, BKS_AWS_LIVE_ACCOUNT=<sandbox account id> and AWS credentials (AWS_PROFILE) of that account; it creates and deletes a throwaway IAM user and Bedrock API key there"
	}
	want := os.Getenv("BKS_AWS_LIVE_ACCOUNT")
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("BKS_AWS_LIVE=1: load AWS config: %v", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	id, err := awsops.WhoAmI(ctx, sts.NewFromConfig(cfg))
	if err != nil {
		t.Fatalf("BKS_AWS_LIVE=1: %v", err)
	}
	if want == "" || id.Account != want {
		t.Fatalf("refusing to run: the credentials are account %s's (%s), and BKS_AWS_LIVE_ACCOUNT=%q: set it to the sandbox account's id to allow this account", id.Account, id.ARN, want)
	}
	env := map[string]string{}
	for _, k := range []string{"AWS_CA_BUNDLE", "HOME", "XDG_STATE_HOME"} {
		env[k] = os.Getenv(k)
	}
	return &liveTarget{cfg: cfg, account: id.Account, env: env, wait: 20 * time.Minute}, ""
}

func runLiveCheck(t *testing.T, tg *liveTarget) {
	ctx := context.Background()
	region := tg.cfg.Region
	iamc := iam.NewFromConfig(tg.cfg)
	var suffix [4]byte
	rand.Read(suffix[:])
	user := "bks-live-" + hex.EncodeToString(suffix[:])
	// The cleanup is registered before anything exists, so it runs
	// whatever fails after.
	t.Cleanup(func() { deleteLiveUser(t, iamc, user) })

	longKey, shortKey := makeLiveKeys(ctx, t, iamc, tg.cfg, user)
	verify := func(key string) string {
		_, out, _ := runCLIEnv(t, tg.env, key+"\n", append([]string{"verify", "--json", "-"}, tg.verifyArgs...)...)
		return out
	}
	// The new key works (IAM may take a moment), and its calls are in
	// CloudTrail.
	eventually(t, tg.wait, "the new key to work", func() bool { return strings.Contains(verify(longKey), `"status":"live"`) })
	eventually(t, tg.wait, "the short-term key to work", func() bool { return strings.Contains(verify(shortKey), `"status":"live"`) })

	repo := testgit.New(t, testgit.Options{})
	repo.Write("config/bedrock.env", "AWS_BEARER_TOKEN_BEDROCK="+longKey+"\nSESSION_KEY="+shortKey+"\n")
	repo.Commit("add bedrock config")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "accounts.toml")
	os.WriteFile(cfgPath, fmt.Appendf(nil, "[[accounts]]\nid = %q\nname = \"live\"\nregions = [%q]\nrevoke = true\ntimeline = true\nreport = true\n", tg.account, region), 0o600)
	args := append([]string{"detect", "git", repo.Dir, "--config", cfgPath, "--triage", "--execute",
		"--state", filepath.Join(dir, "state.json"), "--out", filepath.Join(dir, "incidents"), "--audit-log", filepath.Join(dir, "audit.jsonl")}, tg.awsArgs...)
	code, out, errOut := runCLIEnv(t, tg.env, "", args...)
	t.Logf("detect --triage --execute: exit %d\n%s%s", code, out, errOut)
	if code != ExitFound || !strings.Contains(out+errOut, user) {
		t.Fatalf("detect --triage --execute: exit %d\n%s%s", code, out, errOut)
	}

	eventually(t, tg.wait, "the revoked key to be invalid", func() bool { return strings.Contains(verify(longKey), `"status":"invalid"`) })
	eventually(t, tg.wait, "the short-term key to stop working", func() bool {
		out := verify(shortKey)
		return strings.Contains(out, `"status":"invalid"`) || strings.Contains(out, `"explicit_deny":true`)
	})

	var tl struct {
		Events []struct {
			Name        string `json:"event_name"`
			BearerToken bool   `json:"bearer_token"`
		}
	}
	eventually(t, tg.wait, "the timeline to show the key's calls", func() bool {
		_, out, _ := runCLIEnv(t, tg.env, "", append([]string{"timeline", "--json", "--regions", region, "--days", "1", user}, tg.awsArgs...)...)
		tl.Events = nil
		json.Unmarshal([]byte(out), &tl)
		for _, e := range tl.Events {
			if e.Name == "ListFoundationModels" && e.BearerToken {
				return true
			}
		}
		return false
	})

	code, out, errOut = runCLIEnv(t, tg.env, "", append([]string{"report", "--format", "json", "--regions", region, "--days", "1", user}, tg.awsArgs...)...)
	var rep struct{ Sections map[string]incident.Section }
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report: exit %d %v\n%s%s", code, err, out, errOut)
	}
	for _, s := range incident.SectionOrder {
		if sec, ok := rep.Sections[s]; !ok || (sec.State != incident.StateOK && sec.Reason == "") {
			t.Errorf("report section %s: %+v", s, sec)
		}
	}
}

// makeLiveKeys creates user with the rights an API key needs, a Bedrock
// API key on it (CreateServiceSpecificCredential, one day) and a
// short-term key signed locally with an access key of the user, as AWS's
// token generators do (a SigV4-presigned CallWithBearerToken URL).
func makeLiveKeys(ctx context.Context, t *testing.T, iamc *iam.Client, cfg aws.Config, user string) (long, short string) {
	t.Helper()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("set up %s: %v", user, err)
		}
	}
	must(iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(user)}))
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["bedrock:ListFoundationModels","bedrock:CallWithBearerToken"],"Resource":"*"}]}`
	must(iamc.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String("bks-live-test"), PolicyDocument: aws.String(doc)}))
	cred, err := iamc.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{
		UserName: aws.String(user), ServiceName: aws.String("bedrock.amazonaws.com"), CredentialAgeDays: aws.Int32(1)})
	must(cred, err)
	ak, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
	must(ak, err)
	creds := aws.Credentials{AccessKeyID: aws.ToString(ak.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(ak.AccessKey.SecretAccessKey)}
	return aws.ToString(cred.ServiceSpecificCredential.ServiceCredentialSecret), presignBearerToken(ctx, t, creds, cfg.Region)
}

// presignBearerToken signs a short-term Bedrock API key locally.
func presignBearerToken(ctx context.Context, t *testing.T, creds aws.Credentials, region string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "https://bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Expires=900", nil)
	empty := sha256.Sum256(nil)
	u, _, err := v4.NewSigner().PresignHTTP(ctx, creds, req, hex.EncodeToString(empty[:]), "bedrock", region, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	return "bedrock-api-key-" + base64.StdEncoding.EncodeToString([]byte(strings.TrimPrefix(u, "https://")+"&Version=1"))
}

// deleteLiveUser deletes user and everything the check put on it or
// revoke added (credentials, keys, inline policies); gone is fine.
func deleteLiveUser(t *testing.T, iamc *iam.Client, user string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	u := aws.String(user)
	if creds, err := iamc.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{UserName: u}); err == nil {
		for _, c := range creds.ServiceSpecificCredentials {
			iamc.DeleteServiceSpecificCredential(ctx, &iam.DeleteServiceSpecificCredentialInput{UserName: u, ServiceSpecificCredentialId: c.ServiceSpecificCredentialId})
		}
	}
	if keys, err := iamc.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: u}); err == nil {
		for _, k := range keys.AccessKeyMetadata {
			iamc.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: u, AccessKeyId: k.AccessKeyId})
		}
	}
	if pols, err := iamc.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: u}); err == nil {
		for _, p := range pols.PolicyNames {
			iamc.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: u, PolicyName: aws.String(p)})
		}
	}
	if att, err := iamc.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: u}); err == nil {
		for _, p := range att.AttachedPolicies {
			iamc.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: u, PolicyArn: p.PolicyArn})
		}
	}
	if _, err := iamc.DeleteUser(ctx, &iam.DeleteUserInput{UserName: u}); err != nil && !awsops.IsNotFound(err) {
		t.Errorf("cleanup: could not delete the throwaway user %s: %v (delete it by hand)", user, err)
	}
}

// eventually polls cond until it holds or wait has passed (at least once).
func eventually(t *testing.T, wait time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %s", what, wait)
		}
		time.Sleep(10 * time.Second)
	}
}
