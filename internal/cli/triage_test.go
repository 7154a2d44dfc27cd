package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/testkeys"
)

// bks triage on a saved JSONL report: without --execute it only plans, and
// calls nothing (no AWS is reachable here: an --endpoint-url nobody serves).
func TestTriagePlanFromJSONL(t *testing.T) {
	ours := testkeys.LongTerm("BedrockAPIKey-tri1", "111122223333", testkeys.Secret(81))
	theirs := testkeys.LongTerm("someone", "777788889999", testkeys.Secret(82))
	old := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: testkeys.AccessKeyID("ASIA", "111122223333", 83),
		SecretKey: "x", SessionToken: "t", Region: "us-east-1", Issued: time.Now().Add(-48 * time.Hour), Expires: 60})
	dir := writeTree(t, map[string]string{
		"src/a.env": "K=" + ours + "\nL=" + theirs + "\n",
		"src/b.log": "Authorization: Bearer " + old + "\n",
		"src/c.py":  "k = '" + ours + "'\n",
	})
	cfg := filepath.Join(t.TempDir(), "bks.toml")
	if err := os.WriteFile(cfg, []byte("[[accounts]]\nid = \"111122223333\"\nname = \"payments\"\nrevoke = true\nreport = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(t.TempDir(), "f.jsonl")
	if code, _, errOut := runCLI(t, "", "detect", "files", dir, "--format", "jsonl", "-o", report); code != 1 {
		t.Fatalf("detect: %d %s", code, errOut)
	}
	state := filepath.Join(t.TempDir(), "state.json")
	code, out, errOut := runCLI(t, "", "triage", report, "--config", cfg, "--state", state, "--endpoint-url", "http://127.0.0.1:9")
	if code != 1 {
		t.Fatalf("triage: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"payments", "check:planned revoke:planned report:planned", "777788889999*", "third-party", "expired", "action(s) planned, none run: add --execute"} {
		if !strings.Contains(out, want) {
			t.Errorf("triage output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "changed: new incident") != 3 {
		t.Errorf("want 3 incidents (one key in two places):\n%s", out)
	}
	// The plan changes nothing: a rerun has nothing new.
	_, out, _ = runCLI(t, "", "triage", report, "--config", cfg, "--state", state, "--endpoint-url", "http://127.0.0.1:9")
	if !strings.Contains(out, "No change since the last run.") {
		t.Errorf("rerun:\n%s", out)
	}
	// A config error is reported with its line.
	if err := os.WriteFile(cfg, []byte("[[accounts]]\nid = \"1111\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "", "triage", report, "--config", cfg); code != 2 || !strings.Contains(errOut, ":2:") {
		t.Errorf("bad config: exit %d %s", code, errOut)
	}
}
