package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bks-dev/bks/awsops/audit"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/serve"
	"github.com/bks-dev/bks/serve/store"
)

// webhookSecretEnv holds the GitHub webhook secret when --webhook-secret
// is not given (better: a flag shows in ps).
const webhookSecretEnv = "BKS_WEBHOOK_SECRET"

type serveOptions struct {
	Listen        string
	MetricsAddr   string
	DB            string
	WebhookSecret string
	Workers       int
	RepoCache     string
	MaxQueue      int
	EventsSecret  string // file
	EventsHeader  string
	DBConns       int
	Pipeline      servePipelineOptions
	// DashboardTokenFile holds the dashboard's bearer token ("": the
	// dashboard is served to loopback clients only).
	DashboardTokenFile string
	// Demo runs the service against the emulators (serve_demo.go).
	Demo bool
}

func newCmdServe(f *cmdutil.Factory) *cobra.Command {
	opts := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the service: GitHub webhook deliveries queued in a database and processed by workers",
		Long: `Run bks as a long-lived service. POST /webhook/github accepts GitHub push
and pull_request deliveries: each is verified (X-Hub-Signature-256 with the
webhook secret), stored with its job in the database, then answered 202;
workers take the jobs from the queue. Unsigned or badly signed deliveries
are refused (401), bodies over 25 MB (413), a delivery id seen before is
answered 200 and changes nothing, other events 204; while --max-queue jobs
wait, deliveries get 503 and Retry-After. GET /healthz answers ok.

The database is a SQLite file (pure Go, created with its schema on first
start), or PostgreSQL with --db postgres://… so that several replicas share
the queue; migrations run at start. Logs are JSON lines on standard error, never with a payload.
SIGTERM or Ctrl-C stops cleanly: no new connections, running jobs finish
or go back to the queue, exit 0.

With --repo-cache, each push or pull request is fetched from --git-url
into a bare repository there (OWNER/NAME; only the pushed ref, with the
token) and its new commits scanned like detect git --range BEFORE..AFTER:
a new branch scans only the commits no other ref has, a force push the new
commits, a push over --max-push-commits or --max-push-bytes its whole
branch. Keys are recorded as incidents (fingerprint, redacted form,
decoded fields; never the key). The keys of the accounts in --config's
[[accounts]] get the responses configured there (revoke, timeline, report,
notify: the code of bks triage --execute), each done once per key however
often a delivery is replayed or a job re-run. As a GitHub App (--app-id,
--app-private-key: each delivery's installation token), a check run named
bks with one annotation per finding goes on the head commit; with a
personal access token, which GitHub does not let write check runs, the
commit status bks. A pull request gets one comment, the service's own,
updated by later pushes (docs/SERVE.md).

GET /dashboard (and /) is a read-only page of open incidents, actions,
deliveries and the KPIs, served to loopback clients only unless
--dashboard-token-file names a token that clients send as
Authorization: Bearer. bks serve --demo runs all of it on loopback against
the built-in AWS emulator and GitHub fake.`,
		Example: `  bks serve --demo
  BKS_WEBHOOK_SECRET=… bks serve
  bks serve --listen 0.0.0.0:8080 --db /var/lib/bks/serve.db`,
		// A word after serve is a mistyped subcommand, not an argument.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownSubcommand(cmd, args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Demo {
				for _, name := range []string{"db", "repo-cache", "dashboard-token-file", "config", "git-url", "api-url", "github-token"} {
					if cmd.Flags().Changed(name) {
						return fmt.Errorf("--demo runs on its own emulators and database: --%s does not apply", name)
					}
				}
				return serveDemo(cmd.Context(), f, opts)
			}
			return serveRun(cmd.Context(), f, opts)
		},
		Annotations:                map[string]string{runsAlone: "true"},
		SuggestionsMinimumDistance: 2,
	}
	opts.register(cmd.Flags())
	cmd.AddCommand(newCmdServeImportState(f), newCmdServeEventBridge(f))
	return cmd
}

// register defines bks serve's flags on fs.
func (opts *serveOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&opts.Listen, "listen", "127.0.0.1:8080", "address to listen on (host:port)")
	fs.StringVar(&opts.MetricsAddr, "metrics-addr", "", "serve GET /metrics on this address only (e.g. 127.0.0.1:9464), not on --listen: the metrics name accounts and count their live keys")
	fs.StringVar(&opts.DB, "db", "", "SQLite database file (default $XDG_STATE_HOME/bks/serve.db, else ~/.local/state/bks/), or a postgres://USER@HOST/DB URL for replicas sharing one queue")
	fs.StringVar(&opts.WebhookSecret, "webhook-secret", "", "GitHub webhook secret (default $"+webhookSecretEnv+", which keeps it out of ps)")
	fs.IntVar(&opts.Workers, "workers", 2, "jobs processed at once")
	fs.IntVar(&opts.MaxQueue, "max-queue", 10000, "refuse deliveries with 503 and Retry-After while this many jobs wait or run")
	fs.StringVar(&opts.EventsSecret, "events-secret-file", "", "open POST /events/aws to EventBridge deliveries carrying the secret in this file (bks serve eventbridge writes the rule)")
	fs.StringVar(&opts.EventsHeader, "events-header", serve.DefaultEventsHeader, "the header of the EventBridge connection's API key that carries the secret")
	fs.IntVar(&opts.DBConns, "db-conns", 0, "PostgreSQL: connections in this replica's pool (default --workers + 2; see docs/BENCH.md)")
	fs.StringVar(&opts.RepoCache, "repo-cache", "", "fetch the pushed commits into bare repositories here (OWNER/NAME) and scan them; without it, deliveries are only recorded")
	fs.StringVar(&opts.DashboardTokenFile, "dashboard-token-file", "", "serve the dashboard (GET /dashboard) to any client that sends this file's token as Authorization: Bearer (default: to loopback clients only, without a token)")
	fs.BoolVar(&opts.Demo, "demo", false, "run the service locally against the built-in AWS emulator and GitHub fake, push a key through a signed webhook, show its revocation and the dashboard, and serve until Ctrl-C (needs git)")
	opts.Pipeline.register(fs)
}

