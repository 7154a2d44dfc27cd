// Package demo is the end-to-end test of the whole pipeline exactly as
// `make demo` runs it: the real bks binary, a git repository with keys in
// its history, the loopback AWS emulator, detect --triage --execute, twice.
package demo

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testbin"
)

type incident struct {
	Fingerprint string `json:"fingerprint"`
	RuleID      string `json:"rule_id"`
	AccountID   string `json:"account_id"`
	ThirdParty  bool   `json:"third_party"`
	Severity    string `json:"severity"`
	Credential  string `json:"credential_state"`
	Advice      string `json:"advice"`
	RevokedAt   string `json:"revoked_at"`
	Account     *struct {
		Name string `json:"name"`
	} `json:"account"`
	Actions []struct {
		Action  string `json:"action"`
		Outcome string `json:"outcome"`
	} `json:"actions"`
	Places []struct {
		Path   string `json:"path"`
		Commit string `json:"commit"`
		InHead *bool  `json:"in_head"`
	} `json:"places"`
}

func (i *incident) outcome(action string) string {
	for _, a := range i.Actions {
		if a.Action == action {
			return a.Outcome
		}
	}
	return ""
}

func buildBKS(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	return testbin.BKS(t)
}

// TestMain removes the bks binary the test builds (testbin).
func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }

func TestDemoPipeline(t *testing.T) {
	bin := buildBKS(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "demo", "--dir", dir)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bks demo: %v\n%s", err, out)
	}
	text := string(out)
	first, second, ok := strings.Cut(text, "A second run changes nothing")
	if !ok {
		t.Fatalf("no second run in the demo output:\n%s", text)
	}

	pipe := filepath.Join(dir, "pipeline")
	entries, err := os.ReadDir(filepath.Join(pipe, "incidents"))
	if err != nil {
		t.Fatal(err)
	}
	byAccount := map[string]*incident{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(pipe, "incidents", e.Name(), "incident.json"))
		if err != nil {
			t.Fatal(err)
		}
		var inc incident
		if err := json.Unmarshal(b, &inc); err != nil {
			t.Fatal(err)
		}
		name := inc.AccountID
		if inc.RuleID == "bedrock-short-term" {
			name = "expired"
		}
		byAccount[name] = &inc
	}
	if len(byAccount) != 4 {
		t.Fatalf("%d incidents, want 4: %v", len(byAccount), byAccount)
	}
	// The payments key: revoked (its account says revoke = true), with
	// its timeline and report, found in a commit whose file is gone.
	// incident.json is the last run's view (revoke skipped: already
	// done); actions.jsonl keeps every run's actions.
	p := byAccount["111122223333"]
	if p == nil || p.Credential != "revoked" || p.RevokedAt == "" || p.outcome("revoke") != "skipped" || p.Severity != "low" {
		t.Errorf("payments incident: %+v", p)
	} else {
		b, _ := os.ReadFile(filepath.Join(pipe, "incidents", p.Fingerprint[:16], "actions.jsonl"))
		if n := strings.Count(string(b), `"action":"revoke","outcome":"done"`); n != 1 {
			t.Errorf("payments key revoked %d times:\n%s", n, b)
		}
		if p.Places[0].Path != ".env" || p.Places[0].Commit == "" || p.Places[0].InHead == nil || *p.Places[0].InHead {
			t.Errorf("payments key place: %+v", p.Places)
		}
		for _, f := range []string{"report.md", "report.json", "timeline.json", "actions.jsonl"} {
			if _, err := os.Stat(filepath.Join(pipe, "incidents", p.Fingerprint[:16], f)); err != nil {
				t.Errorf("payments incident lacks %s", f)
			}
		}
	}
	// The ML key: reported, never revoked, still active.
	if m := byAccount["444455556666"]; m == nil || m.Credential != "active" || m.outcome("revoke") != "" || m.RevokedAt != "" ||
		m.Severity != "critical" || m.outcome("report") != "done" {
		t.Errorf("ml-research incident: %+v", m)
	}
	// The unknown account's key: a third-party incident with advice.
	if u := byAccount["777788889999"]; u == nil || !u.ThirdParty || u.Account != nil || !strings.Contains(u.Advice, "777788889999") || len(u.Actions) != 0 {
		t.Errorf("third-party incident: %+v", u)
	}
	// The expired short-term key: low severity, nothing revoked.
	if x := byAccount["expired"]; x == nil || x.Severity != "low" || x.Credential != "expired" || x.outcome("revoke") != "skipped" {
		t.Errorf("expired incident: %+v", x)
	}
	// Exactly one revocation, all of it in the payments account.
	f, err := os.Open(filepath.Join(pipe, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	writes := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct{ Account, Action, Result string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Account != "111122223333" || r.Result != "ok" {
			t.Errorf("audit record outside payments or failed: %s", sc.Text())
		}
		writes++
	}
	if writes == 0 {
		t.Error("no write call audited")
	}
	for _, want := range []string{
		"BedrockAPIKey-9ptf   Bedrock credentials: 0 active of 0; access keys: 0 active; inline policies: BKS-RevokeBedrockKeys",
		"Bedrock credentials: 1 active of 1; access keys: 1 active; inline policies: none",
		"0 in ml-research", "invalid", "live", "* not a known account: 1 third-party",
		"KPIs (state file): 2 open incident(s), 1 key(s) revoked, 1 third-party",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("first run output lacks %q", want)
		}
	}
	if strings.Count(first, "changed: new incident") != 4 {
		t.Errorf("first run: want 4 new incidents")
	}
	// The second run changes nothing.
	for _, want := range []string{"No change since the last run.", "No write call in the second run.", "revoke:skipped"} {
		if !strings.Contains(second, want) {
			t.Errorf("second run output lacks %q", want)
		}
	}
	if strings.Contains(second, "changed:") || strings.Contains(second, "revoke:done") {
		t.Errorf("second run changed something:\n%s", second)
	}
	// No secret in the output: only redacted keys.
	if strings.Contains(text, "ABSKQmVkcm9ja0FQSUtleS1") && strings.Contains(text, "…") {
		for _, line := range strings.Split(text, "\n") {
			if strings.Contains(line, "ABSKQmVkcm9ja0FQSUtleS1") && !strings.Contains(line, "…") {
				t.Errorf("a whole key in the demo output: %.80s", line)
			}
		}
	}
}
