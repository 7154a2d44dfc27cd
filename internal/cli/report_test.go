package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/awsemu"
)

func TestReportCommand(t *testing.T) {
	const acct = "111122223333"
	user := "BedrockAPIKey-rp01"
	srv, env := irEmulator(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct,
		Users:  []*awsemu.User{{Name: user, ServiceCredentials: []*awsemu.ServiceCred{{}}}},
		Events: []*awsemu.Event{{Region: "us-east-1", Time: time.Now().Add(-time.Hour), Name: "InvokeModel", Source: "bedrock.amazonaws.com", Username: user}},
		Costs:  []*awsemu.Cost{{Date: time.Now().UTC().Format("2006-01-02"), Service: "Claude 3.5 Sonnet (Amazon Bedrock Edition)", Amount: 12.5}},
	}}})
	out := filepath.Join(t.TempDir(), "incident.md")
	os.WriteFile(out, []byte("old"), 0o644) // an existing file is narrowed to 0600
	// The report replaces the file whole: it is never truncated and
	// rewritten in place (a failed write would leave half a report). A
	// hard link to the old file keeps the old bytes.
	keep := out + ".link"
	if err := os.Link(out, keep); err != nil {
		t.Fatal(err)
	}
	code, stdout, errOut := runCLIEnv(t, env, "", "report", "--endpoint-url", srv.URL, "--regions", "us-east-1", "--format", "markdown", "--output", out, user)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if stdout != "" || !strings.Contains(errOut, "report written") {
		t.Errorf("stdout %q stderr %q", stdout, errOut)
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("output mode: %v %v", err, st.Mode())
	}
	if old, _ := os.ReadFile(keep); string(old) != "old" {
		t.Errorf("the old report was rewritten in place: %.40q", old)
	}
	b, _ := os.ReadFile(out)
	md := string(b)
	for _, w := range []string{"# Incident report: IAM user " + user, "## Bedrock credentials", "Model invocations: 1",
		"## Bedrock cost (Cost Explorer)", "Claude 3.5 Sonnet (Amazon Bedrock Edition): 12.5 USD", "## Recommended actions"} {
		if !strings.Contains(md, w) {
			t.Errorf("report lacks %q:\n%s", w, md)
		}
	}
	if code, _, _ := runCLIEnv(t, env, "", "report", "--endpoint-url", srv.URL, "--format", "pdf", user); code != ExitFailure {
		t.Errorf("bad format: exit %d", code)
	}
}

// TestReportUnknownUser: a user name that does not exist is an error (exit
// 2, "not found"), with no report and no CloudTrail search. Before: exit 0
// and a report whose every section was "unavailable". A key whose user was
// deleted still gets its report: its CloudTrail history is the incident.
func TestReportUnknownUser(t *testing.T) {
	const acct = "111122223333"
	srv, env := irEmulator(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct,
		Users: []*awsemu.User{{Name: "BedrockAPIKey-rp02"}},
	}}})
	code, stdout, errOut := runCLIEnv(t, env, "", "report", "--endpoint-url", srv.URL, "--regions", "us-east-1", "--no-cost", "NoSuchUser")
	if code != ExitFailure || stdout != "" || !strings.Contains(errOut, "user NoSuchUser not found in account "+acct) {
		t.Errorf("exit %d, stdout %q, stderr %q; want %d, no report, and the user not found", code, stdout, errOut, ExitFailure)
	}
	if n := srv.CountCalls("LookupEvents"); n != 0 {
		t.Errorf("%d CloudTrail calls for a user that does not exist", n)
	}
}
