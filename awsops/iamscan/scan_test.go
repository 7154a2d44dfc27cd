package iamscan_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"

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
func ptr[T any](v T) *T    { return &v }

func start(t *testing.T, users ...*awsemu.User) (*awsemu.Server, *iamscan.Scanner) {
	t.Helper()
	s, err := awsemu.New(&awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: users}}}, awsemu.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	sc := &iamscan.Scanner{IAM: iam.NewFromConfig(s.AWSConfig("us-east-1")), Account: acct, Now: func() time.Time { return now }}
	return s, sc
}

func byName(rep *iamscan.Report) map[string]iamscan.User {
	m := map[string]iamscan.User{}
	for _, u := range rep.Users {
		m[u.UserName] = u
	}
	return m
}

// 1,500 users over many pages: every phantom user and every Bedrock key is
// found though ListUsers and ListServiceSpecificCredentials page by 100.
func TestScanManyPages(t *testing.T) {
	var users []*awsemu.User
	phantoms := 0
	for i := range 1500 {
		u := &awsemu.User{Name: fmt.Sprintf("dev-%04d", i)}
		if i%10 == 0 {
			u.Name = fmt.Sprintf("BedrockAPIKey-%04d", i)
			u.ServiceCredentials = []*awsemu.ServiceCred{{Created: days(10), Expires: ptr(now.AddDate(0, 0, 20))}}
			phantoms++
		}
		users = append(users, u)
	}
	// More Bedrock keys than one ListServiceSpecificCredentials page.
	for i := range 130 {
		users[i*10+1].ServiceCredentials = []*awsemu.ServiceCred{{Status: "Inactive"}}
	}
	s, sc := start(t, users...)
	rep, err := sc.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rep.Users), phantoms+130; got != want {
		t.Fatalf("users reported = %d, want %d", got, want)
	}
	if rep.Summary.PhantomUsers != phantoms || rep.Summary.BedrockKeys != phantoms+130 || rep.Summary.Active != phantoms || rep.Summary.Inactive != 130 {
		t.Fatalf("summary %+v", rep.Summary)
	}
	if n := s.CountCalls("ListUsers"); n != 15 {
		t.Fatalf("ListUsers pages = %d, want 15", n)
	}
	if n := countParam(s, "ListServiceSpecificCredentials", "AllUsers", "true"); n != 3 {
		t.Fatalf("account-wide credential pages = %d, want 3", n)
	}
	if w := s.WriteCalls(); len(w) != 0 {
		t.Fatalf("a scan made %d write calls", len(w))
	}
}

func countParam(s *awsemu.Server, action, k, v string) int {
	n := 0
	for _, c := range s.Calls() {
		if c.Action == action && c.Params[k] == v {
			n++
		}
	}
	return n
}

// A Bedrock key made through the API on an ordinary IAM user is found
// (the original toolkit matched BedrockAPIKey-* names only).
func TestScanFindsKeyOnOrdinaryUser(t *testing.T) {
	_, sc := start(t,
		&awsemu.User{Name: "alice", AccessKeys: []*awsemu.AccessKey{{LastUsed: ptr(days(1))}},
			ServiceCredentials: []*awsemu.ServiceCred{{Created: days(200)}}},
		&awsemu.User{Name: "bob"},
	)
	rep, err := sc.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Users) != 1 {
		t.Fatalf("reported %d users, want alice only", len(rep.Users))
	}
	u := rep.Users[0]
	if u.UserName != "alice" || u.Phantom || u.Status != iamscan.Active || !u.OverPolicy {
		t.Fatalf("alice: %+v", u)
	}
	reasons := strings.Join(u.Reasons, "; ")
	for _, want := range []string{"never expires", "older than 90 days", "created 200 days ago"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("reasons %q lack %q", reasons, want)
		}
	}
	if strings.Contains(reasons, "access key") {
		t.Errorf("an ordinary user's own access key is not a Bedrock risk: %q", reasons)
	}
}

