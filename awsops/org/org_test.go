package org_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/awsops/iamscan"
	"github.com/bks-dev/bks/awsops/org"
	"github.com/bks-dev/bks/internal/awsemu"
)

func TestMain(m *testing.M) {
	awsemu.IsolateEnv()
	os.Exit(m.Run())
}

// An organization of 5 accounts (plus a suspended one) where AssumeRole
// into one fails: the other four are scanned, the failure is reported
// with the account, and the suspended account is never tried.
func TestSweepFiveAccountsOneRefused(t *testing.T) {
	mgmt := "100000000001"
	ids := []string{mgmt, "200000000002", "300000000003", "400000000004", "500000000005"}
	var accounts []*awsemu.Account
	refs := []*awsemu.OrgAccountRef{{ID: "600000000006", Status: "SUSPENDED"}}
	for i, id := range ids {
		a := &awsemu.Account{ID: id, Users: []*awsemu.User{{Name: "BedrockAPIKey-" + id[:4], ServiceCredentials: []*awsemu.ServiceCred{{}}}}}
		if i == 3 {
			a.NoOrgRole = true
		}
		accounts = append(accounts, a)
		refs = append(refs, &awsemu.OrgAccountRef{ID: id})
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s, err := awsemu.New(&awsemu.Seed{Accounts: accounts, Organization: &awsemu.Organization{ManagementAccount: mgmt, Accounts: refs}}, awsemu.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	cfg := s.AWSConfig("us-east-1")
	caller, err := awsops.WhoAmI(ctx, sts.NewFromConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	accts, err := org.ListAccounts(ctx, organizations.NewFromConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != 5 {
		t.Fatalf("ACTIVE accounts = %d, want 5", len(accts))
	}
	var mu sync.Mutex
	scanned := map[string]int{}
	var progress []int
	sw := &org.Sweep{Base: cfg, Caller: caller, Parallel: 3, Rate: -1, Progress: func(done, total int, a org.Account, err error) {
		progress = append(progress, done)
	}}
	results, err := sw.Run(ctx, accts, func(ctx context.Context, a org.Account, cfg aws.Config) error {
		id, err := awsops.WhoAmI(ctx, sts.NewFromConfig(cfg))
		if err != nil {
			return err
		}
		if id.Account != a.ID {
			t.Errorf("acting in %s for account %s", id.Account, a.ID)
		}
		rep, err := (&iamscan.Scanner{IAM: iam.NewFromConfig(cfg), Account: a.ID}).Run(ctx)
		if err != nil {
			return err
		}
		mu.Lock()
		scanned[a.ID] = len(rep.Users)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
			if r.Account.ID != ids[3] || awsops.ErrorCode(r.Err) != "AccessDenied" || !strings.Contains(r.Err.Error(), "OrganizationAccountAccessRole") {
				t.Errorf("account %s: %v", r.Account.ID, r.Err)
			}
		}
	}
	if failed != 1 || len(scanned) != 4 || len(progress) != 5 {
		t.Fatalf("failed=%d scanned=%v progress=%v", failed, scanned, progress)
	}
	for id, n := range scanned {
		if n != 1 {
			t.Errorf("account %s: %d users", id, n)
		}
	}
	if got := org.Filter(accts, nil, []string{ids[1]}); len(got) != 4 {
		t.Errorf("skip: %d", len(got))
	}
	if got := org.Filter(accts, []string{ids[1], ids[2]}, []string{ids[2]}); len(got) != 1 || got[0].ID != ids[1] {
		t.Errorf("only+skip: %v", got)
	}
}
