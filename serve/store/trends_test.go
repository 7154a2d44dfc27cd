package store

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/bks-dev/bks/awsops/kpi"
)

// LiveKeysAt counts, at past times, the keys that were live then: a key
// deactivated and later deleted stops counting at its deactivation, a
// reactivated key counts again, an expired key stops at its expiry, a key
// whose creation was never received counts from its first event only, and
// an account counts -1 (unknown) before its first event. Its events come
// newest first, and twice: the history is the same.
func TestLiveKeysAt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func(*testing.T) string) {
		s := openTemp(t, newDSN(t))
		ctx := context.Background()
		t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
		d := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(24*time.Hour))) }
		const a, b = "111122223333", "444455556666"
		n := 0
		ev := func(acct, cred, kind, service, status string, at time.Time, created bool) AWSEvent {
			n++
			e := AWSEvent{ID: fmt.Sprintf("e%d", n), AccountID: acct, Name: status, Time: at,
				Key: &KeyChange{CredentialID: cred, Kind: kind, UserName: "BedrockAPIKey-ab12", ServiceName: service, Status: status}}
			if created {
				e.Key.Created = at
			}
			return e
		}
		const bedrock = "bedrock.amazonaws.com"
		expiring := ev(a, "ACCA3", KeyServiceSpecific, bedrock, KeyActive, d(2), true)
		expiring.Key.Expires = d(12)
		evs := []AWSEvent{
			ev(a, "ACCA1", KeyServiceSpecific, bedrock, KeyActive, d(1), true),
			ev(a, "ACCA1", KeyServiceSpecific, bedrock, KeyInactive, d(10), false),
			ev(a, "ACCA1", KeyServiceSpecific, "", KeyDeleted, d(20), false),
			ev(a, "ACCA2", KeyServiceSpecific, bedrock, KeyActive, d(15), false), // its creation was never received
			expiring,
			ev(a, "ACCA4", KeyServiceSpecific, "codecommit.amazonaws.com", KeyActive, d(2), true), // not a Bedrock key
			ev(a, "AKIA5", KeyAccessKey, "", KeyActive, d(3), true),
			ev(a, "AKIA5", KeyAccessKey, "", KeyInactive, d(5), false),
			ev(a, "AKIA5", KeyAccessKey, "", KeyActive, d(8), false),
			ev(b, "ACCA6", KeyServiceSpecific, bedrock, KeyActive, d(25), true),
		}
		for range 2 {
			for i := len(evs) - 1; i >= 0; i-- {
				if _, err := s.RecordAWSEvent(ctx, evs[i]); err != nil {
					t.Fatal(err)
				}
			}
		}
		times := []time.Time{d(4), d(6), d(9), d(11), d(13), d(16), d(21), d(26)}
		got, err := s.LiveKeysAt(ctx, times)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]int{
			a: {3, 2, 3, 2, 1, 2, 2, 2},
			b: {-1, -1, -1, -1, -1, -1, -1, 1},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("live keys at days 4, 6, 9, 11, 13, 16, 21, 26:\n got %v\nwant %v", got, want)
		}
		// At a time, the history says what the inventory says.
		rep, err := s.AccountKPIs(ctx, d(26))
		if err != nil {
			t.Fatal(err)
		}
		for _, acct := range rep.Accounts {
			if acct.LiveKeys != got[acct.Account][len(times)-1] {
				t.Errorf("account %s: %d live keys by the inventory, %d by the history", acct.Account, acct.LiveKeys, got[acct.Account][len(times)-1])
			}
		}
	})
}

// Migration 0005 fills the history of the keys recorded before it from
// the inventory: their creation and their latest status (what came in
// between was not kept). A key whose creation is unknown counts from its
// latest change only.
func TestKeyHistoryMigration(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func(*testing.T) string) {
		dsn := newDSN(t)
		s := openTemp(t, dsn)
		ctx := context.Background()
		t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
		d := func(n int) time.Time { return t0.AddDate(0, 0, n) }
		for _, e := range []AWSEvent{
			keyEvent("c1", "111122223333", "ACCA1", KeyActive, d(1)),
			keyEvent("u1", "111122223333", "ACCA1", KeyInactive, d(5).Add(time.Hour)),
			keyEvent("u2", "111122223333", "ACCA2", KeyActive, d(3).Add(time.Hour)), // no creation
		} {
			if _, err := s.RecordAWSEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		// Back to schema 4: the inventory without its history.
		for _, q := range []string{`DROP TABLE key_changes`, `DELETE FROM schema_migrations WHERE version = 5`} {
			if _, err := s.db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		s = openTemp(t, dsn)
		got, err := s.LiveKeysAt(ctx, []time.Time{d(0), d(2), d(4), d(6)})
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{-1, 1, 2, 1}; !reflect.DeepEqual(got["111122223333"], want) {
			t.Errorf("after migration 0005: %v, want %v", got["111122223333"], want)
		}
	})
}

// CallsByPeriod counts each account's calls per period, a day's calls in
// the period its UTC day begins in; days before the first bound or from
// the last on are left out.
func TestCallsByPeriod(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func(*testing.T) string) {
		s := openTemp(t, newDSN(t))
		ctx := context.Background()
		now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
		week := 7 * 24 * time.Hour
		bounds := []time.Time{now.Add(-2 * week), now.Add(-week), now}
		n := 0
		call := func(acct, caller, typ string, at time.Time) {
			n++
			if _, err := s.RecordAWSEvent(ctx, AWSEvent{ID: fmt.Sprintf("c%d", n), AccountID: acct, Name: "InvokeModel", Time: at,
				Call: &BedrockCall{Caller: caller, TokenType: typ}}); err != nil {
				t.Fatal(err)
			}
		}
		const a = "111122223333"
		call(a, kpi.CallerAPIKey, "LONG_TERM", now.Add(-10*24*time.Hour))
		call(a, kpi.CallerAPIKey, "LONG_TERM", now.Add(-10*24*time.Hour))
		call(a, kpi.CallerRole, "", now.Add(-9*24*time.Hour))
		call(a, kpi.CallerRole, "", now.Add(-time.Hour))
		call(a, kpi.CallerRole, "", now.Add(-2*time.Hour))
		call(a, kpi.CallerAPIKey, "SHORT_TERM", now.Add(-3*time.Hour))
		call(a, kpi.CallerRole, "", now.Add(-20*24*time.Hour)) // before the first bound
		got, err := s.CallsByPeriod(ctx, bounds)
		if err != nil {
			t.Fatal(err)
		}
		want := []kpi.Calls{{Role: 1, APIKey: 2, LongTermKey: 2}, {Role: 2, APIKey: 1, ShortTermKey: 1}}
		if !reflect.DeepEqual(got[a], want) || len(got) != 1 {
			t.Errorf("calls by week: %+v, want %s: %+v", got, a, want)
		}
	})
}
