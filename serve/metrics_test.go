package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bks-dev/bks/awsops/kpi"
)

// scrape GETs /metrics and parses it with the Prometheus text parser. It
// returns the families by name and the raw text.
func (ts *testServer) scrape(t *testing.T) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	resp, err := http.Get(ts.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return mfs, string(body)
}

// value is the counter, gauge or histogram count of name whose labels
// include those of want ("k=v" pairs); -1 when there is none.
func value(mfs map[string]*dto.MetricFamily, name string, want ...string) float64 {
	mf := mfs[name]
	if mf == nil {
		return -1
	}
next:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for _, kv := range want {
			k, v, _ := strings.Cut(kv, "=")
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// TestMetrics: after a scanned push with a key, its replay, an unsigned
// delivery and a ping, and a revocation recorded as the response pipeline
// records it, the scrape (parsed by the Prometheus parser) counts each,
// the push-to-finding and push-to-revocation histograms have their
// sample, the queue is empty, and the key is nowhere in the text.
func TestMetrics(t *testing.T) {
	cache, c1, c2, key := repoWithPushedKey(t)
	ts := startServer(t, "", Config{RepoCache: cache, Workers: 1})
	body := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","before":%q,"after":%q,"repository":{"full_name":"octo/repo","default_branch":"main"}}`, c1, c2))
	for _, c := range []struct {
		id, event, sig string
		want           int
	}{
		{"d-m1", "push", "sign", http.StatusAccepted},
		{"d-m1", "push", "sign", http.StatusOK},
		{"d-m2", "push", "", http.StatusUnauthorized},
		{"d-m3", "ping", "sign", http.StatusNoContent},
	} {
		if resp, _ := ts.post(t, c.id, c.event, body, c.sig); resp.StatusCode != c.want {
			t.Fatalf("%s %s: %d, want %d", c.id, c.event, resp.StatusCode, c.want)
		}
	}
	// The job is counted once its outcome is stored.
	waitFor(t, "the push processed", func() bool {
		mfs, _ := ts.scrape(t)
		return value(mfs, "bks_serve_jobs_total", "outcome=done") == 1
	})
	ts.srv.metrics.Action("revoke", "ok")
	ts.srv.metrics.Revoked(3 * time.Second)

	mfs, text := ts.scrape(t)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"bks_serve_deliveries_total", []string{"result=accepted"}, 1},
		{"bks_serve_deliveries_total", []string{"result=duplicate"}, 1},
		{"bks_serve_deliveries_total", []string{"result=unauthorized"}, 1},
		{"bks_serve_deliveries_total", []string{"result=ignored"}, 1},
		{"bks_serve_deliveries_total", []string{"result=queue_full"}, 0},
		{"bks_serve_jobs_total", []string{"outcome=done"}, 1},
		{"bks_serve_scans_total", []string{"result=ok"}, 1},
		{"bks_serve_findings_total", nil, 1},
		{"bks_serve_push_to_finding_seconds", nil, 1},
		{"bks_serve_actions_total", []string{"kind=revoke", "result=ok"}, 1},
		{"bks_serve_push_to_revocation_seconds", nil, 1},
		{"bks_serve_queue_depth", nil, 0},
		{"bks_serve_queue_oldest_due_seconds", nil, 0},
	} {
		got := value(mfs, c.name, c.labels...)
		t.Logf("%s%v = %v", c.name, c.labels, got)
		if got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if mfs["go_goroutines"] == nil || mfs["process_resident_memory_bytes"] == nil {
		t.Error("no Go or process metrics")
	}
	if strings.Contains(text, key) {
		t.Error("the key is in /metrics")
	}
}

// TestMetricsQueueDepth: the queue gauges read the database at each
// scrape: jobs waiting behind a blocked worker are counted.
func TestMetricsQueueDepth(t *testing.T) {
	ts := startServer(t, "", Config{Workers: 1, Process: blocked})
	for i := range 3 {
		if resp, _ := ts.post(t, fmt.Sprint("d-q", i), "push", []byte(pushBody), "sign"); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	time.Sleep(50 * time.Millisecond)
	mfs, _ := ts.scrape(t)
	depth, age := value(mfs, "bks_serve_queue_depth"), value(mfs, "bks_serve_queue_oldest_due_seconds")
	t.Logf("queue depth %v, oldest due %vs", depth, age)
	if depth != 3 || age <= 0 {
		t.Errorf("queue depth %v, oldest due %v; want 3 and > 0", depth, age)
	}
}

// TestMetricsKPICache: the KPI gauges are computed once for scrapes in a
// row (the computations are counted), again after an AWS event recorded
// (not after a duplicate) and after 30 s; a computation that does not end
// leaves the scrape its last values and their age in
// bks_kpi_age_seconds, and the scrapes meanwhile start no other; a failed
// one keeps the last values and is counted.
func TestMetricsKPICache(t *testing.T) {
	ts := startEventsServer(t, "")
	c := ts.srv.metrics.kpis
	// Scrapes wait for the computations except in the part about the
	// bound: under -race on a loaded machine one can take more than the
	// default 2 s, and a scrape would count a value not yet there.
	c.mu.Lock()
	c.wait = time.Hour
	c.mu.Unlock()
	var mu sync.Mutex
	clock := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	computed := 0
	var gate chan struct{} // non-nil: computations wait for it
	var fail error
	c.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	compute := c.compute
	c.compute = func(ctx context.Context, now time.Time) (kpi.Report, error) {
		mu.Lock()
		computed++
		g, err := gate, fail
		mu.Unlock()
		if g != nil {
			<-g
		}
		if err != nil {
			return kpi.Report{}, err
		}
		return compute(ctx, now)
	}
	set := func(f func()) { mu.Lock(); f(); mu.Unlock() }
	count := func() int { mu.Lock(); defer mu.Unlock(); return computed }
	keys := func() (live, age float64) {
		mfs, _ := ts.scrape(t)
		return value(mfs, "bks_kpi_live_long_term_keys", "account="+evAccount), value(mfs, "bks_kpi_age_seconds")
	}
	post := func(id, cred string) {
		t.Helper()
		body := envelope(id, "aws.iam", createCredential(cred, "BedrockAPIKey-ca01", "2026-12-07T10:00:00Z", "", ""))
		if code, msg := ts.postEvent(t, DefaultEventsHeader, evSecret, body); code != http.StatusOK {
			t.Fatalf("%s: %d %s", id, code, msg)
		}
	}

	for range 3 {
		keys()
	}
	if n := count(); n != 1 {
		t.Errorf("3 scrapes in a row computed the KPIs %d times, want 1", n)
	}
	post("ca-1", "ACCACA01")
	if live, _ := keys(); live != 1 || count() != 2 {
		t.Errorf("after an event: %v live keys, %d computations; want 1 and 2", live, count())
	}
	post("ca-1", "ACCACA01") // a duplicate changes nothing
	keys()
	set(func() { clock = clock.Add(29 * time.Second) })
	keys()
	if n := count(); n != 2 {
		t.Errorf("after a duplicate and 29 s: %d computations, want 2", n)
	}
	set(func() { clock = clock.Add(2 * time.Second) })
	keys()
	if n := count(); n != 3 {
		t.Errorf("after 31 s: %d computations, want 3", n)
	}

	// A database that does not answer: the scrape waits c.wait, then
	// exports the last values with their age.
	c.mu.Lock()
	c.wait = 10 * time.Millisecond
	c.mu.Unlock()
	release := make(chan struct{})
	set(func() { gate = release; clock = clock.Add(10 * time.Second) })
	post("ca-2", "ACCACA02")
	for range 2 {
		if live, age := keys(); live != 1 || age != 10 {
			t.Errorf("while the computation hangs: %v live keys, age %v s; want the last value 1, 10 s old", live, age)
		}
	}
	if n := count(); n != 4 {
		t.Errorf("scrapes during a hung computation started %d in all, want 4", n)
	}
	set(func() { gate = nil })
	close(release)
	waitFor(t, "the hung computation to end", func() bool { live, _ := keys(); return live == 2 })
	if live, age := keys(); live != 2 || age != 0 || count() != 4 {
		t.Errorf("after it ended: %v live keys, age %v, %d computations; want 2, 0, 4", live, age, count())
	}

	// A failure keeps the last values, is counted, and the next scrape
	// tries again (the scrapes wait for the computations again).
	c.mu.Lock()
	c.wait = time.Hour
	c.mu.Unlock()
	set(func() { fail = errors.New("database down"); clock = clock.Add(time.Minute) })
	mfs, _ := ts.scrape(t)
	if live, age, failed := value(mfs, "bks_kpi_live_long_term_keys", "account="+evAccount), value(mfs, "bks_kpi_age_seconds"),
		value(mfs, "bks_kpi_refresh_failures_total"); live != 2 || age != 60 || failed != 1 {
		t.Errorf("after a failure: %v live keys, age %v, %v failures; want 2, 60, 1", live, age, failed)
	}
	set(func() { fail = nil })
	if _, age := keys(); age != 0 || count() != 6 {
		t.Errorf("the scrape after the failure: age %v, %d computations; want 0 and 6", age, count())
	}
}

// TestMetricsListener: with a metrics listener, /metrics is served there
// and only there; the metrics listener serves nothing else.
func TestMetricsListener(t *testing.T) {
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, "", Config{Process: blocked, MetricsListener: mln})
	murl := "http://" + mln.Addr().String()
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(murl + "/metrics"); code != http.StatusOK || !strings.Contains(body, "bks_serve_deliveries_total") {
		t.Errorf("the metrics listener's /metrics: %d\n%s", code, body)
	}
	if code, _ := get(ts.url + "/metrics"); code != http.StatusNotFound {
		t.Errorf("the service's listener answers /metrics with %d, want 404", code)
	}
	for _, p := range []string{"/dashboard", "/healthz", "/"} {
		if code, _ := get(murl + p); code != http.StatusNotFound {
			t.Errorf("the metrics listener answers %s with %d, want 404", p, code)
		}
	}
	if code, _ := get(ts.url + "/healthz"); code != http.StatusOK {
		t.Errorf("the service's /healthz: %d", code)
	}
	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(murl + "/metrics"); err == nil {
		t.Error("the metrics listener still serves after the stop")
	}
}

// TestDashboardKPICache: the dashboard's KPIs (storeKPIs, which read all
// of key_changes) come from a kpiCache as /metrics' do: page loads in a
// row compute them once, an AWS event recorded by this replica has the
// next load compute them again, and the page shows the new key.
func TestDashboardKPICache(t *testing.T) {
	ts := startEventsServer(t, "")
	c := ts.srv.metrics.dashKPIs
	var mu sync.Mutex
	computed := 0
	compute := c.compute
	c.mu.Lock()
	c.wait = time.Hour // the test is about the count, not the bound
	c.compute = func(ctx context.Context, now time.Time) (KPISnapshot, error) {
		mu.Lock()
		computed++
		mu.Unlock()
		return compute(ctx, now)
	}
	c.mu.Unlock()
	count := func() int { mu.Lock(); defer mu.Unlock(); return computed }
	for range 3 {
		if _, page := getPage(t, ts.url+"/dashboard", ""); !strings.Contains(page, "none in any account") {
			t.Fatalf("the page lacks the KPIs:\n%s", page)
		}
	}
	if n := count(); n != 1 {
		t.Errorf("3 page loads computed the KPIs %d times, want 1", n)
	}
	body := envelope("dc-1", "aws.iam", createCredential("ACCADC01", "BedrockAPIKey-dc01", "2026-12-07T10:00:00Z", "", ""))
	if code, msg := ts.postEvent(t, DefaultEventsHeader, evSecret, body); code != http.StatusOK {
		t.Fatalf("event: %d %s", code, msg)
	}
	if _, page := getPage(t, ts.url+"/dashboard", ""); !strings.Contains(page, "ACCADC01") || count() != 2 {
		t.Errorf("after an event: %d computations, want 2, and the page shows the new key (%v)", count(), strings.Contains(page, "ACCADC01"))
	}
}

// TestKPICacheEndsWithRun: a KPI computation still running when Run stops
// is cancelled (its context is tied to Run's lifetime), not left to run
// its 30 s timeout against a store being closed.
func TestKPICacheEndsWithRun(t *testing.T) {
	ts := startEventsServer(t, "")
	c := ts.srv.metrics.kpis
	started, ended := make(chan struct{}), make(chan error, 1)
	c.mu.Lock()
	c.wait = 10 * time.Millisecond
	c.compute = func(ctx context.Context, now time.Time) (kpi.Report, error) {
		close(started)
		<-ctx.Done()
		ended <- ctx.Err()
		return kpi.Report{}, ctx.Err()
	}
	c.mu.Unlock()
	ts.scrape(t)
	<-started
	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the computation ended with %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the KPI computation still runs 5 s after Run stopped")
	}
}