func serveRun(ctx context.Context, f *cmdutil.Factory, opts *serveOptions) error {
	secret := opts.WebhookSecret
	if secret == "" {
		secret = f.IO.Env(webhookSecretEnv)
	}
	if secret == "" {
		return fmt.Errorf("serve: no webhook secret: set $%s (or --webhook-secret)", webhookSecretEnv)
	}
	if opts.DBConns == 0 {
		opts.DBConns = opts.Workers + 2 // a connection for each worker, and for the requests
	}
	if opts.Workers < 1 || opts.MaxQueue < 1 || opts.DBConns < 1 {
		return fmt.Errorf("--workers %d, --max-queue %d, --db-conns %d: want 1 or more", opts.Workers, opts.MaxQueue, opts.DBConns)
	}
	dbPath, err := serveDBPath(opts.DB, f.IO.Env)
	if err != nil {
		return err
	}
	var eventsSecret []byte
	if opts.EventsSecret != "" {
		if eventsSecret, err = readEventsSecret(opts.EventsSecret); err != nil {
			return err
		}
	}
	log := slog.New(slog.NewJSONHandler(f.IO.Err, nil))
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer st.Close()
	st.SetMaxConns(opts.DBConns)
	cfg := serve.Config{
		WebhookSecret: []byte(secret), Workers: opts.Workers, MaxQueue: opts.MaxQueue,
		RepoCache: opts.RepoCache, Log: log,
		EventsSecret: eventsSecret, EventsHeader: opts.EventsHeader,
	}
	dashboardAccess := "loopback clients only"
	if opts.DashboardTokenFile != "" {
		if cfg.Dashboard.Token, err = serve.ReadDashboardToken(opts.DashboardTokenFile); err != nil {
			return err
		}
		dashboardAccess = "bearer token required"
	}
	closePipeline, err := opts.Pipeline.apply(ctx, f, opts.RepoCache, log, &cfg)
	defer closePipeline()
	if err != nil {
		return err
	}
	ln, metricsAt, closeListeners, err := serveListen(ctx, opts, &cfg)
	if err != nil {
		return err
	}
	defer closeListeners() // Run's stop closes them too
	srv, err := serve.New(st, cfg)
	if err != nil {
		return err
	}
	log.Info("database", "dialect", st.Dialect(), "path", store.Redact(dbPath))
	fmt.Fprintf(f.IO.Out, "bks serve: listening on http://%s (database %s); dashboard http://%s/dashboard (%s); metrics %s\n",
		ln.Addr(), store.Redact(dbPath), ln.Addr(), dashboardAccess, metricsAt)
	if err := srv.Run(ctx, ln); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("serve: %w", cmdutil.ErrStopped)
	}
	return errors.New("serve: stopped without being asked to")
}

// serveListen listens on --listen and, with --metrics-addr, on a metrics
// address of its own (cfg.MetricsListener: /metrics is served there only).
// It returns the service's listener, where /metrics is served, and what
// closes both.
func serveListen(ctx context.Context, opts *serveOptions, cfg *serve.Config) (net.Listener, string, func(), error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.Listen)
	if err != nil {
		return nil, "", nil, fmt.Errorf("serve: %w", err)
	}
	if opts.MetricsAddr == "" {
		return ln, fmt.Sprintf("http://%s/metrics", ln.Addr()), func() { ln.Close() }, nil
	}
	mln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.MetricsAddr)
	if err != nil {
		ln.Close()
		return nil, "", nil, fmt.Errorf("serve: --metrics-addr: %w", err)
	}
	cfg.MetricsListener = mln
	return ln, fmt.Sprintf("http://%s/metrics", mln.Addr()), func() { ln.Close(); mln.Close() }, nil
}

func newCmdServeImportState(f *cmdutil.Factory) *cobra.Command {
	var db string
	cmd := &cobra.Command{
		Use:   "import-state FILE",
		Short: "Import the incidents of a bks triage --state file into the service's database",
		Long: `Record the incidents of the JSON state file that bks triage --state keeps
(fingerprints, redacted forms, accounts, severities, credential states) in
the database of bks serve, with its revocations and notifications as
actions: the service's KPIs then include what happened before it ran, and
a key triage revoked is not revoked again. A key the service already knows
keeps its sightings. The import is one transaction (all or nothing), and
importing the same file again changes nothing. Run it with the same --db
as bks serve, before or while it runs.`,
		Example: `  bks serve import-state triage.json
  bks serve import-state triage.json --db postgres://bks@db.internal/bks`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			dbPath, err := serveDBPath(db, f.IO.Env)
			if err != nil {
				return err
			}
			st, err := store.Open(ctx, dbPath)
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := serve.ImportTriageState(ctx, st, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "imported %d incident(s) into %s: %d new, %d action(s) recorded\n",
				res.Incidents, store.Redact(dbPath), res.New, res.Actions)
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "the database of bks serve (the same default and forms as its --db)")
	return cmd
}

// serveDBPath is path, or serve.db in the state directory, the one the
// audit log defaults to.
func serveDBPath(path string, getenv func(string) string) (string, error) {
	if path != "" {
		return path, nil
	}
	p, err := audit.DefaultPath(getenv)
	if err != nil {
		return "", errors.New("serve: neither XDG_STATE_HOME nor HOME is set: name the database with --db")
	}
	return filepath.Join(filepath.Dir(p), "serve.db"), nil
}
