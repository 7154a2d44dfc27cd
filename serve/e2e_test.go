package serve

import (
	"context"
	dto "github.com/prometheus/client_model/go"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/awsops/respond"
	"github.com/bks-dev/bks/awsops/revoke"
	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/serve/store"
	"github.com/bks-dev/bks/triage"
)

const (
	ourAccount = "111122223333"
	leakedUser = "BedrockAPIKey-e2e1"
	ghToken    = "ghs_e2etoken0123456789"
)

// world is the GitHub fake with octo/repo, the AWS emulator holding the
// key that will be pushed, and the service's responses wired to both the
// way `bks serve --config` wires them.
type world struct {
	*ghRepo
	aws    *awsemu.Server
	key    string
	keyC   string // the commit that adds the key
	cleanC string // the commit before it
	cfg    Config
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{ghRepo: newGHRepo(t, ghToken)}
	w.work.Write("README.md", "hello\n")
	w.cleanC = w.work.Commit("first")
	w.work.Git("push", "-q", "origin", "main")
	w.keyC, w.key = w.commitKey("config.env", leakedUser, ourAccount, 77)

	seed := &awsemu.Seed{Accounts: []*awsemu.Account{{ID: ourAccount, Users: []*awsemu.User{
		{Name: "bks-admin"},
		{Name: leakedUser, ServiceCredentials: []*awsemu.ServiceCred{{Secret: w.key}}},
	}}}}
	srv, err := awsemu.New(seed, awsemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	w.aws = srv
	home := t.TempDir()
	for k, v := range map[string]string{
		"HOME": home, "AWS_CONFIG_FILE": filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": awsemu.CallerAccessKeyID, "AWS_SECRET_ACCESS_KEY": "emulator-secret",
	} {
		t.Setenv(k, v)
	}
	// The service runs as the App installed on octo: its installation
	// token fetches, writes the check run and the comment.
	auth := w.addApp(t)
	w.cfg = Config{
		RepoCache: t.TempDir(), GitURL: w.fake.URL + "/git/", GitHub: auth,
		Respond: &Responder{
			Accounts: []triage.Account{{ID: ourAccount, Revoke: true, Regions: []string{"us-east-1"}}},
			AWS:      &respond.Responder{Base: awsops.Settings{EndpointURL: srv.URL, MaxAttempts: 2, Rate: -1}, Rate: -1},
		},
		Report: &Reporter{Auth: auth},
	}
	return w
}

// revoked reports whether the leaked user is cut off in the emulator.
func (w *world) revoked(t *testing.T) bool {
	t.Helper()
	u, ok := w.aws.User(ourAccount, leakedUser)
	return ok && u.InlinePolicies[revoke.UserPolicyName] != "" && len(u.ServiceCredentials) == 0
}

// checkRuns returns the fake's check runs of octo/repo.
func (w *world) checkRuns() []githubfake.CheckRun { return w.fake.CheckRuns("octo", "repo") }

// TestEndToEndPushRevokesAndReports: a key of a revoke = true account is
// pushed to GitHub; the delivery is accepted (202); the key is revoked in
// the AWS emulator and a check run with the annotation (path, line, the
// redacted key, never the key) is on the head commit. The same delivery
// replayed is answered 200 and changes nothing; another delivery of the
// same commits (a re-run) revokes nothing again and adds no check run or
// annotation.
func TestEndToEndPushRevokesAndReports(t *testing.T) {
	w := newWorld(t)
	ts := startServer(t, "", w.cfg)
	w.work.Git("push", "-q", "origin", "main")
	body := pushBodyOf("refs/heads/main", w.cleanC, w.keyC)
	d := ts.deliver(t, "e2e-1", "push", body)
	t.Logf("delivery e2e-1: %s, findings %d", d.Status, ts.scanned(t, "e2e-1"))
	if !w.revoked(t) {
		t.Fatalf("the key is not revoked in the emulator; logs:\n%s", ts.logs)
	}
	runs := w.checkRuns()
	if len(runs) != 1 {
		t.Fatalf("%d check runs, want 1", len(runs))
	}
	run := runs[0]
	t.Logf("check run %q on %s: %s/%s, %q", run.Name, shortSHA(run.HeadSHA), run.Status, run.Conclusion, run.Title)
	for _, a := range run.Annotations {
		t.Logf("annotation %s:%d %s: %s", a.Path, a.StartLine, a.AnnotationLevel, a.Message)
	}
	if run.HeadSHA != w.keyC || run.Conclusion != "failure" || len(run.Annotations) != 1 ||
		run.Annotations[0].Path != "config.env" || run.Annotations[0].StartLine != 1 {
		t.Fatalf("check run %+v; want a failure on %s with config.env:1", run, w.keyC)
	}
	if strings.Contains(run.Annotations[0].Message+run.Summary, w.key) {
		t.Error("the check run holds the key")
	}
	is, err := ts.st.ListIncidents(context.Background())
	if err != nil || len(is) != 1 {
		t.Fatalf("incidents %+v %v", is, err)
	}
	e, ok, err := ts.st.GetEffect(context.Background(), "revoke/"+is[0].Fingerprint)
	t.Logf("revoke effect: %+v %v %v", e, ok, err)
	if !ok || e.Result != triage.OutcomeDone {
		t.Errorf("revoke effect %+v %v %v; want done", e, ok, err)
	}

	mfs, _ := ts.scrape(t)
	revocations := func(mfs map[string]*dto.MetricFamily) (float64, float64) {
		return value(mfs, "bks_serve_actions_total", "kind=revoke", "result=done"), value(mfs, "bks_serve_push_to_revocation_seconds")
	}
	if done, hist := revocations(mfs); done != 1 || hist != 1 {
		t.Errorf("metrics after the push: revoke done %v, push-to-revocation samples %v; want 1 and 1", done, hist)
	}

	w.aws.ResetCalls()
	resp, msg := ts.post(t, "e2e-1", "push", body, "sign")
	t.Logf("replay: %d %s", resp.StatusCode, msg)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("replay: status %d, want 200", resp.StatusCode)
	}
	d2 := ts.deliver(t, "e2e-2", "push", body) // the same commits again: a re-run
	t.Logf("re-run e2e-2: %s, findings %d", d2.Status, ts.scanned(t, "e2e-2"))
	if wc := w.aws.WriteCalls(); len(wc) != 0 {
		t.Errorf("AWS write calls after the replay and the re-run: %+v", wc)
	}
	runs = w.checkRuns()
	if len(runs) != 1 || len(runs[0].Annotations) != 1 {
		t.Errorf("after the replay and the re-run: %d check runs, %d annotations; want 1 and 1", len(runs), len(runs[0].Annotations))
	}
	mfs, _ = ts.scrape(t)
	if done, hist := revocations(mfs); done != 1 || hist != 1 {
		t.Errorf("metrics after the replay and the re-run: revoke done %v, push-to-revocation samples %v; want still 1 and 1", done, hist)
	}
	if js, _ := ts.st.JobsFor(context.Background(), "e2e-2"); len(js) != 1 || js[0].State != store.JobDone {
		t.Errorf("re-run job %+v; want done", js)
	}
	for _, suffix := range []string{"", "-wal"} {
		if b, err := os.ReadFile(ts.dbPath + suffix); err == nil && strings.Contains(string(b), w.key) {
			t.Errorf("the key is in the database file %s", suffix)
		}
	}
}

