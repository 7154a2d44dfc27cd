package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testkeys"
)

// The must-show of the baseline: round trip, a new key on a baselined line,
// a baselined key moved to another file.
func TestBaselineRoundTrip(t *testing.T) {
	k1 := testkeys.LongTerm("BedrockAPIKey-base", "123456789012", testkeys.Secret(71))
	k2 := testkeys.LongTerm("BedrockAPIKey-new1", "123456789012", testkeys.Secret(72))
	dir := writeTree(t, map[string]string{"app/.env": "A=1\nAWS_BEARER_TOKEN_BEDROCK=" + k1 + "\n"})
	base := filepath.Join(t.TempDir(), "bks-baseline.jsonl")

	if code, _, errOut := runCLI(t, "", "detect", "files", dir, "--baseline-out", base); code != 1 {
		t.Fatalf("first scan: exit %d %s", code, errOut)
	}
	b, err := os.ReadFile(base)
	if err != nil || strings.Contains(string(b), k1) || strings.Contains(string(b), "app/.env") {
		t.Fatalf("baseline must hold no secret and no path: %s %v", b, err)
	}
	if code, out, errOut := runCLI(t, "", "detect", "files", dir, "--baseline", base); code != 0 || out != "" {
		t.Fatalf("rescan with baseline: exit %d, out %q %s", code, out, errOut)
	}
	// Shown on request, and marked in SARIF, but never counted.
	if code, out, _ := runCLI(t, "", "detect", "files", dir, "--baseline", base, "--format", "sarif"); code != 0 || !strings.Contains(out, `"suppressions"`) {
		t.Fatalf("sarif with baseline: exit %d\n%.300s", code, out)
	}
	// A new key on the very line that was baselined is reported.
	if err := os.WriteFile(filepath.Join(dir, "app/.env"), []byte("A=1\nAWS_BEARER_TOKEN_BEDROCK="+k1+" OLD="+k2+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "", "detect", "files", dir, "--baseline", base, "--format", "jsonl")
	if code != 1 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "BedrockAPIKey-new1") {
		t.Fatalf("new key on a baselined line: exit %d\n%s", code, out)
	}
	// The baselined key moved to another file stays suppressed.
	if err := os.WriteFile(filepath.Join(dir, "app/.env"), []byte("A=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "moved.py"), []byte("\n\nKEY = '"+k1+"'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "", "detect", "files", dir, "--baseline", base, "--report-unused"); code != 0 || out != "" || strings.Contains(errOut, "matched nothing") {
		t.Fatalf("moved key: exit %d out %q err %s", code, out, errOut)
	}
	// --report-unused lists an entry that matched nothing.
	os.Remove(filepath.Join(dir, "moved.py"))
	if _, _, errOut := runCLI(t, "", "detect", "files", dir, "--baseline", base, "--report-unused"); !strings.Contains(errOut, "matched nothing") {
		t.Fatalf("--report-unused: %s", errOut)
	}
}

func TestDetectConfigTypoAndAllowlist(t *testing.T) {
	k := testkeys.LongTerm("BedrockAPIKey-cfg1", "123456789012", testkeys.Secret(73))
	dir := writeTree(t, map[string]string{
		".bks.toml":  "# config\n[[allowlists]]\nid = \"fixtures\"\npaths = [\"fixtures/\"]\nstopword = [\"x\"]\n",
		"fixtures/a": "K=" + k + "\n",
		"src/b.go":   "var k = \"" + k + "\" // bks:allow reason=\"demo key\"\n",
		"src/c.env":  "K=" + k + "\n",
	})
	code, _, errOut := runCLI(t, "", "detect", "files", dir)
	if code != 2 || !strings.Contains(errOut, ".bks.toml:5:") || !strings.Contains(errOut, "stopword") {
		t.Fatalf("typo: exit %d, stderr %s", code, errOut)
	}
	if err := os.WriteFile(filepath.Join(dir, ".bks.toml"), []byte("[[allowlists]]\nid = \"fixtures\"\npaths = [\"fixtures/\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "detect", "files", dir, "--format", "jsonl")
	if code != 1 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "src/c.env") {
		t.Fatalf("allowlist + inline: exit %d %s\n%s", code, errOut, out)
	}
	_, out, _ = runCLI(t, "", "detect", "files", dir, "--format", "jsonl", "--show-suppressed")
	if !strings.Contains(out, `"suppressed":"inline"`) || !strings.Contains(out, `"suppressed":"allowlist:fixtures"`) {
		t.Fatalf("--show-suppressed:\n%s", out)
	}
}

// `bks detect git .` on bks's own repository exits 0: its fixtures are
// allowlisted in its .bks.toml and everything else builds keys in code.
func TestDetectGitOnOwnRepository(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	if out, err := exec.Command("git", "-C", root, "rev-parse", "--is-inside-work-tree").Output(); err != nil || strings.TrimSpace(string(out)) != "true" {
		t.Skip("not a git checkout")
	}
	t.Chdir(root)
	code, out, errOut := runCLI(t, "", "detect", "git", ".")
	if code != 0 {
		t.Fatalf("bks detect git . on bks: exit %d\n%s\n%s", code, out, errOut)
	}
}
