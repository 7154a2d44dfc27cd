//go:build unix

package cli

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/internal/demo"
	"github.com/bks-dev/bks/internal/testbin"
	"github.com/bks-dev/bks/internal/testgit"
)

// TestServeDemo runs the built `bks serve --demo` to the revocation: the
// signed push is accepted (202), the key is revoked in the emulator and
// the check run is posted; the dashboard it names shows the revocation;
// SIGTERM stops it with exit 0 and its temporary directory gone. The key
// is printed nowhere, and the output is the steps, not the logs.
func TestServeDemo(t *testing.T) {
	testgit.Need(t)
	cmd := exec.Command(testbin.BKS(t), "serve", "--demo", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // after Wait: a no-op
	var mu sync.Mutex
	var out strings.Builder
	dashboard := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			mu.Lock()
			out.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if u, ok := strings.CutPrefix(sc.Text(), "Dashboard: "); ok {
				dashboard <- u
			}
		}
		io.Copy(io.Discard, stdout) //nolint:errcheck // drain
	}()
	output := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	var url string
	select {
	case url = <-dashboard:
	case <-time.After(2 * time.Minute):
		t.Fatalf("no dashboard line; stdout:\n%s\nstderr:\n%s", output(), stderr.String())
	}
	for _, want := range []string{"202 Accepted", "revoked it in account " + demo.AccountPayments, "inline policies: BKS-RevokeBedrockKeys",
		`Check run "bks"`, "failure, 1 annotation(s); .env:2."} {
		if !strings.Contains(output(), want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "<td>revoke</td>") || !strings.Contains(string(page), "bks-demo-push-1") {
		t.Errorf("dashboard: %d, want the revocation and the delivery:\n%s", resp.StatusCode, page)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := waitExit(t, cmd, 30*time.Second)
	all := output()
	t.Logf("exit %d; stdout:\n%s", code, all)
	if code != cmdutil.ExitOK || !strings.HasSuffix(all, "Stopped.\n") {
		t.Errorf("exit %d after SIGTERM, want 0 and Stopped.; stderr:\n%s", code, stderr.String())
	}
	if key := demo.NewScenario(time.Now()).PaymentsKey; strings.Contains(all+stderr.String(), key) {
		t.Error("the key is in the output")
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr is not empty (the logs go to a file):\n%s", stderr.String())
	}
	m := regexp.MustCompile(`logs and database in (\S+)`).FindStringSubmatch(all)
	if m == nil {
		t.Fatal("the output names no directory")
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("%s is still there after the stop (%v)", m[1], err)
	}
}

// TestServeDemoRefusesOtherFlags: --demo runs on its own emulators and
// database; a flag that would point it elsewhere is refused, not ignored.
func TestServeDemoRefusesOtherFlags(t *testing.T) {
	code, _, errOut := runCLIEnv(t, map[string]string{"XDG_STATE_HOME": t.TempDir()}, "", "serve", "--demo", "--db", "x.db")
	if code != ExitFailure || !strings.Contains(errOut, "--db does not apply") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// TestServeDashboardToken: with --dashboard-token-file, bks serve answers
// the dashboard only with the file's bearer token; a token file others can
// read is refused at start.
func TestServeDashboardToken(t *testing.T) {
	dir := t.TempDir()
	tokFile := dir + "/token"
	if err := os.WriteFile(tokFile, []byte("dash-token-0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testbin.BKS(t), "serve", "--listen", "127.0.0.1:0", "--dashboard-token-file", tokFile)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+dir, "BKS_WEBHOOK_SECRET=s")
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
	for _, c := range []struct {
		auth string
		want int
	}{{"", http.StatusUnauthorized}, {"Bearer wrong", http.StatusUnauthorized}, {"Bearer dash-token-0123", http.StatusOK}} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/dashboard", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("Authorization %q: %d, want %d", c.auth, resp.StatusCode, c.want)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // checked by the exit
	if code := waitExit(t, cmd, 30*time.Second); code != cmdutil.ExitOK {
		t.Errorf("exit %d", code)
	}

	if err := os.Chmod(tokFile, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLIEnv(t, map[string]string{"XDG_STATE_HOME": dir, "BKS_WEBHOOK_SECRET": "s"}, "",
		"serve", "--listen", "127.0.0.1:0", "--dashboard-token-file", tokFile)
	if code != ExitFailure || !strings.Contains(errOut, "chmod 600") {
		t.Errorf("a token file others can read: exit %d, stderr %q", code, errOut)
	}
}
