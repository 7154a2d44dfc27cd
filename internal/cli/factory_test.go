package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/internal/testkeys"
)

// TestFactorySwap runs `bks scan` with a factory whose AWS accounts come
// from the emulator: no AWS_* variable, no endpoint flag, no credentials
// chain. Commands build their clients from the factory only.
func TestFactorySwap(t *testing.T) {
	const acct = "111122223333"
	user := "BedrockAPIKey-fs01"
	srv, err := awsemu.New(&awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: []*awsemu.User{
		{Name: user, ServiceCredentials: []*awsemu.ServiceCred{{Secret: testkeys.LongTerm(user, acct, testkeys.Secret(9))}}},
	}}}}, awsemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	var out, errb bytes.Buffer
	f := cmdutil.New(&IO{Out: &out, Err: &errb})
	var asked []string
	f.AWS = func(ctx context.Context, fl *cmdutil.AWSFlags) (*cmdutil.AWSAccount, error) {
		asked = append(asked, fl.Profile)
		return &cmdutil.AWSAccount{
			Config: srv.AWSConfig("us-east-1"),
			Caller: awsops.Identity{Account: acct, ARN: "arn:aws:iam::" + acct + ":user/bks-admin", Partition: "aws"},
		}, nil
	}
	code := runFactory(context.Background(), []string{"scan", "--profile", "swapped"}, f)
	if code != ExitFound || len(asked) != 1 || asked[0] != "swapped" {
		t.Fatalf("exit %d, factory asked for %q; stderr %s", code, asked, errb.String())
	}
	if !strings.Contains(out.String(), user) {
		t.Errorf("scan through the swapped factory does not list %s:\n%s", user, out.String())
	}
}
