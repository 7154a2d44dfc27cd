// Package serve is the long-running service behind `bks serve`: an HTTP
// server that accepts GitHub webhook deliveries (verified, persisted, then
// answered 202, never processed in the request) and workers that take the
// deliveries' jobs from the store's queue and process them.
//
// The request path and the work are decoupled by the store on purpose: a
// delivery that was answered 202 is on disk, so a crash or a restart loses
// nothing, and the queue's leases make the work at-least-once.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/rules"
	"github.com/bks-dev/bks/serve/store"
)

// MaxWebhookBody is the largest delivery accepted. GitHub caps webhook
// payloads at 25 MB and sends nothing for an event whose payload would be
// larger ("Payloads are capped at 25 MB", docs.github.com/en/webhooks/
// webhook-events-and-payloads#payload-cap), so anything bigger is not
// GitHub.
const MaxWebhookBody = 25 << 20

// Config is how the service runs. Zero values take the defaults.
type Config struct {
	// WebhookSecret is the GitHub webhook secret (required).
	WebhookSecret []byte
	// MaxBody is the largest delivery accepted (MaxWebhookBody).
	MaxBody int64
	// Workers is the number of jobs processed at once (2).
	Workers int
	// Lease is how long a claimed job is held before another worker may
	// take it again, assuming the first died (5 minutes).
	Lease time.Duration
	// Poll is how often idle workers look for due jobs (retries, leases
	// that ran out, jobs queued by another replica) (1 second).
	Poll time.Duration
	// MaxQueue is the most jobs waiting or running; beyond it deliveries
	// are refused with 503 and Retry-After, and GitHub's redelivery brings
	// them back later (10000).
	MaxQueue int
	// MaxAttempts is how many times a job is tried before it fails (5).
	MaxAttempts int
	// StuckAfter is how long a due job may wait for a worker before
	// /readyz says the queue is stuck (5 minutes).
	StuckAfter time.Duration
	// DBTimeout is how long a request waits for the database before it
	// answers 503 (5 seconds): a database behind a partition would
	// otherwise hold the request past GitHub's 10 s (the delivery then
	// fails anyway) and the handlers would pile up.
	DBTimeout time.Duration
	// ShutdownGrace is how long a stop waits for running jobs before it
	// cancels and releases them (20 seconds).
	ShutdownGrace time.Duration
	// RepoCache holds local repositories, RepoCache/owner/name, whose
	// pushes the default processor scans ("": pushes are only recorded).
	RepoCache string
	// GitURL, when set, makes the service fetch the pushed commits into
	// RepoCache from GitURL+"owner/name.git" (https://github.com/ for
	// GitHub), as GitHub (the App's installation token, or the personal
	// access token), else with GitToken, at most FetchTimeout per
	// repository (2 minutes).
	GitURL       string
	GitHub       *GitHubAuth
	GitToken     string
	FetchTimeout time.Duration
	// MaxPushCommits and MaxPushBytes: a larger push is scanned as its
	// whole branch (10000 commits, 512 MiB).
	MaxPushCommits int
	MaxPushBytes   int64
	// Rules and Baseline are the configuration of the scans: the
	// configuration file's rules, path scopes and allowlists and the
	// baseline, applied as `detect git --range` applies them (nil: the
	// built-in rules, no baseline).
	Rules    *rules.Config
	Baseline *rules.Baseline
	// Respond runs the accounts' responses to what a scan found, and
	// Report reports it back to GitHub (nil: neither).
	Respond *Responder
	Report  *Reporter
	// Process handles one delivery (Processor.Process by default).
	Process func(ctx context.Context, d store.Delivery) error
	// EventsSecret, when set, opens POST /events/aws to EventBridge
	// deliveries that carry it in the EventsHeader header
	// (DefaultEventsHeader); MaxEventBody is the largest accepted
	// (MaxEventBody).
	EventsSecret []byte
	EventsHeader string
	MaxEventBody int64
	// Log receives the structured logs (slog.Default()).
	Log *slog.Logger
	// Dashboard is how GET / and GET /dashboard are served (dashboard.go):
	// by default to loopback clients only.
	Dashboard DashboardConfig
	// MetricsListener, when set, is where Run serves GET /metrics, and
	// the only place: the service's listener (the webhook's, which may face
	// the internet) then has none. The metrics name accounts and count
	// their live keys.
	MetricsListener net.Listener
}

