package triage

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testkeys"
)

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// fakeResponder records calls; the AWS responder is tested against the
// emulator in the cli end-to-end tests.
type fakeResponder struct {
	mu      sync.Mutex
	calls   []string
	state   string
	revoked map[string]bool
	// spend, when set, advances the test's clock by the time a call takes.
	spend func(time.Duration)
}

// Time the fake's calls take on the test's clock.
const (
	checkTakes  = 15 * time.Second
	revokeTakes = 75 * time.Second
)

func (f *fakeResponder) takes(d time.Duration) {
	if f.spend != nil {
		f.spend(d)
	}
}

func (f *fakeResponder) log(s string) { f.mu.Lock(); f.calls = append(f.calls, s); f.mu.Unlock() }
func (f *fakeResponder) CheckCredential(_ context.Context, a Account, inc *Incident) (string, error) {
	f.log("check " + a.ID)
	f.takes(checkTakes)
	if f.revoked[inc.Fingerprint] {
		return StateRevoked, nil
	}
	return f.state, nil
}
func (f *fakeResponder) Verify(_ context.Context, inc *Incident) (string, error) {
	f.log("verify")
	return "live", nil
}
func (f *fakeResponder) Revoke(_ context.Context, a Account, inc *Incident) (bool, string, error) {
	f.log("revoke " + a.ID)
	f.takes(revokeTakes)
	if f.revoked[inc.Fingerprint] {
		return false, "already denied", nil
	}
	f.revoked[inc.Fingerprint] = true
	return true, "denied", nil
}
func (f *fakeResponder) Timeline(_ context.Context, a Account, inc *Incident, dir string) (string, error) {
	f.log("timeline " + a.ID)
	return "3 events", nil
}
func (f *fakeResponder) Report(_ context.Context, a Account, inc *Incident, dir string) error {
	f.log("report " + a.ID)
	return nil
}

func scan(t *testing.T, text string) []findings.Finding {
	t.Helper()
	eng := detectors.New(detectors.Options{Decode: detectors.DecodeOptions{Now: t0}})
	var out []findings.Finding
	eng.Scan([]byte(text), 0, func(m detectors.Match) {
		out = append(out, findings.New(m, findings.Location{Path: "f", Line: 1}))
	})
	return out
}

func TestTriageScenario(t *testing.T) {
	ours := testkeys.LongTerm("BedrockAPIKey-aaaa", "111122223333", testkeys.Secret(1))
	ours2 := testkeys.LongTerm("BedrockAPIKey-bbbb", "444455556666", testkeys.Secret(2))
	theirs := testkeys.LongTerm("someone", "777788889999", testkeys.Secret(3))
	expired := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: testkeys.AccessKeyID("ASIA", "111122223333", 4),
		SecretKey: "x", SessionToken: "tok", Region: "us-east-1", Issued: t0.Add(-24 * time.Hour), Expires: 3600})
	fs := scan(t, ours+" "+ours+" "+ours2+" "+theirs+" "+expired)
	if len(fs) != 5 {
		t.Fatalf("%d findings", len(fs))
	}
	var hooks []WebhookPayload
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p WebhookPayload
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &p); err != nil || strings.Contains(string(b), ours[10:40]) {
			t.Errorf("webhook body: %v", err)
		}
		hooks = append(hooks, p)
	}))
	defer srv.Close()
	accounts := []Account{
		{ID: "111122223333", Name: "payments", Revoke: true, Timeline: true, Report: true, Notify: srv.URL},
		{ID: "444455556666", Name: "ml", Report: true},
	}
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.json")
	r := &fakeResponder{state: StateActive, revoked: map[string]bool{}}
	clock := t0
	opts := Options{Accounts: accounts, Execute: true, OutDir: dir, Now: func() time.Time { return clock },
		Notify: func(ctx context.Context, url string, inc *Incident) error {
			return PostWebhook(ctx, srv.Client(), url, inc)
		}}

	// A plan first: nothing is called.
	incs := Group(fs)
	if len(incs) != 4 {
		t.Fatalf("%d incidents, want 4", len(incs))
	}
	plan := opts
	plan.Execute = false
	if err := Run(context.Background(), incs, r, nil, plan); err != nil {
		t.Fatal(err)
	}
	if len(r.calls) != 0 {
		t.Fatalf("plan called the responder: %v", r.calls)
	}

	st, _ := LoadState(statePath)
	incs = Group(fs)
	clock = t0.Add(90 * time.Second)
	// From here the account's calls take time: the payments key is first
	// detected, then checked (15s), then revoked (75s).
	r.spend = func(d time.Duration) { clock = clock.Add(d) }
	if err := Run(context.Background(), incs, r, st, opts); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	got := map[string]*Incident{}
	for _, inc := range incs {
		if inc.Key.Type == detectors.TypeShortTerm {
			got["expired"] = inc
		} else {
			got[inc.AccountID] = inc
		}
		if _, err := WriteIncident(dir, inc); err != nil {
			t.Fatal(err)
		}
	}
	if p := got["111122223333"]; p == nil || p.Severity != SeverityLow || p.RevokedAt == nil || len(p.Places) != 2 {
		t.Errorf("payments incident: %+v", p)
	}
	if e := got["expired"]; e == nil || e.Severity != SeverityLow || e.Credential != StateExpired || e.RevokedAt != nil {
		t.Errorf("expired short-term key: %+v", e)
	}
	if m := got["444455556666"]; m.Severity != SeverityCritical || m.RevokedAt != nil || m.ThirdParty {
		t.Errorf("ml incident must stay untouched and critical: %+v", m)
	}
	if x := got["777788889999"]; !x.ThirdParty || x.Severity != SeverityMedium || !strings.Contains(x.Advice, "777788889999") {
		t.Errorf("third party: %+v", x)
	}
	want := "check 111122223333,revoke 111122223333,timeline 111122223333,report 111122223333"
	if !strings.Contains(strings.Join(r.calls, ","), want) {
		t.Errorf("calls %v lack %s", r.calls, want)
	}
	if n := strings.Count(strings.Join(r.calls, ","), "revoke"); n != 1 {
		t.Errorf("revoked %d times", n)
	}
	if len(hooks) != 2 || !strings.Contains(hooks[0].Text, "bks:") {
		t.Errorf("webhooks: %+v", hooks) // the long-term key and the expired short-term key of payments
	}
	k := st.KPIs()
	// Detection to revocation: the check and the revoke call, exactly.
	mttr := checkTakes + revokeTakes
	if k.Revoked != 1 || k.MeanTimeToRevoke != mttr || k.WorstTimeToRevoke != mttr || k.Open["444455556666"][SeverityCritical] != 1 || k.ThirdParty != 1 {
		t.Errorf("kpis: %+v", k)
	}
	if _, err := os.Stat(filepath.Join(dir, got["111122223333"].Fingerprint[:16], "actions.jsonl")); err != nil {
		t.Error(err)
	}

	// Second run: nothing is revoked again, nobody is notified again.
	st2, err := LoadState(statePath)
	if err != nil {
		t.Fatal(err)
	}
	r.calls = nil
	incs = Group(fs)
	clock = t0.Add(time.Hour)
	if err := Run(context.Background(), incs, r, st2, opts); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(r.calls, ","), "revoke") || len(hooks) != 2 {
		t.Errorf("second run acted again: %v, %d hooks", r.calls, len(hooks))
	}
	for _, inc := range incs {
		for _, c := range inc.Changes {
			if c == "new incident" {
				t.Errorf("second run calls %s new", inc.AccountID)
			}
		}
	}
	// The rerun keeps the first detection and the revocation time: same figure.
	if k := st2.KPIs(); k.Revoked != 1 || k.MeanTimeToRevoke != mttr || k.WorstTimeToRevoke != mttr {
		t.Errorf("kpis after rerun: %+v", k)
	}
}

