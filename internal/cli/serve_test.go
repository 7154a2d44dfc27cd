//go:build unix

package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/internal/testbin"
	"github.com/bks-dev/bks/serve"
)

// TestServeRequiresWebhookSecret: without a secret, bks serve does not
// start (an endpoint that accepts unsigned deliveries is worse than none).
func TestServeRequiresWebhookSecret(t *testing.T) {
	code, _, errOut := runCLIEnv(t, map[string]string{"XDG_STATE_HOME": t.TempDir()}, "", "serve", "--listen", "127.0.0.1:0")
	if code != ExitFailure || !strings.Contains(errOut, "BKS_WEBHOOK_SECRET") {
		t.Fatalf("exit %d, stderr %q; want %d naming BKS_WEBHOOK_SECRET", code, errOut, ExitFailure)
	}
}

// TestServeSIGTERM runs the built bks serve on 127.0.0.1, sends it a
// signed push, waits for the job, and stops it with SIGTERM: it exits 0,
// its logs are JSON lines without the payload, and the database file is in
// the state directory. With --metrics-addr, /metrics is served there and
// not on --listen.
func TestServeSIGTERM(t *testing.T) {
	state := t.TempDir()
	secret := "s3cret-for-the-test"
	cmd := exec.Command(testbin.BKS(t), "serve", "--listen", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state, "BKS_WEBHOOK_SECRET="+secret)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // after Wait: a no-op
	logs := newLogLines(stderr)
	addr := logs.wait(t, "serving")["addr"].(string)
	metricsAddr := logs.wait(t, "metrics")["addr"].(string)
	for url, want := range map[string]int{"http://" + metricsAddr + "/metrics": http.StatusOK, "http://" + addr + "/metrics": http.StatusNotFound} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", url, resp.StatusCode, want)
		}
	}

	body := []byte(`{"ref":"refs/heads/main","after":"2222222222222222222222222222222222222222","commits":[{"message":"payload-marker"}],"repository":{"full_name":"octo/repo"}}`)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook/github", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Delivery", "c0ffee00-0000-4000-8000-000000000001")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", serve.Sign([]byte(secret), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, want 202", resp.StatusCode)
	}
	logs.wait(t, "job done")

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := waitExit(t, cmd, 30*time.Second)
	all := logs.String()
	t.Logf("exit %d after SIGTERM; logs:\n%s", code, all)
	if code != cmdutil.ExitOK {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	if !strings.Contains(all, `"msg":"stopped"`) || strings.Contains(all, "payload-marker") || strings.Contains(all, secret) {
		t.Errorf("logs: want a stop, no payload, no secret")
	}
	if _, err := os.Stat(filepath.Join(state, "bks", "serve.db")); err != nil {
		t.Errorf("database not in the state directory: %v", err)
	}
}

// logLines collects a process's JSON log lines as they come.
type logLines struct {
	mu    sync.Mutex
	lines []map[string]any
	raw   strings.Builder
	more  chan struct{}
}

func newLogLines(r interface{ Read([]byte) (int, error) }) *logLines {
	l := &logLines{more: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var m map[string]any
			_ = json.Unmarshal(sc.Bytes(), &m)
			l.mu.Lock()
			l.lines = append(l.lines, m)
			l.raw.WriteString(sc.Text() + "\n")
			l.mu.Unlock()
			select {
			case l.more <- struct{}{}:
			default:
			}
		}
	}()
	return l
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.raw.String()
}

// wait returns the first line whose msg is msg, waiting up to 20 seconds.
func (l *logLines) wait(t *testing.T, msg string) map[string]any {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		l.mu.Lock()
		for _, m := range l.lines {
			if m != nil && m["msg"] == msg {
				l.mu.Unlock()
				return m
			}
		}
		l.mu.Unlock()
		select {
		case <-l.more:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no %q log line; logs:\n%s", msg, l.String())
		}
	}
}
