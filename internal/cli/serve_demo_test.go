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
