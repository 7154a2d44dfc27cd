package cleanup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/bks-dev/bks/awsops/audit"
	"github.com/bks-dev/bks/awsops/cleanup"
	"github.com/bks-dev/bks/awsops/iamscan"
	"github.com/bks-dev/bks/internal/awsemu"
)

const acct = "111122223333"

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	awsemu.IsolateEnv()
	os.Exit(m.Run())
}

func days(n int) time.Time { return now.AddDate(0, 0, -n) }

type env struct {
	s     *awsemu.Server
	api   *iam.Client
	log   bytes.Buffer
	clean *cleanup.Cleaner
}

func setup(t *testing.T, users ...*awsemu.User) *env {
	t.Helper()
	s, err := awsemu.New(&awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: users}}}, awsemu.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	e := &env{s: s, api: iam.NewFromConfig(s.AWSConfig("us-east-1"))}
	e.clean = &cleanup.Cleaner{IAM: e.api, Account: acct, Audit: audit.New(&e.log), Now: func() time.Time { return now }}
	return e
}

func (e *env) scan(t *testing.T) *iamscan.Report {
	t.Helper()
	sc := &iamscan.Scanner{IAM: e.api, Account: acct, Now: func() time.Time { return now }}
	rep, err := sc.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// The orphan the original toolkit could not delete: a dormant login
// profile, a virtual MFA device, a group, policies, a boundary, inactive
// keys. Every dependent goes in order; no DeleteConflict.
func orphan() *awsemu.User {
	return &awsemu.User{
		Name:                "BedrockAPIKey-old1",
		Created:             days(400),
		ServiceCredentials:  []*awsemu.ServiceCred{{Status: "Inactive"}, {Service: "codecommit.amazonaws.com", Status: "Inactive"}},
		AccessKeys:          []*awsemu.AccessKey{{Status: "Inactive", LastUsed: ptr(days(300))}},
		LoginProfile:        &awsemu.LoginProfile{Created: days(400)},
		MFADevices:          []*awsemu.MFADevice{{}},
		SigningCertificates: []*awsemu.Certificate{{ID: "CERTID0000000000000001", Status: "Inactive"}},
		SSHPublicKeys:       []*awsemu.SSHKey{{ID: "APKAEXAMPLE000000001", Status: "Inactive"}},
		Groups:              []string{"bedrock-users"},
		AttachedPolicies:    []string{"arn:aws:iam::aws:policy/AmazonBedrockLimitedAccess"},
		InlinePolicies:      map[string]string{"extra": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`},
		PermissionsBoundary: "arn:aws:iam::aws:policy/PowerUserAccess",
	}
}

func ptr[T any](v T) *T { return &v }

func TestCleanDeletesOrphanWithEveryDependent(t *testing.T) {
	e := setup(t, orphan())
	rep := e.scan(t)
	orphans := cleanup.Orphans(rep)
	if len(orphans) != 1 {
		t.Fatalf("orphans = %d (%+v)", len(orphans), rep.Users)
	}
	out := e.clean.Clean(context.Background(), orphans[0])
	if out.Result != cleanup.Deleted {
		t.Fatalf("result %s: %s", out.Result, out.Detail)
	}
	if _, ok := e.s.User(acct, "BedrockAPIKey-old1"); ok {
		t.Fatal("user still exists")
	}
	wantOrder := []string{"DeleteAccessKey", "DeleteServiceSpecificCredential", "DeleteServiceSpecificCredential", "DeleteLoginProfile",
		"DeactivateMFADevice", "DeleteVirtualMFADevice", "DeleteSigningCertificate", "DeleteSSHPublicKey", "RemoveUserFromGroup",
		"DetachUserPolicy", "DeleteUserPolicy", "DeleteUserPermissionsBoundary", "DeleteUser"}
	var got []string
	for _, c := range e.s.WriteCalls() {
		if c.Status != 200 {
			t.Errorf("%s answered %d %s", c.Action, c.Status, c.Code)
		}
		got = append(got, c.Action)
	}
	if strings.Join(got, ",") != strings.Join(wantOrder, ",") {
		t.Fatalf("write calls\n got %v\nwant %v", got, wantOrder)
	}
	// One audit line per write call.
	lines := strings.Split(strings.TrimSpace(e.log.String()), "\n")
	if len(lines) != len(wantOrder) {
		t.Fatalf("audit lines = %d, want %d", len(lines), len(wantOrder))
	}
	var last audit.Record
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if last.Action != "iam:DeleteUser" || last.Result != "ok" || last.Account != acct || last.Target != "BedrockAPIKey-old1" || last.Time.IsZero() {
		t.Fatalf("last audit record %+v", last)
	}
}

// A user that gains an access key between the scan and the cleanup is
// skipped: no write call touches it.
func TestCleanSkipsUserChangedSinceScan(t *testing.T) {
	e := setup(t, orphan())
	orphans := cleanup.Orphans(e.scan(t))
	if err := e.s.Mutate(acct, func(a *awsemu.Account) error {
		for _, u := range a.Users {
			u.AccessKeys = append(u.AccessKeys, &awsemu.AccessKey{})
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out := e.clean.Clean(context.Background(), orphans[0])
	if out.Result != cleanup.Skipped || !strings.Contains(out.Detail, "AT RISK") {
		t.Fatalf("result %s: %s", out.Result, out.Detail)
	}
	if w := e.s.WriteCalls(); len(w) != 0 {
		t.Fatalf("write calls on a skipped user: %v", w)
	}
	if e.log.Len() != 0 {
		t.Fatalf("audit log: %s", e.log.String())
	}
}

// A change that keeps the user ORPHANED (a new group) still skips it.
func TestCleanSkipsAnyChange(t *testing.T) {
	e := setup(t, orphan())
	orphans := cleanup.Orphans(e.scan(t))
	e.s.Mutate(acct, func(a *awsemu.Account) error {
		a.Users[0].Groups = append(a.Users[0].Groups, "admins")
		return nil
	})
	out := e.clean.Clean(context.Background(), orphans[0])
	if out.Result != cleanup.Skipped || !strings.Contains(out.Detail, "changed since the scan") {
		t.Fatalf("result %s: %s", out.Result, out.Detail)
	}
}

func TestDryRunMakesNoWriteCall(t *testing.T) {
	e := setup(t, orphan(), &awsemu.User{Name: "BedrockAPIKey-old2"})
	e.clean.DryRun = true
	rep := e.scan(t)
	n := 0
	for _, u := range cleanup.Orphans(rep) {
		out := e.clean.Clean(context.Background(), u)
		if out.Result != cleanup.Planned || len(out.Steps) == 0 {
			t.Fatalf("dry run: %+v", out)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("orphans = %d", n)
	}
	if w := e.s.WriteCalls(); len(w) != 0 {
		t.Fatalf("dry run made %d write calls", len(w))
	}
	if len(e.s.UserNames(acct)) != 2 {
		t.Fatal("users deleted by a dry run")
	}
}

// AccessDenied on one user's lookup: UNKNOWN, never a cleanup candidate,
// and Clean refuses it even if asked.
func TestUnknownIsNeverDeleted(t *testing.T) {
	e := setup(t, &awsemu.User{Name: "BedrockAPIKey-hide"}, &awsemu.User{Name: "BedrockAPIKey-open"})
	e.s.Inject(awsemu.Fault{Action: "ListAccessKeys", Kind: "denied", Params: map[string]string{"UserName": "BedrockAPIKey-hide"}})
	rep := e.scan(t)
	orphans := cleanup.Orphans(rep)
	if len(orphans) != 1 || orphans[0].UserName != "BedrockAPIKey-open" {
		t.Fatalf("orphans %+v", orphans)
	}
	for _, u := range rep.Users {
		e.clean.Clean(context.Background(), u)
	}
	if _, ok := e.s.User(acct, "BedrockAPIKey-hide"); !ok {
		t.Fatal("UNKNOWN user deleted")
	}
	for _, c := range e.s.WriteCalls() {
		if c.Params["UserName"] == "BedrockAPIKey-hide" {
			t.Fatalf("write call on the UNKNOWN user: %s", c.Action)
		}
	}
	// Denied during the re-read too: skipped.
	e.s.Inject(awsemu.Fault{Action: "ListMFADevices", Kind: "denied"})
	e.s.Mutate(acct, func(a *awsemu.Account) error {
		a.Users = append(a.Users, &awsemu.User{Name: "BedrockAPIKey-late"})
		return nil
	})
	late := iamscan.User{UserName: "BedrockAPIKey-late", Phantom: true, Status: iamscan.Orphaned}
	if out := e.clean.Clean(context.Background(), late); out.Result != cleanup.Skipped {
		t.Fatalf("re-read denied: %+v", out)
	}
}

// A run that dies halfway can be run again: the second run re-reads what
// is left and finishes.
func TestCleanCanBeRunAgain(t *testing.T) {
	e := setup(t, orphan())
	e.s.Inject(awsemu.Fault{Action: "DeleteUserPolicy", Kind: "denied", Times: 1})
	out := e.clean.Clean(context.Background(), cleanup.Orphans(e.scan(t))[0])
	if out.Result != cleanup.Failed || !strings.Contains(out.Detail, "needs iam:DeleteUserPolicy") {
		t.Fatalf("first run: %+v", out)
	}
	out = e.clean.Clean(context.Background(), cleanup.Orphans(e.scan(t))[0])
	if out.Result != cleanup.Deleted {
		t.Fatalf("second run: %+v", out)
	}
	if strings.Count(e.log.String(), `"result":"error"`) != 1 {
		t.Fatalf("audit log:\n%s", e.log.String())
	}
}
