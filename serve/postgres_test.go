package serve

import (
	"context"
	"database/sql"
	"github.com/bks-dev/bks/internal/awsemu"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/testpg"
	"github.com/bks-dev/bks/serve/store"
)

// TestMain stops the PostgreSQL cluster the tests started (testpg).
// TestMain keeps the host's AWS settings out of the emulator tests and
// stops the package's PostgreSQL cluster at the end.
func TestMain(m *testing.M) {
	awsemu.IsolateEnv()
	os.Exit(testpg.Main(m))
}

// backends are the databases the tests that matter for both run against:
// the name of database/sql's driver and a new database's DSN.
var backends = []struct {
	name, driver string
	newDSN       func(t *testing.T) string
}{
	{"sqlite", "sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "serve.db") }},
	{"postgres", "pgx", func(t *testing.T) string { return testpg.DSN(t) }},
}

// forEachBackend runs test as a subtest per backend, on a new database.
func forEachBackend(t *testing.T, test func(t *testing.T, dsn string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b.newDSN(t)) })
	}
}

// TestDatabaseUnreachable: PostgreSQL behind a proxy the test cuts. While
// it is cut a delivery is refused with 503 and Retry-After, /readyz says
// 503, and nothing of the delivery is in the database; once the database
// is back, GitHub's redelivery of the same id is accepted and processed
// once, and the delivery accepted before the cut is processed once too.
func TestDatabaseUnreachable(t *testing.T) {
	ctx := context.Background()
	dsn := testpg.DSN(t)
	proxy, via := testpg.NewProxy(t, dsn)
	var mu sync.Mutex
	runs := map[string]int{}
	count := func(ctx context.Context, d store.Delivery) error {
		mu.Lock()
		runs[d.ID]++
		mu.Unlock()
		return nil
	}
	ts := startServer(t, via, Config{Process: count, Poll: 50 * time.Millisecond})
	direct, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	processed := func(id string) func() bool {
		return func() bool {
			d, err := direct.GetDelivery(ctx, id)
			return err == nil && d.Status == store.DeliveryProcessed
		}
	}
	if resp, _ := ts.post(t, "d-before", "push", []byte(pushBody), "sign"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("before the cut: %d", resp.StatusCode)
	}
	waitFor(t, "d-before processed", processed("d-before"))

	proxy.Cut()
	resp, msg := ts.post(t, "d-down", "push", []byte(pushBody), "sign")
	t.Logf("database cut: webhook %d %q Retry-After %q", resp.StatusCode, msg, resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("database cut: %d, want 503 with Retry-After", resp.StatusCode)
	}
	ready, err := http.Get(ts.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready.Body.Close()
	t.Logf("database cut: readyz %d", ready.StatusCode)
	if ready.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz while cut: %d, want 503", ready.StatusCode)
	}
	if _, err := direct.GetDelivery(ctx, "d-down"); err == nil {
		t.Error("the refused delivery is in the database")
	}

	proxy.Restore()
	// GitHub redelivers a 503; the first try may still meet a pooled
	// connection from before the cut (pgx pings only those idle over a
	// second), which fails it and is dropped.
	for try := 1; ; try++ {
		resp, msg = ts.post(t, "d-down", "push", []byte(pushBody), "sign")
		t.Logf("database back: redelivery #%d: %d %q", try, resp.StatusCode, msg)
		if resp.StatusCode == http.StatusAccepted {
			break
		}
		if resp.StatusCode != http.StatusServiceUnavailable || try == 10 {
			t.Fatalf("redelivery after the cut: %d, want 202", resp.StatusCode)
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitFor(t, "d-down processed", processed("d-down"))
	mu.Lock()
	defer mu.Unlock()
	if runs["d-before"] != 1 || runs["d-down"] != 1 {
		t.Errorf("runs %v; want each delivery once", runs)
	}
	if js, err := direct.JobsFor(ctx, "d-down"); err != nil || len(js) != 1 {
		t.Errorf("jobs of d-down: %v, %v; want one", js, err)
	}
}

// failJobInserts makes every insert into jobs fail, as a database that
// dies between the delivery's row and its job's would.
var failJobInserts = map[string][]string{
	"sqlite": {`CREATE TRIGGER fail_jobs BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'jobs unavailable'); END`},
	"pgx": {
		`CREATE FUNCTION fail_jobs() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'jobs unavailable'; END $$`,
		`CREATE TRIGGER fail_jobs BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION fail_jobs()`,
	},
}

// TestDeliveryNotHalfRecorded: when the job of a delivery cannot be
// stored, the delivery is refused with 503 and its row is not kept
// either: GitHub's redelivery finds nothing and is accepted.
func TestDeliveryNotHalfRecorded(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ts := startServer(t, b.newDSN(t), Config{Process: blocked})
			dsn := ts.dbPath
			if b.driver == "sqlite" {
				// The test's own connection waits for the server's
				// writers (its workers poll the queue) as the store's do.
				dsn += "?_pragma=busy_timeout(10000)"
			}
			db, err := sql.Open(b.driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, q := range failJobInserts[b.driver] {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			resp, msg := ts.post(t, "d-half", "push", []byte(pushBody), "sign")
			d, j := ts.rows(t, "d-half")
			t.Logf("job insert failing: %d %q; deliveries %d, jobs %d", resp.StatusCode, msg, d, j)
			if resp.StatusCode != http.StatusServiceUnavailable || d+j != 0 {
				t.Errorf("status %d, %d deliveries, %d jobs; want 503 and nothing stored", resp.StatusCode, d, j)
			}
			if _, err := db.Exec(`DROP TRIGGER fail_jobs` + map[string]string{"pgx": " ON jobs"}[b.driver]); err != nil {
				t.Fatal(err)
			}
			if resp, _ := ts.post(t, "d-half", "push", []byte(pushBody), "sign"); resp.StatusCode != http.StatusAccepted {
				t.Errorf("redelivery: %d, want 202", resp.StatusCode)
			}
		})
	}
}

// TestDatabaseHangs: PostgreSQL behind a partition (connections accepted,
// never answered). A delivery is refused with 503 within DBTimeout, well
// before GitHub gives up on it (10 s), and /readyz answers 503 as fast.
func TestDatabaseHangs(t *testing.T) {
	proxy, via := testpg.NewProxy(t, testpg.DSN(t))
	ts := startServer(t, via, Config{Process: blocked, DBTimeout: time.Second})
	proxy.Hang()
	// GitHub waits 10 s for an answer; so does this client.
	client := &http.Client{Timeout: 10 * time.Second}
	req, err := http.NewRequest(http.MethodPost, ts.url+"/webhook/github", strings.NewReader(pushBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-GitHub-Delivery", "d-hang")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", Sign(testSecret, []byte(pushBody)))
	start := time.Now()
	resp, err := client.Do(req)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("webhook: no answer after %s: %v", took.Round(time.Millisecond), err)
	}
	resp.Body.Close()
	t.Logf("database hanging: webhook %d Retry-After %q after %s", resp.StatusCode, resp.Header.Get("Retry-After"), took.Round(time.Millisecond))
	if resp.StatusCode != http.StatusServiceUnavailable || took > 3*time.Second {
		t.Errorf("webhook: %d after %s; want 503 within about a second", resp.StatusCode, took)
	}
	start = time.Now()
	ready, err := client.Get(ts.url + "/readyz")
	if err != nil {
		t.Fatalf("readyz: no answer after %s: %v", time.Since(start).Round(time.Millisecond), err)
	}
	ready.Body.Close()
	took = time.Since(start)
	t.Logf("database hanging: readyz %d after %s", ready.StatusCode, took.Round(time.Millisecond))
	if ready.StatusCode != http.StatusServiceUnavailable || took > 3*time.Second {
		t.Errorf("readyz: %d after %s; want 503 within about a second", ready.StatusCode, took)
	}
	proxy.Restore()
}
