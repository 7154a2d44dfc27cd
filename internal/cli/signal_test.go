//go:build unix

package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/internal/testbin"
)

// hostileRule is issue 14's rule that made a scan crawl: its keyword hits
// at every byte of a run of "a".
const hostileRule = `
[[rules]]
id = "hostile"
keywords = ["aa"]
regex = '''aa(?P<secret>b[a-z]{8})'''
max_len = 16384
`

// TestSIGTERMStopsHostileScan runs the built bks on a hostile rule and a
// standard input that stalls after 2 MB of "a": SIGTERM (what `timeout`
// and CI runners send) ends it promptly as interrupted, exit 130, and -o
// leaves the previous report as it was. It took over 10 minutes: the
// rule's regex ran on a 32 KB window for every byte.
func TestSIGTERMStopsHostileScan(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "rules.toml")
	report := filepath.Join(dir, "report.json")
	if err := os.WriteFile(cfg, []byte(hostileRule), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(report, []byte("old report\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testbin.BKS(t), "detect", "stdin", "--config", cfg, "-o", report)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	// The input stays open after the run of "a": the scan waits for more,
	// or is still on the run when it crawls (and stops reading).
	// Once bks has read it all, its signal handler is in place; a bks
	// that crawls stops reading.
	written := make(chan struct{})
	go func() {
		_, _ = stdin.Write([]byte(strings.Repeat("a", 2<<20)))
		close(written)
	}()
	select {
	case <-written:
	case <-time.After(5 * time.Second):
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := waitExit(t, cmd, 10*time.Second)
	if code != cmdutil.ExitInterrupted || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("exit %d after SIGTERM, want %d; stderr:\n%s", code, cmdutil.ExitInterrupted, stderr.String())
	}
	if b, _ := os.ReadFile(report); string(b) != "old report\n" {
		t.Errorf("-o report after SIGTERM: %q, want the old one untouched", b)
	}
}

// waitExit waits at most d for cmd to exit and returns its exit code; a
// command still running is killed and the test fails.
func waitExit(t *testing.T, cmd *exec.Cmd, d time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("still running %v after the signal", d)
		return -1
	}
}
