package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

// Without --audit-log, cleanup and revoke-key write their audit log into the
// user's state directory ($XDG_STATE_HOME/bks, else ~/.local/state/bks),
// never into the current directory (usually the user's repository), and say
// where it went.
func TestAuditLogDefaultsToStateDir(t *testing.T) {
	const acct = "111122223333"
	user := "BedrockAPIKey-q1w2"
	key := testkeys.LongTerm(user, acct, testkeys.Secret(5))
	srv, env := irEmulator(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: []*awsemu.User{
		{Name: user, ServiceCredentials: []*awsemu.ServiceCred{{Secret: key}}},
		{Name: "BedrockAPIKey-orph"},
	}}}})
	work := t.TempDir()
	t.Chdir(work)
	state, home := t.TempDir(), t.TempDir()

	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"revoke-key, XDG_STATE_HOME", map[string]string{"XDG_STATE_HOME": state, "HOME": home},
			[]string{"revoke-key", "--endpoint-url", srv.URL, "--yes", key}, filepath.Join(state, "bks", "bks-audit.jsonl")},
		{"cleanup, HOME", map[string]string{"HOME": home},
			[]string{"cleanup", "--endpoint-url", srv.URL, "--yes", "--rate=-1"}, filepath.Join(home, ".local", "state", "bks", "bks-audit.jsonl")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range env {
				tc.env[k] = v
			}
			code, out, errOut := runCLIEnv(t, tc.env, "", tc.args...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s\n%s", code, errOut, out)
			}
			if _, err := os.Stat(filepath.Join(work, "bks-audit.jsonl")); err == nil {
				t.Error("the audit log was written into the current directory")
			}
			b, err := os.ReadFile(tc.want)
			if err != nil || !strings.Contains(string(b), `"result":"ok"`) {
				t.Fatalf("audit log at %s: %v %q", tc.want, err, b)
			}
			if !strings.Contains(out, "Audit log: "+tc.want) {
				t.Errorf("output does not say where the audit log went:\n%s", out)
			}
		})
	}
}
