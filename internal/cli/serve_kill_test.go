//go:build unix

package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bks-dev/bks/awsops/revoke"
	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/testbin"
	"github.com/bks-dev/bks/internal/testgit"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/internal/testpg"
	"github.com/bks-dev/bks/serve"
	"github.com/bks-dev/bks/serve/store"
)

// TestServeKill9MidJob runs the built bks serve against the GitHub fake
// and the AWS emulator with an account that has revoke = true. A push of
// its key and a second push are delivered; while the first job is in its
// fetch (held by a gate in front of the fake's git), the process is killed
// with SIGKILL. A second bks serve on the same database takes the job over
// once its lease runs out: every accepted delivery ends processed, the key
// is revoked once (one set of IAM writes), one commit status failure is
// on the key's commit (the service runs with a personal token). On SQLite
// and on PostgreSQL.
func TestServeKill9MidJob(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { serveMidJob(t, midJobKill9, "") })
	t.Run("postgres", func(t *testing.T) { serveMidJob(t, midJobKill9, testpg.DSN(t)) })
}

// TestServePostgresCutMidJob: the same, but while the first job is in its
// fetch PostgreSQL goes away (testpg.Proxy drops every connection and
// refuses new ones, as a restart or a failover does) and the process
// stays up. The fetch is let through while the database is still down, so
// the job fails to record its findings and even its retry; once the
// database is back, the job (its lease run out) is claimed again and
// processed: not lost, and done once in effect (one revocation, one check
// run). Then the worst moment: the cut comes as the emulator answers the
// revocation's last IAM write, before the service can record it.
func TestServePostgresCutMidJob(t *testing.T) {
	t.Run("in its fetch", func(t *testing.T) { serveMidJob(t, midJobCutDB, testpg.DSN(t)) })
	t.Run("after its revocation", func(t *testing.T) { serveMidJob(t, midJobCutAfterRevoke, testpg.DSN(t)) })
}

// What happens to bks serve while the first job is held in its fetch.
const (
	midJobKill9 = iota // SIGKILL, then a second process on the same database
	midJobCutDB        // the database cut, then restored; the same process
	// The database cut as the revocation's last IAM write is answered
	// (the fetch not held), then restored.
	midJobCutAfterRevoke
)