// TestPullRequestCommentUpdatedNotRepeated: two deliveries of one pull
// request (opened, then synchronize) leave one comment, with the redacted
// key and never the key.
func TestPullRequestCommentUpdatedNotRepeated(t *testing.T) {
	w := newWorld(t)
	w.cfg.Respond = nil
	ts := startServer(t, "", w.cfg)
	w.work.Git("push", "-q", "origin", "main:refs/pull/5/head")
	for i, action := range []string{"opened", "synchronize"} {
		body := []byte(`{"action":"` + action + `","number":5,"pull_request":{"base":{"sha":"` + w.cleanC + `","ref":"main"},"head":{"sha":"` + w.keyC + `"}},"repository":{"full_name":"octo/repo"},"installation":{"id":` + instID + `}}`)
		ts.deliver(t, "pr-"+action, "pull_request", body)
		cs := w.fake.Comments("octo", "repo", 5)
		t.Logf("after %s: %d comment(s)", action, len(cs))
		if len(cs) != 1 {
			t.Fatalf("after delivery %d: %d comments, want 1", i+1, len(cs))
		}
	}
	// A later push to the pull request with a second key: the comment is
	// edited, not repeated.
	c3, key2 := w.commitKey("more.env", "BedrockAPIKey-e2e2", ourAccount, 78)
	w.work.Git("push", "-q", "-f", "origin", "main:refs/pull/5/head")
	body := []byte(`{"action":"synchronize","number":5,"pull_request":{"base":{"sha":"` + w.cleanC + `","ref":"main"},"head":{"sha":"` + c3 + `"}},"repository":{"full_name":"octo/repo"},"installation":{"id":` + instID + `}}`)
	ts.deliver(t, "pr-synchronize-2", "pull_request", body)
	cs := w.fake.Comments("octo", "repo", 5)
	if len(cs) != 1 {
		t.Fatalf("after a second key: %d comments, want 1", len(cs))
	}
	c := cs[0]
	t.Logf("comment (edited %d time(s)):\n%s", c.Edited, c.Body)
	if c.Edited != 1 || !strings.Contains(c.Body, "config.env") || !strings.Contains(c.Body, "more.env") ||
		strings.Contains(c.Body, w.key) || strings.Contains(c.Body, key2) {
		t.Errorf("comment %q edited %d times: want both places, no key, edited once", c.Body, c.Edited)
	}
}

