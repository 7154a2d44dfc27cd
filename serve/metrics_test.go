package serve

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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