// A partial key (cut short, or with a secret not of the issued shape) names
// its account: it becomes an incident, but is never revoked automatically.
func TestPartialKeyNotRevoked(t *testing.T) {
	const acct = "111122223333"
	whole := testkeys.LongTerm("BedrockAPIKey-aaaa", acct, testkeys.Secret(1))
	cut := whole[:len(whole)-12]
	short := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: testkeys.AccessKeyID("ASIA", acct, 4),
		SecretKey: "x", SessionToken: "tok", Region: "us-east-1", Issued: t0, Expires: 43200})
	fs := scan(t, cut+" "+short[:len(short)/4*3])
	if len(fs) != 2 {
		t.Fatalf("%d findings, want 2 partial ones", len(fs))
	}
	incs := Group(fs)
	r := &fakeResponder{state: StateActive, revoked: map[string]bool{}}
	opts := Options{Accounts: []Account{{ID: acct, Revoke: true, Auto: true}}, Execute: true, Verify: true, Now: func() time.Time { return t0 }}
	if err := Run(context.Background(), incs, r, nil, opts); err != nil {
		t.Fatal(err)
	}
	for _, c := range r.calls {
		if strings.HasPrefix(c, "revoke") || c == "verify" {
			t.Fatalf("a partial key was revoked or checked live (a cut key is always invalid): calls %v", r.calls)
		}
	}
	if len(incs) != 2 {
		t.Fatalf("%d incidents, want 2", len(incs))
	}
	for _, inc := range incs {
		if inc.AccountID != acct {
			t.Errorf("incident %s names account %q, want %s", inc.Redacted, inc.AccountID, acct)
		}
		var rev *ActionResult
		for i := range inc.Actions {
			if inc.Actions[i].Action == ActionRevoke {
				rev = &inc.Actions[i]
			}
		}
		if rev == nil || rev.Outcome != OutcomeSkipped || !strings.Contains(rev.Detail, "partial") {
			t.Errorf("incident %s: revoke action %+v, want skipped as partial", inc.Redacted, rev)
		}
	}
}

// The revoke plan of a short-term key signed with an IAM user's long-term
// access key (AKIA…) deactivates that access key: a deny of sessions
// issued before now does not reach such a key (it has no
// aws:TokenIssueTime). The plan said "deny sessions" for every short-term
// key.
func TestRevokePlanAKIASignedKey(t *testing.T) {
	akia := testkeys.AccessKeyID("AKIA", "111122223333", 9)
	asia := testkeys.AccessKeyID("ASIA", "111122223333", 9)
	if p := revokePlan(&Incident{Key: detectors.Key{Type: detectors.TypeShortTerm, AccessKeyID: akia}}); !strings.Contains(p, "deactivate the long-term access key "+akia) || strings.Contains(p, "deny sessions") {
		t.Errorf("AKIA: %q", p)
	}
	if p := revokePlan(&Incident{Key: detectors.Key{Type: detectors.TypeShortTerm, AccessKeyID: asia}}); !strings.Contains(p, "deny sessions issued before now on the issuer of "+asia) {
		t.Errorf("ASIA: %q", p)
	}
}