func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.MaxBody <= 0 {
		c.MaxBody = MaxWebhookBody
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.EventsHeader == "" {
		c.EventsHeader = DefaultEventsHeader
	}
	if c.MaxEventBody <= 0 {
		c.MaxEventBody = MaxEventBody
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = 10000
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	def(&c.Lease, 5*time.Minute)
	def(&c.Poll, time.Second)
	def(&c.ShutdownGrace, 20*time.Second)
	def(&c.StuckAfter, 5*time.Minute)
	def(&c.DBTimeout, 5*time.Second)
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// Server is the service: its HTTP handler and its workers.
type Server struct {
	cfg     Config
	st      *store.Store
	log     *slog.Logger
	metrics *Metrics
	wake    chan struct{}
	start   time.Time
}

// New returns the service over st.
func New(st *store.Store, cfg Config) (*Server, error) {
	if len(cfg.WebhookSecret) == 0 {
		return nil, errors.New("serve: no webhook secret")
	}
	if cfg.Report != nil && cfg.Report.Auth == nil {
		return nil, errors.New("serve: a Reporter needs Auth")
	}
	cfg = cfg.withDefaults()
	metrics := NewMetrics(st)
	if cfg.Process == nil {
		p := Processor{Log: cfg.Log, Store: st, RepoCache: cfg.RepoCache,
			MaxPushCommits: cfg.MaxPushCommits, MaxPushBytes: cfg.MaxPushBytes, Respond: cfg.Respond, Report: cfg.Report, Metrics: metrics,
			Rules: cfg.Rules, Baseline: cfg.Baseline}
		if cfg.Respond != nil { // a copy: the caller's may serve another store
			r := *cfg.Respond
			r.Store = st
			p.Respond = &r
		}
		if cfg.Report != nil {
			r := *cfg.Report
			r.Store = st
			p.Report = &r
		}
		if cfg.GitURL != "" && cfg.RepoCache != "" {
			auth := cfg.GitHub
			if auth == nil && cfg.GitToken != "" {
				auth = &GitHubAuth{Token: cfg.GitToken}
			}
			p.Fetcher = &Fetcher{Dir: cfg.RepoCache, BaseURL: cfg.GitURL, Auth: auth, Timeout: cfg.FetchTimeout}
		}
		if cfg.RepoCache != "" {
			// Now is zero: expiry is judged at each scan, not at start.
			p.Engine = rules.NewEngine(cfg.Rules, detectors.Options{})
		}
		cfg.Process = p.Process
	}
	return &Server{cfg: cfg, st: st, log: cfg.Log, metrics: metrics, wake: make(chan struct{}, 1), start: time.Now()}, nil
}

// Handler is the service's HTTP interface.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhook/github", s.webhook)
	if len(s.cfg.EventsSecret) > 0 {
		mux.HandleFunc("POST /events/aws", s.awsEvents)
	}
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.cfg.MetricsListener == nil {
		mux.Handle("GET /metrics", s.metrics.Handler())
	}
	dcfg := s.cfg.Dashboard
	if dcfg.KPIs == nil && len(s.cfg.EventsSecret) > 0 {
		dcfg.KPIs = cachedKPIs{s.metrics.dashKPIs} // storeKPIs: the inventory is fed by POST /events/aws
	}
	dash := newDashboard(s.st, dcfg, s.cfg.DBTimeout, s.log)
	mux.Handle("GET /{$}", dash)
	mux.Handle("GET /dashboard", dash)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent) // none: a browser's request for it is not an error
	})
	return mux
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// readyz answers 200 when the database answers and no job has waited for a
// worker longer than StuckAfter, else 503 with the reason (a load balancer
// or Kubernetes then stops sending deliveries, which GitHub redelivers).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.DBTimeout)
	defer cancel()
	due, err := s.st.OldestDue(ctx)
	switch {
	case err != nil:
		s.log.Warn("not ready", "err", err)
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
	case !due.IsZero() && time.Since(due) > s.cfg.StuckAfter:
		http.Error(w, fmt.Sprintf("queue stuck: a job has waited %s", time.Since(due).Round(time.Millisecond)), http.StatusServiceUnavailable)
	default:
		fmt.Fprintln(w, "ready")
	}
}

// httpServer is an HTTP server of h with the service's timeouts.
func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Run serves on ln and runs the workers until ctx is cancelled, then stops
// gracefully: it stops accepting connections and finishes the requests in
// flight (a delivery being persisted is answered), stops claiming jobs,
// waits up to ShutdownGrace for running jobs, and cancels and releases
// those still running, so that the next start takes them at once. It
// returns nil after a clean stop.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase() // after the HTTP servers' shutdown: the KPI computations end with Run
	s.metrics.setBase(base)
	srv := s.httpServer(s.Handler())
	served := make(chan error, 2)
	go func() { served <- srv.Serve(ln) }()
	var metricsSrv *http.Server
	if mln := s.cfg.MetricsListener; mln != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.metrics.Handler())
		metricsSrv = s.httpServer(mux)
		go func() { served <- metricsSrv.Serve(mln) }()
		s.log.Info("metrics", "addr", mln.Addr().String())
	}

	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	var wg sync.WaitGroup
	for i := range s.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.work(ctx, jobCtx, workerName(i))
		}()
	}
	s.log.Info("serving", "addr", ln.Addr().String(), "workers", s.cfg.Workers)

	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
		err = fmt.Errorf("serve: %w", err)
	}
	s.log.Info("stopping")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownGrace)
	defer cancel()
	if serr := srv.Shutdown(shutCtx); serr != nil {
		s.log.Warn("http shutdown", "err", serr)
	}
	if metricsSrv != nil {
		if serr := metricsSrv.Shutdown(shutCtx); serr != nil {
			s.log.Warn("metrics shutdown", "err", serr)
		}
	}
	workersDone := make(chan struct{})
	go func() { wg.Wait(); close(workersDone) }()
	select {
	case <-workersDone:
	case <-shutCtx.Done():
		cancelJobs() // the jobs still running are released by their workers
		<-workersDone
	}
	s.log.Info("stopped")
	return err
}
