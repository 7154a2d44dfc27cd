package rules

import (
	"strings"
	"testing"
)

func TestAccounts(t *testing.T) {
	good := `
[[accounts]]
id = "111122223333"
name = "payments"
owner = "payments-team@example.com"
profile = "payments-admin"
regions = ["us-east-1", "eu-west-1"]
report = true
timeline = true
revoke = true
notify = "https://hooks.example.com/T000/B000"

[[accounts]]
id = "444455556666"
name = "ml"
role_arn = "arn:aws:iam::444455556666:role/OrganizationAccountAccessRole"
report = true
`
	cfg, err := Parse(".bks.toml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Accounts) != 2 || !cfg.Accounts[0].Revoke || cfg.Accounts[1].Revoke || cfg.Accounts[1].RoleARN == "" || cfg.Accounts[0].Line != 2 {
		t.Fatalf("accounts: %+v %+v", cfg.Accounts[0], cfg.Accounts[1])
	}
	bad := []struct{ text, want string }{
		{"[[accounts]]\nid = \"12345\"\n", ".bks.toml:2: accounts[0].id: account id \"12345\" is not 12 digits"},
		{"[[accounts]]\nname = \"x\"\n", ".bks.toml:1: accounts[0]: account has no id"},
		{"[[accounts]]\nid = \"111122223333\"\nrevok = true\n", ".bks.toml:3: accounts[0].revok: unknown key \"revok\""},
		{"[[accounts]]\nid = \"111122223333\"\nrevoke = \"yes\"\n", ".bks.toml:3: accounts[0].revoke"},
		{"[[accounts]]\nid = \"111122223333\"\nrole_arn = \"arn:aws:iam::999999999999:role/x\"\n", "role_arn is in account 999999999999"},
		{"[[accounts]]\nid = \"111122223333\"\nnotify = \"http://hooks.example.com/x\"\n", "notify must use https"},
		{"[[accounts]]\nid = \"111122223333\"\nregions = [\"us-east-1\", \"useast\"]\n", "\"useast\" is not an AWS region name"},
		{"[[accounts]]\nid = \"111122223333\"\n[[accounts]]\nid = \"111122223333\"\n", ".bks.toml:4: accounts[1].id: account 111122223333 is already configured on line 1"},
	}
	for _, tc := range bad {
		_, err := Parse(".bks.toml", []byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.text, err, tc.want)
		}
	}
}
