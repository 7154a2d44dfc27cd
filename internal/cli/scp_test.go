package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/awsops/scp"
)

func TestSCPCommands(t *testing.T) {
	code, out, _ := runCLI(t, "", "scp", "list")
	if code != 0 {
		t.Fatalf("list exit %d", code)
	}
	for _, n := range scp.Names() {
		if !strings.Contains(out, n) {
			t.Errorf("list lacks %s", n)
		}
	}

	code, out, errOut := runCLI(t, "", "scp", "show", "deny-all-api-keys", "--partition", "aws-cn")
	if code != 0 {
		t.Fatalf("show exit %d: %s", code, errOut)
	}
	if _, err := scp.Parse([]byte(out)); err != nil {
		t.Fatalf("show output: %v", err)
	}

	code, out, _ = runCLI(t, "", "scp", "show", "all", "--partition", "aws-us-gov")
	if code != 0 {
		t.Fatalf("show all exit %d", code)
	}
	var set map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &set); err != nil || len(set) != len(scp.Names()) {
		t.Fatalf("show all: %v, %d policies", err, len(set))
	}
	if strings.Contains(out, "arn:aws:") || !strings.Contains(out, "arn:aws-us-gov:") {
		t.Error("show all: ARNs not in aws-us-gov")
	}

	code, out, _ = runCLI(t, "", "scp", "show", "all", "--format", "terraform")
	if code != 0 || strings.Count(out, `resource "aws_organizations_policy" `) != len(scp.Names()) {
		t.Fatalf("terraform: exit %d\n%s", code, out)
	}

	for _, args := range [][]string{
		{"scp", "show", "nope"},
		{"scp", "show", "deny-all-api-keys", "--format", "yaml"},
		{"scp", "show", "deny-all-api-keys", "--partition", "aws-moon"},
	} {
		if code, _, _ := runCLI(t, "", args...); code != ExitFailure {
			t.Errorf("%v: exit %d, want %d", args, code, ExitFailure)
		}
	}
}

// `bks scp show` explains the break-glass exemption on stderr (stdout stays
// a policy document) and --break-glass replaces the default principal.
func TestSCPShowBreakGlass(t *testing.T) {
	code, out, errOut := runCLI(t, "", "scp", "show", "protect-phantom-users", "--partition", "aws-us-gov")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := scp.Parse([]byte(out)); err != nil {
		t.Fatalf("stdout is not a policy: %v", err)
	}
	if !strings.Contains(out, `"aws:PrincipalArn": "arn:aws-us-gov:iam::*:role/bks-responder"`) ||
		!strings.Contains(errOut, "break-glass principal(s) arn:aws-us-gov:iam::*:role/bks-responder") || !strings.Contains(errOut, "OrganizationAccountAccessRole included") {
		t.Errorf("default break-glass:\n%s\n%s", out, errOut)
	}
	code, out, errOut = runCLI(t, "", "scp", "show", "protect-phantom-users", "--break-glass", "arn:aws:iam::*:role/ir-*", "--break-glass", "arn:aws:iam::*:role/OrganizationAccountAccessRole")
	if code != 0 || !strings.Contains(out, `"arn:aws:iam::*:role/ir-*",`) || strings.Contains(out, "bks-responder") || !strings.Contains(errOut, "role/ir-*, arn:aws:iam::*:role/OrganizationAccountAccessRole") {
		t.Errorf("--break-glass: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut = runCLI(t, "", "scp", "show", "protect-phantom-users", "--break-glass", "bks-responder"); code != ExitFailure || !strings.Contains(errOut, "not an ARN pattern") {
		t.Errorf("a bad --break-glass: exit %d %s", code, errOut)
	}
	if _, _, errOut = runCLI(t, "", "scp", "show", "deny-all-api-keys"); strings.Contains(errOut, "break-glass") {
		t.Errorf("explained for a policy without exemption: %s", errOut)
	}
}

// The break-glass principals can live in .bks.toml ([scp] break_glass);
// --break-glass overrides the file; a bad pattern there is a configuration
// error naming the line.
func TestSCPShowBreakGlassFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, ".bks.toml")
	if err := os.WriteFile(cfg, []byte("[scp]\nbreak_glass = [\"arn:{{partition}}:iam::*:role/security/ir-*\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "scp", "show", "protect-phantom-users", "--config", cfg, "--partition", "aws-us-gov")
	if code != 0 || !strings.Contains(out, `"arn:aws-us-gov:iam::*:role/security/ir-*"`) || strings.Contains(out, "bks-responder") ||
		!strings.Contains(errOut, "break-glass principal(s) arn:aws-us-gov:iam::*:role/security/ir-*") || !strings.Contains(errOut, cfg) {
		t.Errorf("from config: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLIEnv(t, map[string]string{"BKS_CONFIG": cfg}, "", "scp", "show", "protect-phantom-users", "--break-glass", "arn:aws:iam::*:role/other")
	if code != 0 || !strings.Contains(out, "role/other") || strings.Contains(out, "security/ir-") {
		t.Errorf("--break-glass over BKS_CONFIG: exit %d\n%s", code, out)
	}
	if err := os.WriteFile(cfg, []byte("# x\n[scp]\nbreak_glass = [\"bks-responder\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "", "scp", "show", "protect-phantom-users", "--config", cfg); code != ExitFailure || !strings.Contains(errOut, ".bks.toml:3: scp.break_glass[0]") || !strings.Contains(errOut, "not an ARN pattern") {
		t.Errorf("bad pattern in config: exit %d %s", code, errOut)
	}
}

// A break-glass pattern with a control character (a terminal escape from a
// scanned repository's .bks.toml) is refused, never printed raw.
func TestSCPBreakGlassRefusesControlCharacters(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), ".bks.toml")
	if err := os.WriteFile(cfg, []byte("[scp]\nbreak_glass = [\"arn:aws:iam::*:role/x\\u001b[2J\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "", "scp", "show", "protect-phantom-users", "--config", cfg)
	if code != ExitFailure || strings.Contains(errOut, "\x1b") || !strings.Contains(errOut, "not an ARN pattern") {
		t.Errorf("exit %d %q", code, errOut)
	}
}

// A break-glass pattern that names every principal (a role or user name of
// wildcards only, or no resource at all) would make the SCP protect
// nothing; a scanned repository's .bks.toml, read from the current
// directory, must not be able to do that quietly. It is refused.
func TestSCPBreakGlassRefusesExemptEveryone(t *testing.T) {
	for _, p := range []string{"arn:aws:iam::*:role/*", "arn:aws:iam::*:*", "arn:*", "arn:aws:iam::111122223333:user/?*", "arn:aws:sts::*:assumed-role/*/*"} {
		cfg := filepath.Join(t.TempDir(), ".bks.toml")
		if err := os.WriteFile(cfg, []byte("[scp]\nbreak_glass = [\""+p+"\"]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runCLI(t, "", "scp", "show", "protect-phantom-users", "--config", cfg)
		if code != ExitFailure || !strings.Contains(errOut, "every") {
			t.Errorf("%s: exit %d\n%s%s", p, code, out, errOut)
		}
	}
	code, _, errOut := runCLI(t, "", "scp", "show", "protect-phantom-users", "--break-glass", "arn:aws:iam::*:role/security/ir-*")
	if code != 0 {
		t.Errorf("a named role prefix: exit %d %s", code, errOut)
	}
}
