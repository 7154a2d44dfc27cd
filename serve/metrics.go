package serve

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bks-dev/bks/awsops/kpi"
	"github.com/bks-dev/bks/serve/store"
)

// Metrics is every Prometheus metric the service exports on GET /metrics,
// defined here and nowhere else, on a registry of its own (so that two
// servers in one process, as in the tests, do not collide). The request
// path and the workers record through its methods; each method is a no-op
// on a nil *Metrics, so a Processor built without one still runs.
//
// Latencies are measured from the moment the service received the
// delivery (GitHub sends it within seconds of the push; the payload's own
// times are the committer's, which may be days old).
type Metrics struct {
	reg              *prometheus.Registry
	deliveries       *prometheus.CounterVec
	awsEvents        *prometheus.CounterVec
	jobs             *prometheus.CounterVec
	scans            *prometheus.CounterVec
	findings         prometheus.Counter
	actions          *prometheus.CounterVec
	pushToFinding    prometheus.Histogram
	pushToRevocation prometheus.Histogram
	kpis             *kpiCache[kpi.Report]
	// dashKPIs is the dashboard's KPIs from the store (storeKPIs), cached
	// as kpis is: a page load does not read all of key_changes.
	dashKPIs *kpiCache[KPISnapshot]
}

// Label values of bks_serve_deliveries_total{result}: what the webhook
// answered. All are exported from the start at 0.
const (
	DeliveryAccepted     = "accepted"     // 202, stored and queued
	DeliveryDuplicate    = "duplicate"    // 200, a delivery id seen before
	DeliveryIgnored      = "ignored"      // 204, an event the service does not handle
	DeliveryUnauthorized = "unauthorized" // 401, no or bad signature
	DeliveryTooLarge     = "too_large"    // 413
	DeliveryMalformed    = "malformed"    // 400
	DeliveryUnavailable  = "unavailable"  // 503, the database failed
	DeliveryQueueFull    = "queue_full"   // 503, back-pressure
)

// refusedResults are the results of the webhook's refusals, by status.
var refusedResults = map[int]string{
	http.StatusUnauthorized:          DeliveryUnauthorized,
	http.StatusRequestEntityTooLarge: DeliveryTooLarge,
	http.StatusBadRequest:            DeliveryMalformed,
}

var deliveryResults = []string{DeliveryAccepted, DeliveryDuplicate, DeliveryIgnored, DeliveryUnauthorized,
	DeliveryTooLarge, DeliveryMalformed, DeliveryUnavailable, DeliveryQueueFull}

// jobOutcomes are the values of bks_serve_jobs_total{outcome}, the first
// word of what runJob logs.
var jobOutcomes = []string{"done", "retry", "failed", "released", "dropped"}

// latencyBuckets (seconds) bracket the goal of a revocation within 10 s of
// the push, up to the 10-minute retry backoff.
var latencyBuckets = []float64{0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600}