// Throttled three times in a row, then answered: the SDK's retries carry
// the scan through and nothing is UNKNOWN.
func TestScanThrottledThenSucceeds(t *testing.T) {
	s, sc := start(t, &awsemu.User{Name: "BedrockAPIKey-ab12", ServiceCredentials: []*awsemu.ServiceCred{{Created: days(5), Expires: ptr(now.AddDate(0, 0, 5))}}})
	s.Inject(awsemu.Fault{Action: "ListAccessKeys", Kind: "throttle", Times: 3})
	s.Inject(awsemu.Fault{Action: "ListServiceSpecificCredentials", Kind: "throttle", Times: 3})
	rep, err := sc.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u := byName(rep)["BedrockAPIKey-ab12"]
	if u.Status != iamscan.Active || len(u.Errors) != 0 {
		t.Fatalf("after throttling: %s %v", u.Status, u.Errors)
	}
	if throttled := s.CountCode("Throttling"); throttled != 6 {
		t.Fatalf("throttled replies = %d, want 6", throttled)
	}
}

// AccessDenied on one user's lookup makes that user UNKNOWN with the
// permission named — never ORPHANED — and leaves the others alone.
func TestScanAccessDeniedIsUnknown(t *testing.T) {
	s, sc := start(t,
		&awsemu.User{Name: "BedrockAPIKey-deny"},
		&awsemu.User{Name: "BedrockAPIKey-okay"},
	)
	s.Inject(awsemu.Fault{Action: "ListAccessKeys", Kind: "denied", Params: map[string]string{"UserName": "BedrockAPIKey-deny"}})
	rep, err := sc.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := byName(rep)
	d := m["BedrockAPIKey-deny"]
	if d.Status != iamscan.Unknown {
		t.Fatalf("denied user: %s, want UNKNOWN", d.Status)
	}
	if want := "ListAccessKeys: AccessDenied — needs iam:ListAccessKeys"; len(d.Reasons) == 0 || d.Reasons[0] != want {
		t.Fatalf("reasons %q, want %q first", d.Reasons, want)
	}
	if m["BedrockAPIKey-okay"].Status != iamscan.Orphaned {
		t.Fatalf("other user: %s", m["BedrockAPIKey-okay"].Status)
	}
	if rep.Summary.Unknown != 1 || rep.Summary.Orphaned != 1 {
		t.Fatalf("summary %+v", rep.Summary)
	}
}

func TestScanListingFailsIsAnError(t *testing.T) {
	s, sc := start(t, &awsemu.User{Name: "BedrockAPIKey-ab12"})
	s.Inject(awsemu.Fault{Action: "ListServiceSpecificCredentials", Kind: "denied"})
	if _, err := sc.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "ListServiceSpecificCredentials") {
		t.Fatalf("err = %v", err)
	}
}

// A paging token that expires between two pages (AWS refuses it; the
// emulator after its MarkerTTL): the listing starts over, and the report is
// complete, never the first pages passed off as the whole account. It used
// to fail the scan on the second page.
func TestScanRestartsListingOnStaleMarker(t *testing.T) {
	clock := awsemu.NewClock(now)
	var users []*awsemu.User
	for i := range 250 {
		u := &awsemu.User{Name: fmt.Sprintf("dev-%04d", i)}
		if i%2 == 0 {
			u.Name = fmt.Sprintf("BedrockAPIKey-%04d", i)
			u.ServiceCredentials = []*awsemu.ServiceCred{{Created: days(10)}}
		}
		users = append(users, u)
	}
	s, err := awsemu.New(&awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: users}}}, awsemu.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	// After the first page of each listing, 20 minutes pass (the
	// emulator's tokens live 15).
	cfg := s.AWSConfig("us-east-1")
	clock.AdvanceAfterFirstAnswer(&cfg, 20*time.Minute, "ListUsers", "ListServiceSpecificCredentials")
	sc := &iamscan.Scanner{IAM: iam.NewFromConfig(cfg), Account: acct, Now: func() time.Time { return now }}
	rep, err := sc.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Users) != 125 || rep.Summary.BedrockKeys != 125 {
		t.Errorf("%d users, %d keys; want 125 and 125", len(rep.Users), rep.Summary.BedrockKeys)
	}
	if stale := s.CountCode("ValidationError"); stale != 2 {
		t.Errorf("%d stale-marker refusals, want 2 (one per listing): the test proves nothing", stale)
	}
}
