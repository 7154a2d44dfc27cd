package serve

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bks-dev/bks/awsops/kpi"
)

// kpiCollector exports the three KPIs of Bedrock keys (store.KPIs), so
// that every replica reports what the shared database holds. They are
// computed from the database (a scan of the key inventory, the incidents
// and their actions, 30 days of calls), so a scrape does not compute
// them: it exports what kpiCache last computed, and bks_kpi_age_seconds
// says how old that is.
type kpiCollector struct{ cache *kpiCache[kpi.Report] }

// kpiCache holds the last KPI report (T: kpi.Report for /metrics,
// KPISnapshot for the dashboard). It is computed again when it is older
// than maxAge, or when an event of this replica changed the facts since
// (changed: an AWS event recorded, a scan's findings, a revocation;
// another replica's events show after maxAge). One computation runs at a
// time, shared by the readers that wait for it; a reader waits at most
// wait for it, then gets the last report (older: its time says so), and
// the computation goes on in the background, bounded by timeout and by
// the server's lifetime (setBase), for the next reader. Under a steady
// stream of events (every Bedrock call is one), each scrape or page load
// computes the KPIs once: the cost follows the reads, not the events.
type kpiCache[T any] struct {
	compute func(ctx context.Context, now time.Time) (T, error)
	now     func() time.Time
	maxAge  time.Duration
	wait    time.Duration
	timeout time.Duration
	// failures counts computations that failed (the last report stays);
	// nil: not counted.
	failures prometheus.Counter

	mu      sync.Mutex
	base    context.Context // the computations' parent: cancelled when Run stops
	rep     T
	at      time.Time     // when rep was computed (zero: never)
	err     error         // the last computation's error (nil: it succeeded)
	dirty   bool          // an event changed the facts since rep was computed
	running chan struct{} // closed when the computation in flight ends (nil: none)
}

// KPI cache defaults: reused for 30 s; a reader waits 2 s for a
// computation (Prometheus' default scrape timeout is 10 s), which may take
// 30 s.
const (
	kpiMaxAge  = 30 * time.Second
	kpiWait    = 2 * time.Second
	kpiTimeout = 30 * time.Second
)

func newKPICache[T any](compute func(ctx context.Context, now time.Time) (T, error)) *kpiCache[T] {
	return &kpiCache[T]{compute: compute, now: time.Now, maxAge: kpiMaxAge, wait: kpiWait, timeout: kpiTimeout,
		base: context.Background()}
}

// setBase makes ctx the parent of the computations from now on: Run's, so
// that one in flight when the server stops is cancelled.
func (c *kpiCache[T]) setBase(ctx context.Context) {
	c.mu.Lock()
	c.base = ctx
	c.mu.Unlock()
}

// changed says that an event changed what the KPIs are computed from.
func (c *kpiCache[T]) changed() {
	if c != nil {
		c.mu.Lock()
		c.dirty = true
		c.mu.Unlock()
	}
}

// get returns the report to read as of now, when it was computed (zero:
// no computation has succeeded yet) and the last computation's error. It
// waits for a computation at most c.wait, or until ctx ends.
func (c *kpiCache[T]) get(ctx context.Context, now time.Time) (T, time.Time, error) {
	c.mu.Lock()
	if !c.at.IsZero() && !c.dirty && now.Sub(c.at) < c.maxAge {
		defer c.mu.Unlock()
		return c.rep, c.at, nil
	}
	done, wait := c.running, c.wait
	if done == nil {
		done = make(chan struct{})
		c.running, c.dirty = done, false // a change from now on is seen by the next one
		go c.refresh(c.base, done, now)
	}
	c.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rep, c.at, c.err
}

// refresh computes the report as of now and closes done.
func (c *kpiCache[T]) refresh(base context.Context, done chan struct{}, now time.Time) {
	ctx, cancel := context.WithTimeout(base, c.timeout)
	defer cancel()
	rep, err := c.compute(ctx, now)
	c.mu.Lock()
	c.err = err
	if err == nil {
		c.rep, c.at = rep, now
	} else {
		c.dirty = true // the change is not in the report yet: the next reader tries again
		if c.failures != nil {
			c.failures.Inc()
		}
	}
	c.running = nil
	c.mu.Unlock()
	close(done)
}

var (
	kpiLiveKeysDesc = prometheus.NewDesc("bks_kpi_live_long_term_keys",
		"Live long-term keys (Bedrock API keys, access keys of BedrockAPIKey-* users) per account, from the EventBridge key inventory. The goal is 0.",
		[]string{"account"}, nil)
	kpiCallsDesc = prometheus.NewDesc("bks_kpi_bedrock_calls",
		"Bedrock calls of the last 30 days per account, by caller (role, api_key, iam_user, other), from the CloudTrail events EventBridge delivered.",
		[]string{"account", "caller"}, nil)
	kpiRoleShareDesc = prometheus.NewDesc("bks_kpi_role_call_share",
		"Share of the last 30 days' Bedrock calls made with IAM roles rather than API keys, per account (role / (role + api_key)); absent without such calls.",
		[]string{"account"}, nil)
	kpiMTTRDesc = prometheus.NewDesc("bks_kpi_mean_time_to_remediate_seconds",
		"Mean time from a key's detection to its revocation or removal, over the remediated incidents; absent before the first.", nil, nil)
	kpiIncidentsDesc = prometheus.NewDesc("bks_kpi_incidents",
		"Incidents of one's own keys, by remediation state (remediated, open).", []string{"state"}, nil)
	kpiAgeDesc = prometheus.NewDesc("bks_kpi_age_seconds",
		"Seconds since the bks_kpi_* gauges were computed: they are cached (30 s, less after an event), and a database slow to answer leaves the last values, older.", nil, nil)
)

func (c kpiCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{kpiLiveKeysDesc, kpiCallsDesc, kpiRoleShareDesc, kpiMTTRDesc, kpiIncidentsDesc, kpiAgeDesc} {
		ch <- d
	}
	c.cache.failures.Describe(ch)
}

// Collect exports the cached report; none before the first computation
// succeeds.
func (c kpiCollector) Collect(ch chan<- prometheus.Metric) {
	rep, at, _ := c.cache.get(context.Background(), c.cache.now())
	ch <- c.cache.failures // after get: the count includes its computation
	if at.IsZero() {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(kpiAgeDesc, max(c.cache.now().Sub(at).Seconds(), 0))
	for _, a := range rep.Accounts {
		if a.KeysKnown {
			gauge(kpiLiveKeysDesc, float64(a.LiveKeys), a.Account)
		}
		for caller, n := range map[string]int{kpi.CallerRole: a.Calls.Role, kpi.CallerAPIKey: a.Calls.APIKey,
			kpi.CallerUser: a.Calls.User, kpi.CallerOther: a.Calls.Other} {
			gauge(kpiCallsDesc, float64(n), a.Account, caller)
		}
		if a.RoleShare != nil {
			gauge(kpiRoleShareDesc, *a.RoleShare, a.Account)
		}
	}
	if m := rep.MTTR.MeanSeconds; m != nil {
		gauge(kpiMTTRDesc, *m)
	}
	gauge(kpiIncidentsDesc, float64(rep.MTTR.Remediated), "remediated")
	gauge(kpiIncidentsDesc, float64(rep.MTTR.Open), "open")
}