// TestCrashAfterEffectsBeforeDone: a worker killed after it revoked the
// key and reported, before it marked its job done (its lease never
// released), and a second crash between the revocation in AWS and its
// record: the next service runs the job again, and neither revokes again
// nor adds a check run or an annotation.
func TestCrashAfterEffectsBeforeDone(t *testing.T) {
	w := newWorld(t)
	w.work.Git("push", "-q", "origin", "main")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "serve.db")
	dead, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	body := pushBodyOf("refs/heads/main", w.cleanC, w.keyC)
	if _, err := dead.AddDelivery(ctx, store.Delivery{ID: "d-crash", Event: "push", ReceivedAt: time.Now(), Body: body}); err != nil {
		t.Fatal(err)
	}
	j, err := dead.Claim(ctx, "killed-worker", 300*time.Millisecond)
	if err != nil || j == nil {
		t.Fatal(j, err)
	}
	// The dead worker's run: every effect happened, the job stays running.
	cfg := w.cfg
	cfg.WebhookSecret = testSecret
	srv, err := New(dead, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := dead.GetDelivery(ctx, "d-crash")
	if err := srv.cfg.Process(ctx, d); err != nil {
		t.Fatal(err)
	}
	dead.Close()
	if !w.revoked(t) || len(w.checkRuns()) != 1 {
		t.Fatalf("before the crash: revoked %v, %d check runs", w.revoked(t), len(w.checkRuns()))
	}
	w.aws.ResetCalls()
	ts := startServer(t, path, w.cfg)
	defer func() {
		if t.Failed() {
			t.Logf("logs:\n%s", ts.logs)
		}
	}()
	waitFor(t, "the abandoned job done", func() bool {
		js, err := ts.st.JobsFor(ctx, "d-crash")
		return err == nil && len(js) == 1 && js[0].State == store.JobDone
	})
	js, _ := ts.st.JobsFor(ctx, "d-crash")
	runs := w.checkRuns()
	t.Logf("after restart: job %s at attempt %d; AWS write calls %d; %d check run(s), %d annotation(s)",
		js[0].State, js[0].Attempts, len(w.aws.WriteCalls()), len(runs), len(runs[0].Annotations))
	if len(w.aws.WriteCalls()) != 0 || len(runs) != 1 || len(runs[0].Annotations) != 1 || js[0].Attempts != 2 {
		t.Errorf("after restart: job %+v, writes %+v, check runs %+v", js[0], w.aws.WriteCalls(), runs)
	}

	// Killed between the revocation and its record: a store that never
	// heard of it (a new database) runs the responses again; the credential
	// check finds the key cut off, and nothing is written.
	fresh := startServer(t, "", w.cfg)
	fresh.deliver(t, "d-fresh", "push", body)
	is, _ := fresh.st.ListIncidents(ctx)
	_, ok, _ := fresh.st.GetEffect(ctx, "revoke/"+is[0].Fingerprint)
	t.Logf("record lost: revoke recorded again %v; AWS write calls %d; %d check run(s)", ok, len(w.aws.WriteCalls()), len(w.checkRuns()))
	if ok || len(w.aws.WriteCalls()) != 0 || len(w.checkRuns()) != 1 {
		t.Errorf("record lost: revoke recorded %v, writes %+v", ok, w.aws.WriteCalls())
	}
}
