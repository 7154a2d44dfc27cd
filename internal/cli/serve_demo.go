package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/bks-dev/bks/awsops/audit"
	"github.com/bks-dev/bks/awsops/respond"
	"github.com/bks-dev/bks/awsops/revoke"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/internal/demo"
	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/serve"
	"github.com/bks-dev/bks/serve/store"
	"github.com/bks-dev/bks/triage"
)

// `bks serve --demo` runs the service as it runs for real, on loopback,
// against the project's own AWS emulator (internal/awsemu, seeded with the
// demo's scenario, as `bks demo` does) and GitHub fake (internal/githubfake:
// the REST API and git over smart HTTP, through git-http-backend): a
// repository on the fake gets a commit with a key of the demo's payments
// account (revoke = true), a signed push delivery goes to the service's
// webhook, and the service fetches, scans, revokes the key in the emulator
// and posts a check run, as it would on GitHub and AWS. Then it keeps
// serving, dashboard included, until Ctrl-C or SIGTERM. Everything lives
// in a temporary directory removed at the stop; the logs go to a file
// there, so that the terminal shows only the steps.

// demoAppID and demoInstallation are the demo's GitHub App and its
// installation on demoRepoOwner.
const demoAppID, demoInstallation = 1, 1

// demoRepoOwner and demoRepoName name the demo's repository on the fake.
const demoRepoOwner, demoRepoName = "demo", "payments-service"

// demoWorld is what the demo runs against.
type demoWorld struct {
	sc   *demo.Scenario
	aws  *awsemu.Server
	gh   *githubfake.Server
	repo string // the bare repository on the fake
	// appKey is the private key of the demo's GitHub App, installed on
	// the demo account: only an App may write check runs.
	appKey *rsa.PrivateKey
	// before and after are the pushed range: a clean commit, then the
	// one that adds the key.
	before, after string
}

func (w *demoWorld) close() {
	if w.gh != nil {
		w.gh.Close()
	}
	if w.aws != nil {
		w.aws.Close()
	}
}

// newDemoWorld starts the emulator and the fake, and builds the
// repository (with fixed dates: the same commits every run).
func newDemoWorld(dir string) (*demoWorld, error) {
	w := &demoWorld{sc: demo.NewScenario(time.Now())}
	var err error
	if w.aws, err = awsemu.New(w.sc.Seed(), awsemu.Options{}); err != nil {
		return w, err
	}
	if w.gh, err = githubfake.New(); err != nil {
		return w, fmt.Errorf("the GitHub fake needs git and git-http-backend: %w", err)
	}
	w.gh.Token = "ghs_demo" + randomHex(16)
	if w.appKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return w, err
	}
	w.gh.AddApp(&githubfake.App{ID: demoAppID, Slug: "bks-demo", Key: &w.appKey.PublicKey,
		Installations: map[int64]string{demoInstallation: demoRepoOwner}})
	w.repo = filepath.Join(dir, "github", demoRepoName+".git")
	err = githubfake.BuildRepo(w.repo, []githubfake.Commit{
		{Message: "Initial service skeleton", Files: map[string][]byte{"README.md": []byte("# payments service\n")}},
		{Message: "Configure Bedrock locally", Files: map[string][]byte{
			".env": []byte("AWS_REGION=us-east-1\nAWS_BEARER_TOKEN_BEDROCK=" + w.sc.PaymentsKey + "\n")}},
	})
	if err != nil {
		return w, err
	}
	w.gh.Add(&githubfake.Repo{Owner: demoRepoOwner, Name: demoRepoName, Dir: w.repo})
	if w.before, err = githubfake.Head(w.repo, "main~1"); err != nil {
		return w, err
	}
	w.after, err = githubfake.Head(w.repo, "main")
	return w, err
}

// revoked reports whether the payments key is cut off in the emulator:
// its credential gone and the deny policy on its user.
func (w *demoWorld) revoked() bool {
	u, ok := w.aws.User(w.sc.Payments, w.sc.PaymentsUser)
	return ok && u.InlinePolicies[revoke.UserPolicyName] != "" && len(u.ServiceCredentials) == 0
}

// demoConfig is the service's configuration for the demo: the pipeline
// wired to the fake and the emulator the way --config, --git-url and
// --api-url wire it to GitHub and AWS.
func demoConfig(f *cmdutil.Factory, w *demoWorld, dir string, log *slog.Logger, alog *audit.Log) (serve.Config, error) {
	pf, err := demoFactory(f.IO, dir, w.aws)
	if err != nil {
		return serve.Config{}, err
	}
	auth := &serve.GitHubAuth{APIURL: w.gh.APIURL(), HTTP: &http.Client{Timeout: 15 * time.Second}, AppID: demoAppID, Key: w.appKey}
	base := pf.AWSSettings(&cmdutil.AWSFlags{EndpointURL: w.aws.URL, Region: "us-east-1", Rate: -1, MaxAttempts: 3})
	base.Notify = func(msg string) { log.Info("aws", "msg", msg) }
	return serve.Config{
		WebhookSecret: []byte(randomHex(32)),
		Workers:       2, Poll: 200 * time.Millisecond, ShutdownGrace: 5 * time.Second,
		RepoCache: filepath.Join(dir, "cache"), GitURL: w.gh.URL + "/git/", GitHub: auth,
		Respond: &serve.Responder{
			Accounts: []triage.Account{{ID: w.sc.Payments, Name: "payments", Owner: "payments-team@example.com",
				Regions: []string{"us-east-1", "us-west-2"}, Revoke: true}},
			AWS: &respond.Responder{Base: base, Audit: alog, Rate: -1},
		},
		Report: &serve.Reporter{Auth: auth},
		Log:    log,
	}, nil
}

