package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func openTemp(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func countRows(t *testing.T, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMigrationsIdempotentAcrossRestarts opens the same file three times:
// the migrations run the first time only, and the data stays.
func TestMigrationsIdempotentAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state", "serve.db")
	s := openTemp(t, path)
	if _, err := s.AddDelivery(ctx, Delivery{ID: "d1", Event: "push", ReceivedAt: time.Now(), Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	ms, _ := s.d.loadMigrations()
	s.Close()
	for i := 0; i < 2; i++ {
		s := openTemp(t, path)
		applied, err := s.migrate(ctx)
		if err != nil || len(applied) != 0 {
			t.Fatalf("restart %d: migrate applied %v, %v; want nothing", i, applied, err)
		}
		if n := countRows(t, s, "SELECT COUNT(*) FROM schema_migrations"); n != len(ms) {
			t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
		}
		if _, err := s.GetDelivery(ctx, "d1"); err != nil {
			t.Fatalf("restart %d: %v", i, err)
		}
		s.Close()
	}
}

// TestAddDeliveryReplay: the same delivery id twice is one row and one job.
func TestAddDeliveryReplay(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, filepath.Join(t.TempDir(), "serve.db"))
	d := Delivery{ID: "72d3162e", Event: "push", ReceivedAt: time.Now(), Body: []byte(`{"a":1}`)}
	for i, want := range []bool{true, false} {
		added, err := s.AddDelivery(ctx, d)
		if err != nil || added != want {
			t.Fatalf("add #%d: added=%v err=%v, want %v", i+1, added, err, want)
		}
	}
	if n := countRows(t, s, "SELECT COUNT(*) FROM deliveries"); n != 1 {
		t.Fatalf("%d deliveries, want 1", n)
	}
	if js, err := s.JobsFor(ctx, d.ID); err != nil || len(js) != 1 {
		t.Fatalf("jobs %v, %v; want 1", js, err)
	}
}

// TestClaimEachJobOnce: two stores on one file (as two processes would
// be), two workers each, claim 40 jobs: each job once.
func TestClaimEachJobOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "serve.db")
	a, b := openTemp(t, path), openTemp(t, path)
	const n = 40
	for i := 0; i < n; i++ {
		if _, err := a.AddDelivery(ctx, Delivery{ID: fmt.Sprint("d", i), Event: "push", ReceivedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claimed := map[int64]string{}
	var wg sync.WaitGroup
	for w, s := range []*Store{a, a, b, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprint("worker-", w)
			for {
				j, err := s.Claim(ctx, name, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if j == nil {
					return
				}
				mu.Lock()
				if prev, dup := claimed[j.ID]; dup {
					t.Errorf("job %d claimed by %s and %s", j.ID, prev, name)
				}
				claimed[j.ID] = name
				mu.Unlock()
				if err := s.Complete(ctx, j); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if len(claimed) != n {
		t.Fatalf("%d jobs claimed, want %d", len(claimed), n)
	}
	if n := countRows(t, a, "SELECT COUNT(*) FROM deliveries WHERE status = 'processed' AND body IS NULL"); n != 40 {
		t.Fatalf("%d deliveries processed with their body dropped, want 40", n)
	}
}

// TestLeaseExpiryAndRelease: a job whose worker died (lease ran out) is
// claimed again and the dead worker's late result is refused; a released
// job is claimed again without counting the attempt.
func TestLeaseExpiryAndRelease(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, filepath.Join(t.TempDir(), "serve.db"))
	if _, err := s.AddDelivery(ctx, Delivery{ID: "d", Event: "push", ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	s.now = func() time.Time { return clock }
	dead, err := s.Claim(ctx, "dead", time.Minute)
	if err != nil || dead == nil {
		t.Fatal(dead, err)
	}
	if j, err := s.Claim(ctx, "other", time.Minute); j != nil || err != nil {
		t.Fatalf("claimed a leased job: %+v, %v", j, err)
	}
	clock = clock.Add(time.Minute + time.Millisecond)
	live, err := s.Claim(ctx, "live", time.Minute)
	if err != nil || live == nil || live.ID != dead.ID || live.Attempts != 2 {
		t.Fatalf("reclaim: %+v, %v; want the same job, attempt 2", live, err)
	}
	if err := s.Complete(ctx, dead); err == nil {
		t.Fatal("the dead worker completed a job it no longer holds")
	}
	if err := s.Release(ctx, live); err != nil {
		t.Fatal(err)
	}
	again, err := s.Claim(ctx, "next", time.Minute)
	if err != nil || again == nil || again.Attempts != 2 {
		t.Fatalf("after release: %+v, %v; want attempt 2 again", again, err)
	}
}

// TestRecordFindingOnce: the same sighting twice (a job run again) is one
// incident and one finding; another place adds a finding to the incident.
func TestRecordFindingOnce(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, filepath.Join(t.TempDir(), "serve.db"))
	inc := Incident{Fingerprint: "fp1", Redacted: "ABSK…xyz", AccountID: "111122223333"}
	at := Sighting{Repository: "octo/repo", Commit: "c1", Path: "a.env", Line: 3}
	for _, w := range []Sighting{at, at, {Repository: "octo/repo", Commit: "c2", Path: "b.env", Line: 1}} {
		if _, err := s.RecordFinding(ctx, inc, w); err != nil {
			t.Fatal(err)
		}
	}
	is, err := s.ListIncidents(ctx)
	if err != nil || len(is) != 1 || is[0].Findings != 2 || is[0].Status != "open" {
		t.Fatalf("incidents %+v, %v; want one open incident with 2 findings", is, err)
	}
}
