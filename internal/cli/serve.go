package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"

	"github.com/spf13/cobra"

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
	DB            string
	WebhookSecret string
	Workers       int
	RepoCache     string
	MaxQueue      int
	Pipeline      servePipelineOptions
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
start). Logs are JSON lines on standard error, never with a payload.
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
often a delivery is replayed or a job re-run. With a token, a check run
named bks with one annotation per finding goes on the head commit, and a
pull request gets one comment, updated by later pushes (docs/SERVE.md).`,
		Example: `  BKS_WEBHOOK_SECRET=… bks serve
  bks serve --listen 0.0.0.0:8080 --db /var/lib/bks/serve.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return serveRun(cmd.Context(), f, opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Listen, "listen", "127.0.0.1:8080", "address to listen on (host:port)")
	fs.StringVar(&opts.DB, "db", "", "SQLite database file (default $XDG_STATE_HOME/bks/serve.db, else ~/.local/state/bks/)")
	fs.StringVar(&opts.WebhookSecret, "webhook-secret", "", "GitHub webhook secret (default $"+webhookSecretEnv+", which keeps it out of ps)")
	fs.IntVar(&opts.Workers, "workers", 2, "jobs processed at once")
	fs.IntVar(&opts.MaxQueue, "max-queue", 10000, "refuse deliveries with 503 and Retry-After while this many jobs wait or run")
	fs.StringVar(&opts.RepoCache, "repo-cache", "", "fetch the pushed commits into bare repositories here (OWNER/NAME) and scan them; without it, deliveries are only recorded")
	opts.Pipeline.register(fs)
	return cmd
}

func serveRun(ctx context.Context, f *cmdutil.Factory, opts *serveOptions) error {
	secret := opts.WebhookSecret
	if secret == "" {
		secret = f.IO.Env(webhookSecretEnv)
	}
	if secret == "" {
		return fmt.Errorf("serve: no webhook secret: set $%s (or --webhook-secret)", webhookSecretEnv)
	}
	if opts.Workers < 1 || opts.MaxQueue < 1 {
		return fmt.Errorf("--workers %d, --max-queue %d: want 1 or more", opts.Workers, opts.MaxQueue)
	}
	dbPath, err := serveDBPath(opts.DB, f.IO.Env)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(f.IO.Err, nil))
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer st.Close()
	cfg := serve.Config{
		WebhookSecret: []byte(secret), Workers: opts.Workers, MaxQueue: opts.MaxQueue,
		RepoCache: opts.RepoCache, Log: log,
	}
	closePipeline, err := opts.Pipeline.apply(ctx, f, opts.RepoCache, log, &cfg)
	defer closePipeline()
	if err != nil {
		return err
	}
	srv, err := serve.New(st, cfg)
	if err != nil {
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("database", "path", dbPath)
	fmt.Fprintf(f.IO.Out, "bks serve: listening on http://%s (database %s)\n", ln.Addr(), dbPath)
	if err := srv.Run(ctx, ln); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("serve: %w", cmdutil.ErrStopped)
	}
	return errors.New("serve: stopped without being asked to")
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
