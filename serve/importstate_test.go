package serve

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bks-dev/bks/serve/store"
	"github.com/bks-dev/bks/triage"
)

// writeState writes a `bks triage` state file holding entries.
func writeState(t *testing.T, entries ...*triage.StateEntry) string {
	t.Helper()
	st := triage.State{Version: 1, Entries: map[string]*triage.StateEntry{}}
	for _, e := range entries {
		st.Entries[e.Fingerprint] = e
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "triage.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestImportTriageState: a state file with a revoked and notified key, a
// live one the service had already seen, and an expired third-party one
// is imported on each backend: statuses follow the credential, the
// service's incident keeps its sighting and takes the earlier first
// detection, the revocation and the notification become actions; a second
// import changes nothing.
func TestImportTriageState(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	revoked := t0.Add(90 * time.Second)
	path := writeState(t,
		&triage.StateEntry{Fingerprint: "fp-revoked", RuleID: "aws-bedrock-long-term-api-key", Redacted: "ABSK…aaa",
			AccountID: "111122223333", Severity: triage.SeverityCritical, Credential: triage.StateRevoked,
			FirstDetected: t0, LastSeen: revoked, RevokedAt: &revoked, Notified: true, Places: 2},
		&triage.StateEntry{Fingerprint: "fp-live", Redacted: "ABSK…bbb", AccountID: "111122223333",
			Severity: triage.SeverityHigh, Credential: triage.StateActive, FirstDetected: t0, LastSeen: t0, Places: 1},
		&triage.StateEntry{Fingerprint: "fp-expired", Redacted: "bedrock-api-key-…ccc", AccountID: "999988887777",
			ThirdParty: true, Severity: triage.SeverityLow, Credential: triage.StateExpired, FirstDetected: t0, LastSeen: t0},
	)
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.RecordFinding(ctx, store.Incident{Fingerprint: "fp-live", Redacted: "ABSK…bbb"},
			store.Sighting{Repository: "octo/repo", Commit: "c1", Path: "a.env", Line: 1}); err != nil {
			t.Fatal(err)
		}
		for i, want := range []store.ImportResult{{Incidents: 3, New: 2, Actions: 2}, {Incidents: 3}} {
			res, err := ImportTriageState(ctx, st, path)
			t.Logf("import #%d: %+v", i+1, res)
			if err != nil || res != want {
				t.Fatalf("import #%d: %+v, %v; want %+v", i+1, res, err, want)
			}
		}
		is, err := st.ListIncidents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]store.Incident{}
		for _, i := range is {
			got[i.Fingerprint] = i
		}
		live, rev, exp := got["fp-live"], got["fp-revoked"], got["fp-expired"]
		if len(is) != 3 || live.Status != "open" || live.Findings != 1 || !live.FirstSeen.Equal(t0) ||
			live.CredentialState != "active" || live.Severity != triage.SeverityHigh {
			t.Errorf("the service's incident after import: %+v", live)
		}
		if rev.Status != "revoked" || rev.RuleID != "aws-bedrock-long-term-api-key" || !rev.LastSeen.Equal(revoked) {
			t.Errorf("revoked: %+v", rev)
		}
		if exp.Status != "resolved" || !exp.ThirdParty || exp.AccountID != "999988887777" {
			t.Errorf("expired: %+v", exp)
		}
	})
}

// TestImportTriageStateAllOrNothing: a file with one bad entry (no
// redacted form) imports nothing; a missing file is an error, not an
// empty import.
func TestImportTriageStateAllOrNothing(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "serve.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	path := writeState(t,
		&triage.StateEntry{Fingerprint: "fp-a", Redacted: "ABSK…aaa", FirstDetected: now, LastSeen: now},
		&triage.StateEntry{Fingerprint: "fp-b", FirstDetected: now, LastSeen: now},
	)
	if _, err := ImportTriageState(ctx, st, path); err == nil {
		t.Fatal("a bad entry imported")
	} else {
		t.Log(err)
	}
	if is, _ := st.ListIncidents(ctx); len(is) != 0 {
		t.Errorf("%d incidents after a failed import, want 0", len(is))
	}
	if _, err := ImportTriageState(ctx, st, filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("a missing file imported")
	}
}