// NewMetrics returns the metric set; queue depth and the age of the oldest
// due job are read from st at each scrape, the KPIs at most every 30
// seconds (kpiCache).
func NewMetrics(st *store.Store) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bks_serve_deliveries_total", Help: "GitHub webhook deliveries received, by the webhook's answer.",
		}, []string{"result"}),
		awsEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bks_serve_aws_events_total", Help: "EventBridge deliveries to /events/aws, by the answer (recorded, duplicate, ignored, unauthorized…).",
		}, []string{"result"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bks_serve_jobs_total", Help: "Job attempts ended, by outcome (done, retry, failed, released, dropped).",
		}, []string{"outcome"}),
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bks_serve_scans_total", Help: "Pushes and pull requests scanned, by result (ok, error).",
		}, []string{"result"}),
		findings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bks_serve_findings_total", Help: "Keys found in scanned commits (sightings, before deduplication into incidents).",
		}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bks_serve_actions_total", Help: "Responses run (revoke, timeline, report, notify, check_run, comment), by result.",
		}, []string{"kind", "result"}),
		pushToFinding: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bks_serve_push_to_finding_seconds", Help: "From receiving a delivery to its findings recorded, for deliveries with findings.",
			Buckets: latencyBuckets,
		}),
		pushToRevocation: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bks_serve_push_to_revocation_seconds", Help: "From receiving a delivery to the revocation of a key it leaked.",
			Buckets: latencyBuckets,
		}),
		kpis:     newKPICache(st.KPIs),
		dashKPIs: newKPICache(storeKPIs{st}.DashboardKPIs),
	}
	m.kpis.failures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bks_kpi_refresh_failures_total",
		Help: "Computations of the bks_kpi_* gauges that failed (the database did not answer); the last values stay and bks_kpi_age_seconds grows.",
	})
	for _, r := range deliveryResults {
		m.deliveries.WithLabelValues(r)
	}
	for _, r := range eventResults {
		m.awsEvents.WithLabelValues(r)
	}
	for _, o := range jobOutcomes {
		m.jobs.WithLabelValues(o)
	}
	for _, r := range []string{"ok", "error"} {
		m.scans.WithLabelValues(r)
	}
	m.reg.MustRegister(m.deliveries, m.awsEvents, kpiCollector{cache: m.kpis}, m.jobs, m.scans, m.findings, m.actions, m.pushToFinding, m.pushToRevocation,
		queueCollector{st: st},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Delivery counts a webhook answer (one of the Delivery* results).
func (m *Metrics) Delivery(result string) {
	if m != nil {
		m.deliveries.WithLabelValues(result).Inc()
	}
}

// AWSEvent counts an answer of /events/aws (one of the Event* results).
func (m *Metrics) AWSEvent(result string) {
	if m != nil {
		m.awsEvents.WithLabelValues(result).Inc()
		if result == EventRecorded {
			m.kpisChanged()
		}
	}
}

// Job counts the end of a job attempt; outcome is what runJob logs, of
// which the first word is kept ("dropped: …" is dropped).
func (m *Metrics) Job(outcome string) {
	if m != nil {
		word, _, _ := strings.Cut(outcome, ":")
		m.jobs.WithLabelValues(word).Inc()
	}
}

// Scanned counts one scan of a delivery's commits: err is its error, n the
// findings it recorded, since the time from receiving the delivery to now
// (observed as push-to-finding when n > 0).
func (m *Metrics) Scanned(err error, n int, since time.Duration) {
	if m == nil {
		return
	}
	if err != nil {
		m.scans.WithLabelValues("error").Inc()
	} else {
		m.scans.WithLabelValues("ok").Inc()
	}
	m.findings.Add(float64(n))
	if n > 0 {
		m.kpisChanged() // new incidents, or sightings of known ones
		m.pushToFinding.Observe(since.Seconds())
	}
}

// Action counts one response (kind: revoke, timeline, report, notify,
// check_run, comment; result: e.g. ok, error, skipped, already_done).
func (m *Metrics) Action(kind, result string) {
	if m != nil {
		m.actions.WithLabelValues(kind, result).Inc()
	}
}

// Revoked observes the time from receiving the delivery that leaked a key
// to that key's revocation.
func (m *Metrics) Revoked(since time.Duration) {
	if m != nil {
		m.pushToRevocation.Observe(since.Seconds())
		m.kpisChanged()
	}
}

// queueCollector reads the queue from the store at each scrape, so that
// every replica sharing a database reports the same shared queue. A
// database that does not answer leaves the gauges out of the scrape (and
// /readyz says why).
type queueCollector struct{ st *store.Store }

var (
	queueDepthDesc = prometheus.NewDesc("bks_serve_queue_depth",
		"Jobs queued or running, in the database every replica shares.", nil, nil)
	queueOldestDesc = prometheus.NewDesc("bks_serve_queue_oldest_due_seconds",
		"How long the job that has waited longest for a worker has been due (0: none waits).", nil, nil)
)

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepthDesc
	ch <- queueOldestDesc
}

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if n, err := c.st.QueueDepth(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(n))
	}
	if due, err := c.st.OldestDue(ctx); err == nil {
		age := 0.0
		if !due.IsZero() {
			age = max(time.Since(due).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(queueOldestDesc, prometheus.GaugeValue, age)
	}
}

// kpisChanged says that an event of this replica changed what the KPIs are
// computed from (both caches compute them again at their next read).
func (m *Metrics) kpisChanged() {
	m.kpis.changed()
	m.dashKPIs.changed()
}

// setBase ties the KPI computations to ctx (Run's lifetime).
func (m *Metrics) setBase(ctx context.Context) {
	m.kpis.setBase(ctx)
	m.dashKPIs.setBase(ctx)
}
