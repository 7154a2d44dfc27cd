// Package testchromium loads pages in a real headless Chromium for tests:
// the Debian chromium package, installed with apt-get when it is missing
// and the test runs as root (scripts/install-test-tools.sh does the same);
// a test is skipped, saying why, only when that is impossible.
//
// Load drives the browser over the DevTools protocol (a WebSocket on
// --remote-debugging-port; the client is websocket.go): it opens the page,
// waits for its load event, and returns the rendered DOM with every
// console error, uncaught exception and error log entry (a resource that
// failed to load, a Content-Security-Policy violation) the page caused.
// DumpDOM is Chromium's own --dump-dom of a page.
//
// The browser never reaches the network: every request that is not to a
// loopback address goes to a proxy on a closed loopback port, and the
// background services (updates, sync, metrics) are off.
package testchromium

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BinEnv names a Chromium binary to use instead of looking for one.
const BinEnv = "BKS_TEST_CHROMIUM"

var (
	findOnce sync.Once
	binPath  string
	findErr  error
)

// errNotInstalled marks the one reason a test is skipped.
var errNotInstalled = errors.New("chromium is not installed")

// Path returns the Chromium binary, installing the Debian package when it
// is missing and the test runs as root. The test is skipped when it cannot
// be installed.
func Path(t testing.TB) string {
	t.Helper()
	findOnce.Do(func() { binPath, findErr = find() })
	if errors.Is(findErr, errNotInstalled) {
		t.Skipf("skipped: %v", findErr)
	}
	if findErr != nil {
		t.Fatalf("testchromium: %v", findErr)
	}
	return binPath
}

func lookPath() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func find() (string, error) {
	if p := os.Getenv(BinEnv); p != "" {
		return p, nil
	}
	if p := lookPath(); p != "" {
		return p, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%w: the chromium package is missing and the tests do not run as root to install it (run scripts/install-test-tools.sh)", errNotInstalled)
	}
	var out bytes.Buffer
	// Another apt-get (another test package installing its tools) may hold
	// the lock: wait for it rather than fail.
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "chromium"}} {
		cmd := exec.Command("apt-get", append([]string{"-o", "DPkg::Lock::Timeout=600"}, args...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("%w: apt-get %s: %v: %s", errNotInstalled, args[0], err, lastLines(out.String(), 5))
		}
	}
	if p := lookPath(); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("%w: apt-get installed chromium but no chromium binary is on PATH", errNotInstalled)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// flags are the command line of every run: headless, no first-run or
// background work, and no network but loopback (Chromium sends loopback
// requests directly, whatever the proxy; anything else goes to a closed
// port and fails).
func flags(t testing.TB) []string {
	fs := []string{
		"--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--no-pings", "--mute-audio",
		"--disable-breakpad", "--disable-crash-reporter", "--metrics-recording-only",
		"--proxy-server=http://127.0.0.1:9", "--user-data-dir=" + t.TempDir(),
	}
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root inside its sandbox.
		fs = append(fs, "--no-sandbox")
	}
	return fs
}

// DumpDOM returns the DOM of url after it loaded, as Chromium's --dump-dom
// prints it.
func DumpDOM(t testing.TB, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Path(t), append(flags(t), "--dump-dom", url)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v\n%s", url, err, lastLines(stderr.String(), 10))
	}
	return string(out)
}

// Page is what Load saw of a page.
type Page struct {
	// DOM is the document's outer HTML after the load event.
	DOM string
	// Text is the text of the body as rendered (innerText).
	Text string
	// Errors are the console errors, uncaught exceptions and error log
	// entries, one line each.
	Errors []string
}

// devtoolsLine is what Chromium prints on standard error when its
// DevTools endpoint is up.
var devtoolsLine = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// Browser is a running headless Chromium with a DevTools connection.
// Each Load opens a new tab in it.
type Browser struct {
	cmd  *exec.Cmd
	ws   string // the browser's DevTools WebSocket URL
	logs *bytes.Buffer
	c    *cdp
}

// Start launches Chromium with its DevTools endpoint on a free loopback
// port and connects to it. The browser is stopped when the test ends.
func Start(t testing.TB) *Browser {
	t.Helper()
	args := append(flags(t), "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank")
	cmd := exec.Command(Path(t), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	b := &Browser{cmd: cmd, logs: &bytes.Buffer{}}
	t.Cleanup(func() {
		if b.c != nil {
			b.c.close()
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck // it may have exited
		cmd.Wait()                                      //nolint:errcheck // killed
	})
	found := make(chan string, 1)
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			b.logs.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := devtoolsLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr) //nolint:errcheck // drain
	}()
	select {
	case b.ws = <-found:
	case <-time.After(60 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("chromium did not open its DevTools endpoint in 60 s; stderr:\n%s", lastLines(b.logs.String(), 20))
	}
	if b.c, err = dialCDP(b.ws); err != nil {
		t.Fatalf("chromium devtools: %v", err)
	}
	return b
}

// Load opens url in a new tab, waits for the load event and an idle
// network, and returns the page's DOM, text and errors.
func (b *Browser) Load(t testing.TB, url string) Page {
	t.Helper()
	p, err := b.c.load(url, time.Minute)
	if err != nil {
		t.Fatalf("chromium: load %s: %v", url, err)
	}
	return p
}

// Load opens url in a headless Chromium of its own (Start, then Load).
func Load(t testing.TB, url string) Page {
	t.Helper()
	return Start(t).Load(t, url)
}

// TempPage writes html to a file and returns its file:// URL (for tests of
// the checks themselves).
func TempPage(t testing.TB, html string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "page.html")
	if err := os.WriteFile(p, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	return "file://" + p
}