// serveMidJob is the harness of the two tests above; dsn "" is a new
// SQLite file.
func serveMidJob(t *testing.T, mode int, dsn string) {
	testgit.Need(t)
	const acct, user, token, secret = "111122223333", "BedrockAPIKey-k9k9", "ghs_killtoken000111", "kill-9-secret"
	fake, err := githubfake.New()
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	fake.Token = token
	bare := filepath.Join(t.TempDir(), "repo.git")
	testgit.Run(t, "", nil, "init", "-q", "--bare", "-b", "main", bare)
	fake.Add(&githubfake.Repo{Owner: "octo", Name: "repo", Dir: bare})
	work := testgit.New(t, testgit.Options{})
	work.Git("remote", "add", "origin", bare)
	work.Write("README.md", "hi\n")
	c1 := work.Commit("first")
	key := testkeys.LongTerm(user, acct, testkeys.Secret(99))
	work.Write("app.env", "AWS_BEARER_TOKEN_BEDROCK="+key+"\n")
	c2 := work.Commit("oops")
	work.Write("b.txt", "clean\n")
	c3 := work.Commit("clean")
	work.Git("push", "-q", "origin", "main")

	emu, err := awsemu.New(&awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: []*awsemu.User{
		{Name: "bks-admin"}, {Name: user, ServiceCredentials: []*awsemu.ServiceCred{{Secret: key}}},
	}}}}, awsemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()

	// The gate holds git requests while closed: the job stays in its fetch.
	var mu sync.Mutex
	gateOpen, held, release := mode == midJobCutAfterRevoke, make(chan struct{}, 16), make(chan struct{})
	target, _ := url.Parse(fake.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		open := gateOpen
		mu.Unlock()
		if !open {
			held <- struct{}{}
			select { // the killed process's git may outlive it
			case <-r.Context().Done():
			case <-release:
				if mode == midJobCutDB { // the fetch goes on while the database is down
					proxy.ServeHTTP(w, r)
					return
				}
			}
			http.Error(w, "gone", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer gate.Close()

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "bks.toml")
	os.WriteFile(cfgPath, []byte("[[accounts]]\nid = \""+acct+"\"\nrevoke = true\nregions = [\"us-east-1\"]\n"), 0o600)
	db, cut := dsn, (*testpg.Proxy)(nil)
	if db == "" {
		db = filepath.Join(dir, "serve.db")
	}
	endpoint, revoked := emu.URL, make(chan struct{})
	if mode != midJobKill9 {
		cut, db = testpg.NewProxy(t, dsn)
	}
	if mode == midJobCutAfterRevoke {
		endpoint = cutAfterWrites(t, emu, 2, cut, revoked)
	}
	start := func() (*exec.Cmd, *logLines, string) {
		cmd := exec.Command(testbin.BKS(t), "serve", "--listen", "127.0.0.1:0", "--db", db, "--lease", "1s",
			"--repo-cache", filepath.Join(dir, "cache"), "--git-url", gate.URL+"/git/", "--api-url", fake.APIURL(),
			"--config", cfgPath, "--endpoint-url", endpoint, "--audit-log", filepath.Join(dir, "audit.jsonl"))
		cmd.Env = append(os.Environ(), "BKS_WEBHOOK_SECRET="+secret, "GITHUB_TOKEN="+token, "HOME="+dir,
			"AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"),
			"AWS_EC2_METADATA_DISABLED=true", "AWS_ACCESS_KEY_ID="+awsemu.CallerAccessKeyID, "AWS_SECRET_ACCESS_KEY=emulator-secret")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill() }) //nolint:errcheck // after Wait: a no-op
		logs := newLogLines(stderr)
		return cmd, logs, logs.wait(t, "serving")["addr"].(string)
	}
	deliver := func(addr, id string, before, after string) {
		body, _ := json.Marshal(map[string]any{"ref": "refs/heads/main", "before": before, "after": after,
			"repository": map[string]string{"full_name": "octo/repo"}})
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook/github", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Delivery", id)
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", serve.Sign([]byte(secret), body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s: status %d, want 202", id, resp.StatusCode)
		}
	}

	first, logs1, addr := start()
	deliver(addr, "k9-key", c1, c2)
	deliver(addr, "k9-clean", c2, c3)
	wait := held
	if mode == midJobCutAfterRevoke {
		wait = revoked
	}
	select {
	case <-wait:
	case <-time.After(20 * time.Second):
		t.Fatalf("the job did not reach the point of the test; logs:\n%s", logs1)
	}
	second, logs2 := first, logs1
	if mode == midJobKill9 {
		if err := first.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		first.Wait() //nolint:errcheck // killed
		t.Logf("killed mid-fetch; first process logs:\n%s", logs1)
		mu.Lock()
		gateOpen = true
		mu.Unlock()
		close(release)
		second, logs2, _ = start()
	} else {
		cut.Cut() // a second time after the revocation: a no-op
		mu.Lock()
		gateOpen = true
		mu.Unlock()
		close(release)
		// The fetch ends while the database is down: the findings cannot be
		// recorded, nor the attempt's outcome, so the job stays running
		// under a lease that runs out.
		logs1.wait(t, "job retry")
		time.Sleep(1500 * time.Millisecond) // more than the 1 s lease
		cut.Restore()
		t.Log("database cut mid-job, then restored")
	}
	st, err := store.Open(context.Background(), cmp.Or(dsn, db))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range []string{"k9-key", "k9-clean"} {
		for {
			d, err := st.GetDelivery(context.Background(), id)
			if err == nil && d.Status == store.DeliveryProcessed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not processed after the restart; logs:\n%s", id, logs2)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Logf("second process logs:\n%s", logs2)
	second.Process.Signal(syscall.SIGTERM) //nolint:errcheck
	code := waitExit(t, second, 30*time.Second)
	writes := emu.WriteCalls()
	u, _ := emu.User(acct, user)
	// A personal access token: the commit status bks, not a check run
	// (GitHub lets only Apps write those).
	sts := fake.Statuses("octo", "repo")
	t.Logf("after the restart: exit %d, IAM write calls %d, user revoked %v, statuses %d", code, len(writes), u.InlinePolicies[revoke.UserPolicyName] != "", len(sts))
	if u.InlinePolicies[revoke.UserPolicyName] == "" || len(u.ServiceCredentials) != 0 {
		t.Errorf("the key is not revoked: %+v", u)
	}
	if len(writes) != 2 {
		t.Errorf("IAM write calls %+v; want one revocation (2 calls)", writes)
	}
	keyStatuses := 0
	for _, st := range sts {
		t.Logf("status on %s: %s %s %q", st.SHA[:12], st.Context, st.State, st.Description)
		if st.SHA == c2 {
			keyStatuses++
			if st.State != "failure" || st.Context != serve.StatusContext {
				t.Errorf("status on the key's commit: %+v", st)
			}
		}
	}
	if keyStatuses != 1 {
		t.Errorf("%d statuses on %s, want 1", keyStatuses, c2)
	}
	if mode != midJobKill9 {
		jobs, _ := st.JobsFor(context.Background(), "k9-key")
		t.Logf("the key's job: %+v", jobs)
		if len(jobs) != 1 || jobs[0].Attempts < 2 {
			t.Errorf("the key's job %+v: want one job, tried again after the cut", jobs)
		}
	}
	if all := logs1.String() + logs2.String(); strings.Contains(all, key) || strings.Contains(all, token) {
		t.Error("a log holds the key or the token")
	}
}

// cutAfterWrites returns the URL of a proxy to emu that cuts the database
// (and closes done) as it relays the answer to the n-th IAM write call.
func cutAfterWrites(t *testing.T, emu *awsemu.Server, n int, cut *testpg.Proxy, done chan struct{}) string {
	target, _ := url.Parse(emu.URL)
	p := httputil.NewSingleHostReverseProxy(target)
	var once sync.Once
	p.ModifyResponse = func(*http.Response) error {
		if len(emu.WriteCalls()) >= n {
			once.Do(func() { cut.Cut(); close(done) })
		}
		return nil
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}
