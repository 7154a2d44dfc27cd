package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

// irEmulator starts the emulator and points the SDK's environment at it.
func irEmulator(t *testing.T, seed *awsemu.Seed) (*awsemu.Server, map[string]string) {
	t.Helper()
	srv, err := awsemu.New(seed, awsemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           awsemu.CallerAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       "emulator-secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "us-east-1",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_BEARER_TOKEN_BEDROCK":    "",
		"AWS_ENDPOINT_URL":            "",
		"AWS_CA_BUNDLE":               "",
	} {
		t.Setenv(k, v)
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, srv.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, map[string]string{"AWS_CA_BUNDLE": ca}
}

func TestRevokeKeyCommand(t *testing.T) {
	const acct = "111122223333"
	user := "BedrockAPIKey-q1w2"
	key := testkeys.LongTerm(user, acct, testkeys.Secret(5))
	srv, env := irEmulator(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: []*awsemu.User{
		{Name: user, ServiceCredentials: []*awsemu.ServiceCred{{Secret: key}}, AccessKeys: []*awsemu.AccessKey{{}}},
	}}}})
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	base := []string{"revoke-key", "--endpoint-url", srv.URL, "--audit-log", auditPath}

	// Dry run: the exact calls and documents, no write.
	code, out, errOut := runCLIEnv(t, env, "", append(base, "--dry-run", key)...)
	if code != ExitOK {
		t.Fatalf("dry run exit %d: %s", code, errOut)
	}
	for _, want := range []string{"iam:PutUserPolicy UserName=" + user + " PolicyName=BKS-RevokeBedrockKeys", `"bedrock-mantle:*"`, "aws:TokenIssueTime", "iam:DeleteServiceSpecificCredential", "iam:UpdateAccessKey", "Dry run: no change made"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, key) {
		t.Error("output holds the key")
	}
	if w := srv.WriteCalls(); len(w) != 0 {
		t.Fatalf("dry run wrote: %+v", w)
	}

	// No terminal and no --yes: refused.
	code, _, errOut = runCLIEnv(t, env, "", append(base, key)...)
	if code != ExitFailure || !strings.Contains(errOut, "--yes") || len(srv.WriteCalls()) != 0 {
		t.Fatalf("no --yes: exit %d %s", code, errOut)
	}

	// The revocation, then the live check (key read from stdin).
	code, out, errOut = runCLIEnv(t, env, key+"\n", append(base, "--yes", "--verify", "--verify-endpoint-url", srv.TLSURL, "-")...)
	if code != ExitOK {
		t.Fatalf("revoke exit %d: %s\n%s", code, errOut, out)
	}
	if !strings.Contains(out, "no longer works") {
		t.Errorf("no dead-key line:\n%s", out)
	}
	st, err := os.Stat(auditPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("audit log: %v %v", err, st)
	}
	b, _ := os.ReadFile(auditPath)
	if n := strings.Count(string(b), "\n"); n != 3 {
		t.Errorf("audit log has %d records:\n%s", n, b)
	}

	// Again: nothing changes, and it says so.
	srv.ResetCalls()
	code, out, _ = runCLIEnv(t, env, "", append(base, "--yes", key)...)
	if code != ExitOK || !strings.Contains(out, "Nothing to change") || len(srv.WriteCalls()) != 0 {
		t.Errorf("second run: exit %d\n%s", code, out)
	}
}

// revoke-key's live check takes detect's and triage's flags: a long-term
// key is not checked in us-east-1 by default (a GovCloud key would be
// called dead from the wrong partition) but in the partition that answers.
func TestRevokeKeyVerifyFlags(t *testing.T) {
	_, out, _ := runCLI(t, "", "revoke-key", "--help")
	if strings.Contains(out, `default "us-east-1"`) {
		t.Errorf("--verify-region defaults to us-east-1:\n%s", out)
	}
	for _, flag := range []string{"--verify-region", "--verify-endpoint "} {
		if !strings.Contains(out, flag) {
			t.Errorf("help lacks %s:\n%s", flag, out)
		}
	}
}
