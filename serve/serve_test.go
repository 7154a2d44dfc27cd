package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bks-dev/bks/serve/store"
)

var testSecret = []byte("It's a Secret to Everybody")

// testServer is a running service on 127.0.0.1 with its store.
type testServer struct {
	url    string
	srv    *Server
	st     *store.Store
	dbPath string
	logs   *syncBuffer
	stop   func() error // cancels Run and returns what it returned
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startServer runs the service over the SQLite file dbPath ("" for a new
// one) until the test ends.
func startServer(t *testing.T, dbPath string, cfg Config) *testServer {
	t.Helper()
	if dbPath == "" {
		dbPath = filepath.Join(t.TempDir(), "serve.db")
	}
	st, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cfg.WebhookSecret = testSecret
	cfg.Log = slog.New(slog.NewJSONHandler(logs, nil))
	if cfg.Poll == 0 {
		cfg.Poll = 20 * time.Millisecond
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = 300 * time.Millisecond
	}
	srv, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	var once sync.Once
	var runErr error
	ts := &testServer{url: "http://" + ln.Addr().String(), srv: srv, st: st, dbPath: dbPath, logs: logs}
	ts.stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
			st.Close()
		})
		return runErr
	}
	t.Cleanup(func() { ts.stop() })
	return ts
}

// post sends a delivery; sig "" sends none, "sign" signs body with the secret.
func (ts *testServer) post(t *testing.T, id, event string, body []byte, sig string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.url+"/webhook/github", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-GitHub-Event", event)
	if sig == "sign" {
		sig = Sign(testSecret, body)
	}
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, strings.TrimSpace(string(b))
}

func (ts *testServer) rows(t *testing.T, id string) (deliveries, jobs int) {
	t.Helper()
	if _, err := ts.st.GetDelivery(context.Background(), id); err == nil {
		deliveries = 1
	} else if !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	js, err := ts.st.JobsFor(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return deliveries, len(js)
}

const pushBody = `{"ref":"refs/heads/main","before":"1111111111111111111111111111111111111111","after":"2222222222222222222222222222222222222222","commits":[{"id":"2222222222222222222222222222222222222222","message":"a commit"}],"repository":{"full_name":"octo/repo"}}`

// blocked is a Process that never ends on its own: the deliveries stay
// queued as they were stored.
func blocked(ctx context.Context, d store.Delivery) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestWebhookSignature: a good signature is accepted; a bad one, one of
// another body, one that is not sha256= and none are refused with 401, and
// nothing is stored.
func TestWebhookSignature(t *testing.T) {
	ts := startServer(t, "", Config{Process: blocked})
	body := []byte(pushBody)
	cases := []struct {
		name, id, sig string
		want          int
	}{
		{"good", "d-good", "sign", http.StatusAccepted},
		{"bad", "d-bad", "sha256=" + strings.Repeat("0", 64), http.StatusUnauthorized},
		{"other body", "d-other", Sign(testSecret, []byte(pushBody+" ")), http.StatusUnauthorized},
		{"other secret", "d-secret", Sign([]byte("nope"), body), http.StatusUnauthorized},
		{"sha1", "d-sha1", "sha1=" + strings.TrimPrefix(Sign(testSecret, body), "sha256="), http.StatusUnauthorized},
		{"not hex", "d-hex", "sha256=zz", http.StatusUnauthorized},
		{"missing", "d-missing", "", http.StatusUnauthorized},
	}
	for _, c := range cases {
		resp, msg := ts.post(t, c.id, "push", body, c.sig)
		d, j := ts.rows(t, c.id)
		t.Logf("%-12s -> %d %s (deliveries %d, jobs %d)", c.name, resp.StatusCode, msg, d, j)
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.want)
		}
		if stored := c.want == http.StatusAccepted; (d == 1) != stored || (j == 1) != stored {
			t.Errorf("%s: %d deliveries, %d jobs stored", c.name, d, j)
		}
	}
	if strings.Contains(ts.logs.String(), "a commit") {
		t.Errorf("the log holds the body:\n%s", ts.logs)
	}
}

