package cli

import (
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/awsemu"
)

// An account without OrganizationAccountAccessRole (invited accounts may
// lack it; it trusts only the management account anyway): the scan says
// per account why AssumeRole failed and what to do (--org-role), and the
// help no longer promises the default role works from a delegated admin.
func TestOrgAssumeRoleFailureExplained(t *testing.T) {
	srv, env := irEmulator(t, &awsemu.Seed{
		Accounts: []*awsemu.Account{{ID: "111122223333"}, {ID: "333344445555", NoOrgRole: true}},
		Organization: &awsemu.Organization{ManagementAccount: "111122223333", Accounts: []*awsemu.OrgAccountRef{
			{ID: "111122223333", Name: "mgmt"}, {ID: "333344445555", Name: "invited"}}},
	})
	code, out, errOut := runCLIEnv(t, env, "", "scan", "--org", "--rate=-1", "--endpoint-url", srv.URL)
	if code != ExitFailure {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"== account 333344445555 (invited)", "AssumeRole refused", "OrganizationAccountAccessRole", "trusts only the management account", "--org-role"} {
		if !strings.Contains(out+errOut, want) {
			t.Errorf("lacks %q:\n%s%s", want, out, errOut)
		}
	}
	_, help, _ := runCLIEnv(t, env, "", "scan", "--help")
	if strings.Contains(help, "from the management or a delegated admin account)") || !strings.Contains(help, "--org-role") {
		t.Errorf("--org help:\n%s", help)
	}
}