// serveDemo runs the demo until ctx ends.
func serveDemo(ctx context.Context, f *cmdutil.Factory, opts *serveOptions) error {
	out := f.IO.Out
	dir, err := os.MkdirTemp("", "bks-serve-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fail := func(err error) error { return fmt.Errorf("serve --demo: %w", err) }
	w, err := newDemoWorld(dir)
	defer w.close()
	if err != nil {
		return fail(err)
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "serve.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fail(err)
	}
	defer logFile.Close()
	log := slog.New(slog.NewJSONHandler(logFile, nil))
	alog, err := audit.Open(filepath.Join(dir, "audit.jsonl"))
	if err != nil {
		return fail(err)
	}
	defer alog.Close()
	alog.Run = runID()
	cfg, err := demoConfig(f, w, dir, log, alog)
	if err != nil {
		return fail(err)
	}
	dbPath := filepath.Join(dir, "serve.db")
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	srv, err := serve.New(st, cfg)
	if err != nil {
		return fail(err)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.Listen)
	if err != nil {
		return fail(err)
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "bks serve --demo: the service against the project's own emulators, all on loopback (no AWS account, no GitHub, no network).\n")
	fmt.Fprintf(out, "  AWS emulator  %s  account %s \"payments\": revoke = true\n", w.aws.URL, w.sc.Payments)
	fmt.Fprintf(out, "  GitHub fake   %s  repository %s/%s\n", w.gh.URL, demoRepoOwner, demoRepoName)
	fmt.Fprintf(out, "  bks serve     %s  webhook %s/webhook/github; logs and database in %s\n", base, base, dir)

	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(runCtx, ln) }()
	err = demoPush(ctx, out, w, cfg, base, st)
	if err == nil {
		fmt.Fprintf(out, "\nDashboard: %s/dashboard\nPress Ctrl-C to stop.\n", base)
		<-ctx.Done()
	}
	stop()
	if rerr := <-ran; rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(out, "Stopped.\n")
	return fmt.Errorf("serve --demo: %w", cmdutil.ErrStopped)
}

// demoPush pushes the key through a signed webhook delivery and waits for
// the revocation and the check run.
func demoPush(ctx context.Context, out interface{ Write([]byte) (int, error) }, w *demoWorld, cfg serve.Config, base string, st *store.Store) error {
	body, err := json.Marshal(map[string]any{
		"ref": "refs/heads/main", "before": w.before, "after": w.after,
		"commits":      []map[string]string{{"id": w.after, "message": "Configure Bedrock locally"}},
		"repository":   map[string]string{"full_name": demoRepoOwner + "/" + demoRepoName, "default_branch": "main"},
		"installation": map[string]int64{"id": demoInstallation},
	})
	if err != nil {
		return err
	}
	redacted := findings.Redact(w.sc.PaymentsKey)
	fmt.Fprintf(out, "\nA developer pushes commit %s \"Configure Bedrock locally\" to %s/%s: .env holds a Bedrock API key of payments (%s).\n",
		w.after[:7], demoRepoOwner, demoRepoName, redacted)
	const id = "bks-demo-push-1"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhook/github", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", serve.Sign(cfg.WebhookSecret, body))
	sent := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	fmt.Fprintf(out, "GitHub sends the push webhook, signed (X-Hub-Signature-256): %s.\n", resp.Status)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("the webhook answered %s", resp.Status)
	}
	if err := demoWait(ctx, func() (bool, error) {
		if w.revoked() {
			return true, nil
		}
		d, err := st.GetDelivery(ctx, id)
		if err == nil && d.Status == store.DeliveryFailed {
			return false, errors.New("the delivery failed: see serve.log")
		}
		return false, nil
	}); err != nil {
		return fmt.Errorf("the key was not revoked: %w", err)
	}
	fmt.Fprintf(out, "The service fetched the push, found the key and revoked it in account %s within %.1f s:\n", w.sc.Payments, time.Since(sent).Seconds())
	describeDemoUser(out, w.aws, w.sc.Payments, w.sc.PaymentsUser)
	var runs []githubfake.CheckRun
	if err := demoWait(ctx, func() (bool, error) {
		runs = w.gh.CheckRuns(demoRepoOwner, demoRepoName)
		return len(runs) > 0 && runs[0].Status == "completed", nil
	}); err != nil {
		return fmt.Errorf("no check run: %w", err)
	}
	r := runs[0]
	fmt.Fprintf(out, "Check run %q on %s: %s, %d annotation(s)", r.Name, r.HeadSHA[:7], r.Conclusion, len(r.Annotations))
	for _, a := range r.Annotations {
		fmt.Fprintf(out, "; %s:%d", a.Path, a.StartLine)
	}
	fmt.Fprintln(out, ".")
	return nil
}

// demoWait polls done until it is true or fails, for up to a minute.
func demoWait(ctx context.Context, done func() (bool, error)) error {
	deadline := time.Now().Add(time.Minute)
	for {
		ok, err := done()
		switch {
		case err != nil:
			return err
		case ok:
			return nil
		case time.Now().After(deadline):
			return errors.New("timed out after a minute")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read does not fail (Go 1.24+)
	return hex.EncodeToString(b)
}