// TestWebhookOversized: a body over the limit is refused with 413, whether
// it says its length or is sent chunked.
func TestWebhookOversized(t *testing.T) {
	ts := startServer(t, "", Config{MaxBody: 1 << 10, Process: blocked})
	big := []byte(`{"pad":"` + strings.Repeat("x", 2<<10) + `"}`)
	resp, msg := ts.post(t, "d-big", "push", big, "sign")
	t.Logf("with Content-Length: %d %s", resp.StatusCode, msg)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
	// chunked: no Content-Length, the limit is met while reading
	req, _ := http.NewRequest(http.MethodPost, ts.url+"/webhook/github", io.MultiReader(bytes.NewReader(big)))
	req.Header.Set("X-GitHub-Delivery", "d-chunked")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", Sign(testSecret, big))
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	t.Logf("chunked: %d", r2.StatusCode)
	if r2.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked: status %d, want 413", r2.StatusCode)
	}
	for _, id := range []string{"d-big", "d-chunked"} {
		if d, j := ts.rows(t, id); d+j != 0 {
			t.Errorf("%s stored", id)
		}
	}
	if MaxWebhookBody != 25<<20 {
		t.Errorf("default limit %d, want GitHub's 25 MB", MaxWebhookBody)
	}
}

// TestWebhookReplay: the same X-GitHub-Delivery twice is one row and one
// job; the replay is answered 200 (not a failure GitHub would redeliver).
func TestWebhookReplay(t *testing.T) {
	ts := startServer(t, "", Config{Process: blocked})
	body := []byte(pushBody)
	for i, want := range []int{http.StatusAccepted, http.StatusOK} {
		resp, msg := ts.post(t, "72d3162e-cc78-11e3-81ab-4c9367dc0958", "push", body, "sign")
		t.Logf("delivery #%d: %d %s", i+1, resp.StatusCode, msg)
		if resp.StatusCode != want {
			t.Errorf("delivery #%d: status %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	d, j := ts.rows(t, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	t.Logf("deliveries %d, jobs %d", d, j)
	if d != 1 || j != 1 {
		t.Errorf("deliveries %d, jobs %d; want 1 and 1", d, j)
	}
}

// TestWebhookPersistedBefore202: when the 202 arrives, the delivery is in
// the database file (read through another connection) with its body, and
// its processing has not run: the request did not do it.
func TestWebhookPersistedBefore202(t *testing.T) {
	ts := startServer(t, "", Config{Process: blocked})
	resp, _ := ts.post(t, "d-persist", "push", []byte(pushBody), "sign")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, want 202", resp.StatusCode)
	}
	other, err := store.Open(context.Background(), ts.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	d, err := other.GetDelivery(context.Background(), "d-persist")
	if err != nil {
		t.Fatalf("after 202: %v", err)
	}
	t.Logf("after 202: delivery %s event %s status %s, %d body bytes", d.ID, d.Event, d.Status, len(d.Body))
	if d.Status != store.DeliveryQueued || string(d.Body) != pushBody {
		t.Errorf("stored %q with body %q", d.Status, d.Body)
	}
}

// TestWebhookIgnoredAndMalformed: an event the service does not handle is
// answered 204 and not stored; a signed delivery without an id is 400.
func TestWebhookIgnoredAndMalformed(t *testing.T) {
	ts := startServer(t, "", Config{Process: blocked})
	resp, _ := ts.post(t, "d-ping", "ping", []byte(`{"zen":"Keep it logically awesome."}`), "sign")
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("ping: status %d, want 204", resp.StatusCode)
	}
	if d, j := ts.rows(t, "d-ping"); d+j != 0 {
		t.Error("ping stored")
	}
	resp, _ = ts.post(t, "", "push", []byte(pushBody), "sign")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no delivery id: status %d, want 400", resp.StatusCode)
	}
}

// TestWebhookDatabaseDown: when the database cannot be written the
// delivery is refused with 503 and Retry-After, so that GitHub's
// redelivery brings it back.
func TestWebhookDatabaseDown(t *testing.T) {
	ts := startServer(t, "", Config{Process: blocked})
	ts.st.Close()
	resp, msg := ts.post(t, "d-down", "push", []byte(pushBody), "sign")
	t.Logf("%d %q Retry-After %q", resp.StatusCode, msg, resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestHealthz(t *testing.T) {
	ts := startServer(t, "", Config{Process: blocked})
	resp, err := http.Get(ts.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestWorkerProcessesPush: the default processor records a push as
// processed and drops its body.
func TestWorkerProcessesPush(t *testing.T) {
	ts := startServer(t, "", Config{})
	if resp, _ := ts.post(t, "d-push", "push", []byte(pushBody), "sign"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	waitFor(t, "the push processed", func() bool {
		d, err := ts.st.GetDelivery(context.Background(), "d-push")
		return err == nil && d.Status == store.DeliveryProcessed && d.Body == nil
	})
	if !strings.Contains(ts.logs.String(), `"repository":"octo/repo"`) {
		t.Errorf("no push log line:\n%s", ts.logs)
	}
}

// TestTwoServersProcessEachDeliveryOnce: two services (replicas), two
// workers each, on one database (a SQLite file, a PostgreSQL database); 60
// deliveries sent to either: each is processed exactly once.
func TestTwoServersProcessEachDeliveryOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		twoServersProcessEachDeliveryOnce(t, dsn, 60)
	})
}

func twoServersProcessEachDeliveryOnce(t *testing.T, dsn string, n int) {
	var mu sync.Mutex
	seen := map[string]int{}
	count := func(ctx context.Context, d store.Delivery) error {
		mu.Lock()
		seen[d.ID]++
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		return nil
	}
	a := startServer(t, dsn, Config{Process: count, Workers: 2})
	b := startServer(t, a.dbPath, Config{Process: count, Workers: 2})
	for i := range n {
		ts := []*testServer{a, b}[i%2]
		if resp, _ := ts.post(t, fmt.Sprint("d", i), "push", []byte(pushBody), "sign"); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("delivery %d: status %d", i, resp.StatusCode)
		}
	}
	waitFor(t, "the queue to drain", func() bool {
		n, err := a.st.QueueDepth(context.Background())
		return err == nil && n == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != n {
		t.Errorf("%d deliveries processed, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("%s processed %d times", id, k)
		}
	}
}

// TestGracefulShutdown: a stop with a job still running waits the grace
// period, cancels the job and releases it (queued again, the attempt not
// counted), stops accepting connections and returns nil.
func TestGracefulShutdown(t *testing.T) {
	started := make(chan struct{}, 1)
	ts := startServer(t, "", Config{ShutdownGrace: 200 * time.Millisecond, Process: func(ctx context.Context, d store.Delivery) error {
		started <- struct{}{}
		return blocked(ctx, d)
	}})
	if resp, _ := ts.post(t, "d-stop", "push", []byte(pushBody), "sign"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	<-started
	st, err := store.Open(context.Background(), ts.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := ts.stop(); err != nil {
		t.Fatalf("Run after a stop: %v, want nil", err)
	}
	js, err := st.JobsFor(context.Background(), "d-stop")
	if err != nil || len(js) != 1 {
		t.Fatal(js, err)
	}
	t.Logf("after the stop: job state %s, attempts %d, last error %q", js[0].State, js[0].Attempts, js[0].LastError)
	if js[0].State != store.JobQueued || js[0].Attempts != 0 {
		t.Errorf("job %+v, want queued with 0 attempts", js[0])
	}
	if _, err := http.Get(ts.url + "/healthz"); err == nil {
		t.Error("still accepting connections after the stop")
	}
}

// TestJobOfDeadWorkerProcessedAfterRestart: a job claimed by a process
// that died mid-job (its lease never released) is processed by the next
// service once the lease runs out.
func TestJobOfDeadWorkerProcessedAfterRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "serve.db")
	dead, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.AddDelivery(ctx, store.Delivery{ID: "d-crash", Event: "push", ReceivedAt: time.Now(), Body: []byte(pushBody)}); err != nil {
		t.Fatal(err)
	}
	if j, err := dead.Claim(ctx, "killed-worker", 300*time.Millisecond); err != nil || j == nil {
		t.Fatal(j, err)
	}
	dead.Close() // the process is gone; its claim stays in the file
	ts := startServer(t, path, Config{})
	waitFor(t, "the abandoned job processed", func() bool {
		d, err := ts.st.GetDelivery(ctx, "d-crash")
		return err == nil && d.Status == store.DeliveryProcessed
	})
	js, _ := ts.st.JobsFor(ctx, "d-crash")
	t.Logf("job after restart: state %s, attempts %d", js[0].State, js[0].Attempts)
	if js[0].State != store.JobDone || js[0].Attempts != 2 {
		t.Errorf("job %+v; want done at attempt 2", js[0])
	}
}

// TestWebhookQueueFull: beyond MaxQueue waiting jobs, deliveries are
// refused with 503 and Retry-After and not stored.
func TestWebhookQueueFull(t *testing.T) {
	ts := startServer(t, "", Config{MaxQueue: 2, Workers: 1, Process: blocked})
	for i, want := range []int{http.StatusAccepted, http.StatusAccepted, http.StatusServiceUnavailable} {
		id := fmt.Sprint("d-full-", i)
		resp, msg := ts.post(t, id, "push", []byte(pushBody), "sign")
		t.Logf("delivery %d: %d %q Retry-After %q", i+1, resp.StatusCode, msg, resp.Header.Get("Retry-After"))
		if resp.StatusCode != want {
			t.Errorf("delivery %d: status %d, want %d", i+1, resp.StatusCode, want)
		}
		if d, _ := ts.rows(t, id); (d == 1) != (want == http.StatusAccepted) {
			t.Errorf("delivery %d stored: %v", i+1, d == 1)
		}
	}
}

// TestLongJobKeepsItsLease: a job that runs four leases long is not taken
// by the other idle worker: its worker renews the lease while it runs.
func TestLongJobKeepsItsLease(t *testing.T) {
	var mu sync.Mutex
	runs := 0
	slow := func(ctx context.Context, d store.Delivery) error {
		mu.Lock()
		runs++
		mu.Unlock()
		select {
		case <-time.After(4 * time.Second):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// The job outlasts four leases, renewed every third of one (333 ms).
	// A 1 s lease, not shorter: with 150 ms this failed 2 runs in 3 on a
	// machine at load 28, where a renewal can be late by more than a
	// lease, which is what a lease is for.
	ts := startServer(t, "", Config{Workers: 2, Lease: time.Second, Process: slow})
	if resp, _ := ts.post(t, "d-long", "push", []byte(pushBody), "sign"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	waitFor(t, "the long job done", func() bool {
		js, err := ts.st.JobsFor(context.Background(), "d-long")
		return err == nil && len(js) == 1 && js[0].State == store.JobDone
	})
	js, _ := ts.st.JobsFor(context.Background(), "d-long")
	mu.Lock()
	defer mu.Unlock()
	t.Logf("runs %d, attempts %d", runs, js[0].Attempts)
	if runs != 1 || js[0].Attempts != 1 {
		t.Errorf("the job ran %d times (%d attempts); want once", runs, js[0].Attempts)
	}
}

// TestReadyz: ready with an idle queue; 503 when a job has waited longer
// than StuckAfter (the workers are stuck), and when the database is gone.
func TestReadyz(t *testing.T) {
	ts := startServer(t, "", Config{StuckAfter: 100 * time.Millisecond, Workers: 1, Process: blocked})
	get := func() (int, string) {
		resp, err := http.Get(ts.url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if code, msg := get(); code != http.StatusOK {
		t.Fatalf("idle: %d %s", code, msg)
	}
	// the one worker is blocked on the first job; the second waits
	for _, id := range []string{"d-r1", "d-r2"} {
		if resp, _ := ts.post(t, id, "push", []byte(pushBody), "sign"); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	time.Sleep(200 * time.Millisecond)
	code, msg := get()
	t.Logf("a job waiting: %d %s", code, msg)
	if code != http.StatusServiceUnavailable || !strings.Contains(msg, "stuck") {
		t.Errorf("a job waiting: %d %s; want 503 stuck", code, msg)
	}
	ts.st.Close()
	if code, msg := get(); code != http.StatusServiceUnavailable {
		t.Errorf("database closed: %d %s; want 503", code, msg)
	}
}
