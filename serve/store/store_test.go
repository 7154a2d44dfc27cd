package store

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/testpg"
)

// backends are the databases every store test runs against: a SQLite file
// and a fresh PostgreSQL database (testpg; skipped, saying why, where
// PostgreSQL cannot be had). Each call of newDSN names a new database.
var backends = []struct {
	name   string
	newDSN func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "state", "serve.db") }},
	{"postgres", func(t *testing.T) string { return testpg.DSN(t) }},
}

// forEachBackend runs test as a subtest per backend.
func forEachBackend(t *testing.T, test func(t *testing.T, newDSN func(*testing.T) string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b.newDSN) })
	}
}

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

// TestMigrationsIdempotentAcrossRestarts opens the same database three times:
// the migrations run the first time only, and the data stays.
func TestMigrationsIdempotentAcrossRestarts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func(*testing.T) string) {
		ctx := context.Background()
		path := newDSN(t)
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
	})
}

// TestAddDeliveryReplay: the same delivery id twice is one row and one job.
func TestAddDeliveryReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func(*testing.T) string) {
		ctx := context.Background()
		s := openTemp(t, newDSN(t))
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
	})
}

// TestClaimEachJobOnce: two stores on one database (as two processes
// would be), two workers each, claim 40 jobs: each job once.
func TestClaimEachJobOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func(*testing.T) string) {
		ctx := context.Background()
		path := newDSN(t)
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
	})
}

// TestLeaseExpiryAndRelease: a job whose worker died (lease ran out) is
// claimed again and the dead worker's late result is refused; a released
// job is claimed again without counting the attempt.
func TestLeaseExpiryAndRelease(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func(*testing.T) string) {
		ctx := context.Background()
		s := openTemp(t, newDSN(t))
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
	})
}

// TestRecordFindingOnce: the same sighting twice (a job run again) is one
// incident and one finding; another place adds a finding to the incident.
func TestRecordFindingOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func(*testing.T) string) {
		ctx := context.Background()
		s := openTemp(t, newDSN(t))
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
	})
}

// TestMigrationsSameVersionsInEachDialect: a migration added for one
// database is added for the other.
func TestMigrationsSameVersionsInEachDialect(t *testing.T) {
	versions := func(d dialect) []string {
		ms, err := d.loadMigrations()
		if err != nil {
			t.Fatal(err)
		}
		var vs []string
		for _, m := range ms {
			vs = append(vs, fmt.Sprintf("%04d_%s", m.version, m.name))
		}
		return vs
	}
	lite, pg := versions(sqliteDialect), versions(postgresDialect)
	if fmt.Sprint(lite) != fmt.Sprint(pg) {
		t.Fatalf("sqlite migrations %v, postgres %v: want the same", lite, pg)
	}
}

// TestOpenConcurrently: replicas starting at once on a new database each
// bring the schema up to date, and each migration is applied once.
func TestOpenConcurrently(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func(*testing.T) string) {
		dsn := newDSN(t)
		var wg sync.WaitGroup
		stores := make([]*Store, 4)
		errs := make([]error, len(stores))
		for i := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stores[i], errs[i] = Open(context.Background(), dsn)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("open #%d: %v", i, err)
			}
			defer stores[i].Close()
		}
		ms, _ := stores[0].d.loadMigrations()
		if n := countRows(t, stores[0], "SELECT COUNT(*) FROM schema_migrations"); n != len(ms) {
			t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
		}
	})
}

// TestClaimSkipsLockedRows: on PostgreSQL a claim passes over a job whose
// row another transaction holds (another replica claiming it) and takes
// the next one, without waiting for that transaction.
func TestClaimSkipsLockedRows(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, testpg.DSN(t))
	for _, id := range []string{"first", "second"} {
		if _, err := s.AddDelivery(ctx, Delivery{ID: id, Event: "push", ReceivedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // the test's lock holder
	var held int64
	if err := tx.QueryRow(`SELECT id FROM jobs WHERE delivery_id = 'first' FOR UPDATE`).Scan(&held); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	j, err := s.Claim(cctx, "w", time.Minute)
	if err != nil || j == nil || j.DeliveryID != "second" {
		t.Fatalf("claim while job %d is locked: %+v, %v; want the job of \"second\" at once", held, j, err)
	}
}

// TestRedact: a PostgreSQL URL loses its password wherever it is given.
func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"/var/lib/bks/serve.db":                           "/var/lib/bks/serve.db",
		"postgres://bks:hunter2@db:5432/bks":              "postgres://bks:xxxxx@db:5432/bks",
		"postgresql://db/bks?password=hunter2&sslmode=on": "postgresql://db/bks?password=xxxxx&sslmode=on",
	} {
		if got := Redact(in); got != want || strings.Contains(got, "hunter2") {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOpenErrorHidesPassword: a database that does not answer is named in
// the error without the URL's password.
func TestOpenErrorHidesPassword(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = Open(ctx, "postgres://bks:hunter2@"+addr+"/bks?sslmode=disable")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("open of a closed port: %v; want an error without the password", err)
	}
	t.Log(err)
}

// TestRecordEffectOnce: an effect recorded twice under one key is kept
// once, on both databases, and a revocation marks its incident revoked
// (the service's guard against revoking or commenting twice).
func TestRecordEffectOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func(*testing.T) string) {
		ctx := context.Background()
		s := openTemp(t, newDSN(t))
		if _, err := s.RecordFinding(ctx, Incident{Fingerprint: "fp1", Redacted: "ABSK…xyz"}, Sighting{Repository: "octo/repo", Commit: "c1", Path: "a.env", Line: 1}); err != nil {
			t.Fatal(err)
		}
		e := Effect{Key: "revoke/fp1", Kind: "revoke", Fingerprint: "fp1", Result: "done", Detail: "2 write calls"}
		first, err := s.RecordEffect(ctx, e)
		if err != nil || !first {
			t.Fatalf("first record: %v, %v; want true", first, err)
		}
		again, err := s.RecordEffect(ctx, e)
		if err != nil || again {
			t.Fatalf("second record: %v, %v; want false", again, err)
		}
		got, ok, err := s.GetEffect(ctx, "revoke/fp1")
		if err != nil || !ok || got.Kind != "revoke" || got.Fingerprint != "fp1" || got.Detail != "2 write calls" {
			t.Fatalf("GetEffect = %+v, %v, %v", got, ok, err)
		}
		if _, ok, err := s.GetEffect(ctx, "revoke/none"); ok || err != nil {
			t.Fatalf("GetEffect of an unknown key: %v, %v", ok, err)
		}
		is, err := s.ListIncidents(ctx)
		if err != nil || len(is) != 1 || is[0].Status != "revoked" {
			t.Fatalf("incidents %+v, %v; want one revoked", is, err)
		}
	})
}
