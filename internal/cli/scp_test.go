package cli

import (
	"encoding/json"
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
