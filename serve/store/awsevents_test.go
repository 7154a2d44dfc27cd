package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bks-dev/bks/awsops/kpi"
)

// keyEvent is one CloudTrail event about credential id of acct.
// The first event of a key (minute 1 in the tests) is its creation.
func keyEvent(id, acct, cred, status string, at time.Time) AWSEvent {
	e := AWSEvent{ID: id, AccountID: acct, Region: "us-east-1", Name: status, Time: at,
		Key: &KeyChange{CredentialID: cred, Kind: KeyServiceSpecific, UserName: "BedrockAPIKey-ab12",
			ServiceName: "bedrock.amazonaws.com", Status: status}}
	if status == KeyActive && (at.Minute() == 1 || at.Minute() == 0) {
		e.Key.Created = at
	}
	return e
}

func keyStatus(t *testing.T, s *Store, acct, cred string) string {
	t.Helper()
	var st string
	if err := s.db.QueryRow(numbered(s, `SELECT status FROM key_inventory WHERE account_id = ? AND credential_id = ?`), acct, cred).Scan(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func numbered(s *Store, q string) string {
	if s.Dialect() == "postgres" {
		return numberPlaceholders(q)
	}
	return q
}

// permutations calls f with every order of evs.
func permutations(evs []AWSEvent, f func([]AWSEvent)) {
	var rec func(k int)
	rec = func(k int) {
		if k == len(evs) {
			f(append([]AWSEvent(nil), evs...))
			return
		}
		for i := k; i < len(evs); i++ {
			evs[k], evs[i] = evs[i], evs[k]
			rec(k + 1)
			evs[k], evs[i] = evs[i], evs[k]
		}
	}
	rec(0)
}

// Whatever order EventBridge delivers a key's events in, and however often,
// the inventory ends where the last event in CloudTrail time leaves it,
// and a deleted key stays deleted.
func TestKeyInventoryAnyOrder(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	cases := []struct {
		name string
		seq  []string // statuses at minutes 1, 2, 3…
		want string
	}{
		{"deactivated", []string{KeyActive, KeyInactive}, KeyInactive},
		{"reactivated", []string{KeyActive, KeyInactive, KeyActive}, KeyActive},
		{"deleted", []string{KeyActive, KeyInactive, KeyActive, KeyDeleted}, KeyDeleted},
		{"deleted while a late update is in flight", []string{KeyActive, KeyDeleted, KeyActive}, KeyDeleted},
	}
	// At the same second (CloudTrail's precision), an update comes after
	// the creation.
	sameSecond := []AWSEvent{keyEvent("s-create", "", "", KeyActive, t0), keyEvent("s-update", "", "", KeyInactive, t0)}
	forEachBackend(t, func(t *testing.T, newDSN func(*testing.T) string) {
		s := openTemp(t, newDSN(t))
		ctx := context.Background()
		n := 0
		for _, c := range cases {
			var evs []AWSEvent
			for i, st := range c.seq {
				evs = append(evs, keyEvent(fmt.Sprintf("%s-%d", c.name, i), "", "", st, at(i+1)))
			}
			permutations(evs, func(order []AWSEvent) {
				n++
				acct, cred := fmt.Sprintf("%012d", n), fmt.Sprintf("ACCA%08d", n)
				for i := range order {
					order[i].ID = fmt.Sprintf("%s-%d", order[i].ID, n)
					order[i].AccountID, order[i].Key.CredentialID = acct, cred
				}
				// Every event twice: the second delivery changes nothing.
				for _, e := range append(order, order...) {
					if _, err := s.RecordAWSEvent(ctx, e); err != nil {
						t.Fatal(err)
					}
				}
				if got := keyStatus(t, s, acct, cred); got != c.want {
					var seq []string
					for _, e := range order {
						seq = append(seq, e.Key.Status+"@"+e.Time.Format("15:04"))
					}
					t.Errorf("%s, delivered %v: %s, want %s", c.name, seq, got, c.want)
				}
			})
		}
		permutations(sameSecond, func(order []AWSEvent) {
			n++
			acct, cred := fmt.Sprintf("%012d", n), fmt.Sprintf("ACCA%08d", n)
			for i := range order {
				order[i].ID = fmt.Sprintf("%s-%d", order[i].ID, n)
				order[i].AccountID, order[i].Key.CredentialID = acct, cred
				if _, err := s.RecordAWSEvent(ctx, order[i]); err != nil {
					t.Fatal(err)
				}
			}
			if got := keyStatus(t, s, acct, cred); got != KeyInactive {
				t.Errorf("creation and deactivation in the same second, delivered %s then %s: %s, want inactive", order[0].ID, order[1].ID, got)
			}
		})
		// A replay reports false.
		e := keyEvent("replayed", "123456789012", "ACCAREPLAY", KeyActive, t0)
		if added, err := s.RecordAWSEvent(ctx, e); err != nil || !added {
			t.Fatalf("first delivery: %v %v", added, err)
		}
		if added, err := s.RecordAWSEvent(ctx, e); err != nil || added {
			t.Fatalf("replay: added %v, %v", added, err)
		}
	})
}

// KPIs counts live keys per account (Bedrock keys active and unexpired,
// access keys of BedrockAPIKey-* users), the mean time from detection to
// revocation or removal, and the role share of recent Bedrock calls.
func TestKPIs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func(*testing.T) string) {
		s := openTemp(t, newDSN(t))
		ctx := context.Background()
		now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
		s.now = func() time.Time { return now }
		const a, b = "111122223333", "444455556666"
		rec := func(e AWSEvent) {
			t.Helper()
			if _, err := s.RecordAWSEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		day := -time.Hour
		rec(keyEvent("k1", a, "ACCA1", KeyActive, now.Add(3*day)))
		expired := keyEvent("k2", a, "ACCA2", KeyActive, now.Add(3*day))
		expired.Key.Expires = now.Add(-time.Minute)
		rec(expired)
		other := keyEvent("k3", a, "ACCA3", KeyActive, now.Add(3*day))
		other.Key.ServiceName = "codecommit.amazonaws.com"
		rec(other)
		rec(AWSEvent{ID: "ak1", AccountID: a, Name: "CreateAccessKey", Time: now.Add(2 * day),
			Key: &KeyChange{CredentialID: "AKIA1", Kind: KeyAccessKey, UserName: "BedrockAPIKey-ab12", Status: KeyActive}})
		rec(keyEvent("k4", b, "ACCA4", KeyActive, now.Add(3*day)))
		rec(keyEvent("k4d", b, "ACCA4", KeyDeleted, now.Add(2*day-time.Minute))) // before the detection

		// Incidents: one revoked 10 minutes after detection, one whose
		// phantom user's key was deleted 30 minutes after, one open, one
		// of a third party (not counted).
		for i, inc := range []Incident{
			{Fingerprint: "fp1", Redacted: "ABSK…1", AccountID: a, Principal: "BedrockAPIKey-zz01"},
			{Fingerprint: "fp2", Redacted: "ABSK…2", AccountID: b, Principal: "BedrockAPIKey-ab12"},
			{Fingerprint: "fp3", Redacted: "ABSK…3", AccountID: a, Principal: "BedrockAPIKey-ab12"},
		} {
			s.now = func() time.Time { return now.Add(2*day + time.Duration(i)*time.Second) }
			if _, err := s.RecordFinding(ctx, inc, Sighting{Repository: "o/r", Path: "f", Line: 1}); err != nil {
				t.Fatal(err)
			}
		}
		s.now = func() time.Time { return now }
		detected := now.Add(2 * day)
		if _, err := s.RecordEffect(ctx, Effect{Key: "revoke/fp1", Kind: "revoke", Fingerprint: "fp1", Result: "done", At: detected.Add(10 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		rec(keyEvent("k5", b, "ACCA5", KeyActive, now.Add(3*day)))
		rec(keyEvent("k5d", b, "ACCA5", KeyDeleted, detected.Add(30*time.Minute+time.Second)))

		call := func(id, acct, caller, typ string, at time.Time) {
			rec(AWSEvent{ID: id, AccountID: acct, Name: "InvokeModel", Time: at, Call: &BedrockCall{Caller: caller, TokenType: typ}})
		}
		call("c1", a, kpi.CallerRole, "", now.Add(-time.Hour))
		call("c2", a, kpi.CallerRole, "", now.Add(-2*time.Hour))
		call("c3", a, kpi.CallerRole, "", now.Add(-3*time.Hour))
		call("c4", a, kpi.CallerAPIKey, "LONG_TERM", now.Add(-time.Hour))
		call("c5", a, kpi.CallerUser, "", now.Add(-time.Hour))
		call("c6", a, kpi.CallerAPIKey, "SHORT_TERM", now.Add(-40*24*time.Hour)) // outside the window

		rep, err := s.KPIs(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Accounts) != 2 {
			t.Fatalf("accounts: %+v", rep.Accounts)
		}
		ra, rb := rep.Accounts[0], rep.Accounts[1]
		if ra.Account != a || ra.LiveKeys != 2 || !ra.KeysKnown {
			t.Errorf("account %s: %d live keys (known %v), want 2 (ACCA1 and AKIA1)", ra.Account, ra.LiveKeys, ra.KeysKnown)
		}
		if rb.LiveKeys != 0 || !rb.KeysKnown {
			t.Errorf("account %s: %d live keys, want 0", rb.Account, rb.LiveKeys)
		}
		if ra.Calls.Role != 3 || ra.Calls.APIKey != 1 || ra.Calls.LongTermKey != 1 || ra.Calls.User != 1 || ra.RoleShare == nil || *ra.RoleShare != 0.75 {
			t.Errorf("calls of %s: %+v share %v, want 3 role, 1 long-term key, 1 user, share 0.75", a, ra.Calls, ra.RoleShare)
		}
		if rb.RoleShare != nil {
			t.Errorf("account without calls has a share: %v", *rb.RoleShare)
		}
		m := rep.MTTR
		// fp1 10 min after detection; fp2: its user's last key was deleted
		// 30 min after; fp3 (the user of ACCA1, still active) is open.
		want := (10*time.Minute + 30*time.Minute).Seconds() / 2
		if m.Remediated != 2 || m.Open != 1 || m.MeanSeconds == nil || *m.MeanSeconds < want-1 || *m.MeanSeconds > want+1 {
			t.Errorf("MTTR %+v (mean %v s), want 2 remediated in %.0f s on average, 1 open", m, deref(m.MeanSeconds), want)
		}
	})
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
