package cli

import (
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/awsemu"
)

// A delegated-admin org scan, as issue 15 asks: the caller sits in a
// delegated administrator account, which may list the organization's
// accounts but cannot assume OrganizationAccountAccessRole (it trusts only
// the management account, as AWS creates it). The default scan reports
// each member's refusal and points at --org-role; with --org-role naming a
// role that trusts the delegated account, every member is scanned and its
// phantom user found.
func TestOrgScanFromDelegatedAdmin(t *testing.T) {
	const mgmt, delegated, member = "999988887777", "555566667777", "444455556666"
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + delegated + `:root"},"Action":"sts:AssumeRole"}]}`
	audit := &awsemu.Role{Name: "bks-audit", AssumeRolePolicy: trust, AttachedPolicies: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}}
	srv, env := irEmulator(t, &awsemu.Seed{
		Caller: &awsemu.SeedCaller{Account: delegated},
		Accounts: []*awsemu.Account{{ID: delegated}, {ID: mgmt, Roles: []*awsemu.Role{audit}}, {ID: member,
			Users: []*awsemu.User{{Name: "BedrockAPIKey-x1y2"}},
			Roles: []*awsemu.Role{audit}}},
		Organization: &awsemu.Organization{ManagementAccount: mgmt, DelegatedAdministrators: []string{delegated}, Accounts: []*awsemu.OrgAccountRef{
			{ID: mgmt, Name: "mgmt"}, {ID: delegated, Name: "security"}, {ID: member, Name: "ml"}}},
	})
	code, out, errOut := runCLIEnv(t, env, "", "scan", "--org", "--rate=-1", "--endpoint-url", srv.URL)
	if code != ExitFailure {
		t.Fatalf("default role from a delegated admin: exit %d, want %d\n%s%s", code, ExitFailure, out, errOut)
	}
	for _, want := range []string{"== account " + member + " (ml)", "AssumeRole refused", "trusts only the management account", "--org-role"} {
		if !strings.Contains(out+errOut, want) {
			t.Errorf("default role: lacks %q:\n%s%s", want, out, errOut)
		}
	}
	code, out, errOut = runCLIEnv(t, env, "", "scan", "--org", "--org-role", "bks-audit", "--rate=-1", "--endpoint-url", srv.URL)
	if strings.Contains(out+errOut, "FAILED") || strings.Contains(out+errOut, "could not be scanned") {
		t.Errorf("--org-role bks-audit: an account still refused (exit %d):\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "BedrockAPIKey-x1y2") {
		t.Errorf("--org-role bks-audit: exit %d, phantom user of %s not reported:\n%s%s", code, member, out, errOut)
	}
}
