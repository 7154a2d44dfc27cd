package cli

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/report"
)

// keyThenBlock is standard input that yields body, then blocks until the
// test ends: a scan that has started and is interrupted mid-way.
type keyThenBlock struct {
	body    string
	sent    bool
	reading chan struct{}
	once    sync.Once
	end     <-chan struct{}
}

func (k *keyThenBlock) Read(p []byte) (int, error) {
	if !k.sent {
		k.sent = true
		return copy(p, k.body), nil
	}
	k.once.Do(func() { close(k.reading) })
	<-k.end
	return 0, io.EOF
}

// TestInterruptedOutputKeepsOldReport is the "Ctrl-C with -o":
// a scan interrupted after it started leaves the previous report's bytes
// unchanged, in every format, and leaves no temporary file behind.
func TestInterruptedOutputKeepsOldReport(t *testing.T) {
	key := testkeys.LongTerm("BedrockAPIKey-outp", "111122223333", testkeys.Secret(71))
	for _, format := range report.Formats() {
		t.Run(format, func(t *testing.T) {
			dir, out, old := previousReport(t, format)
			end := make(chan struct{})
			t.Cleanup(func() { close(end) })
			in := &keyThenBlock{body: "k=" + key + "\n", reading: make(chan struct{}), end: end}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stderr syncBuffer
			done := make(chan int, 1)
			go func() {
				done <- Run(ctx, []string{"detect", "stdin", "--format", format, "-o", out}, &IO{In: in, Out: io.Discard, Err: &stderr, Getenv: func(string) string { return "" }})
			}()
			select {
			case <-in.reading:
			case code := <-done:
				t.Fatalf("ended (exit %d) before the interrupt: %s", code, stderr.String())
			case <-time.After(30 * time.Second):
				t.Fatal("never read stdin")
			}
			cancel()
			var code int
			select {
			case code = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("still runs 20s after the interrupt")
			}
			if code != ExitCanceled {
				t.Fatalf("exit %d, want %d; stderr %q", code, ExitCanceled, stderr.String())
			}
			assertUnchanged(t, out, old)
			if !strings.Contains(stderr.String(), out) {
				t.Errorf("stderr does not say what happened to %s: %q", out, stderr.String())
			}
			assertOnlyFiles(t, dir, "bks."+format, "bks."+format+".incomplete")
			if format == report.FormatSARIF {
				partial, err := os.ReadFile(out + ".incomplete")
				if err != nil {
					t.Fatal(err)
				}
				assertSARIFIncomplete(t, partial, "interrupted")
			}
		})
	}
}

// TestIgnoreErrorsSARIFSaysIncomplete: with --ignore-errors the report
// replaces the old one (the exit is by findings), and SARIF still says
// that not everything was scanned.
func TestIgnoreErrorsSARIFSaysIncomplete(t *testing.T) {
	tree := writeTree(t, map[string]string{"a.txt": "nothing\n"})
	out := filepath.Join(t.TempDir(), "bks.sarif")
	code, _, errOut := runCLI(t, "", "detect", "files", "--ignore-errors", "--format", "sarif", "-o", out, tree, filepath.Join(tree, "missing"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	assertSARIFIncomplete(t, b, "could not be scanned")
	// A complete run says nothing of the sort.
	if code, _, errOut := runCLI(t, "", "detect", "files", "--format", "sarif", "-o", out, tree); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if b, _ := os.ReadFile(out); strings.Contains(string(b), "executionSuccessful\": false") {
		t.Errorf("complete run marked unsuccessful:\n%s", b)
	}
}

// assertSARIFIncomplete wants a SARIF log whose run has an invocation with
// executionSuccessful false and a notification containing want.
func assertSARIFIncomplete(t *testing.T, b []byte, want string) {
	t.Helper()
	var log struct {
		Runs []struct {
			Invocations []struct {
				ExecutionSuccessful *bool `json:"executionSuccessful"`
				Notes               []struct {
					Level   string `json:"level"`
					Message struct{ Text string }
				} `json:"toolExecutionNotifications"`
			} `json:"invocations"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &log); err != nil || len(log.Runs) != 1 {
		t.Fatalf("not a SARIF log (%v):\n%s", err, b)
	}
	inv := log.Runs[0].Invocations
	if len(inv) != 1 || inv[0].ExecutionSuccessful == nil || *inv[0].ExecutionSuccessful || len(inv[0].Notes) == 0 || !strings.Contains(inv[0].Notes[0].Message.Text, want) {
		t.Errorf("want executionSuccessful false and a notification with %q:\n%s", want, b)
	}
}

// TestFailedOutputIsMarkedIncomplete: a run that fails (exit 2, here an
// unreadable path) never replaces the report with one that looks
// complete; what it found is kept beside it, named .incomplete.
func TestFailedOutputIsMarkedIncomplete(t *testing.T) {
	key := testkeys.LongTerm("BedrockAPIKey-outp", "111122223333", testkeys.Secret(71))
	tree := writeTree(t, map[string]string{"a.env": "k=" + key + "\n"})
	for _, format := range report.Formats() {
		t.Run(format, func(t *testing.T) {
			dir, out, old := previousReport(t, format)
			code, _, errOut := runCLI(t, "", "detect", "files", "--format", format, "-o", out, tree, filepath.Join(tree, "missing"))
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr %q", code, errOut)
			}
			assertUnchanged(t, out, old)
			partial, err := os.ReadFile(out + ".incomplete")
			if err != nil {
				t.Fatalf("no incomplete report kept: %v", err)
			}
			if !strings.Contains(string(partial), "BedrockAPIKey-outp") {
				t.Errorf("incomplete report lacks the finding: %q", partial)
			}
			if format == report.FormatSARIF {
				assertSARIFIncomplete(t, partial, "could not be scanned")
			}
			if !strings.Contains(errOut, out+".incomplete") {
				t.Errorf("stderr does not name the incomplete report: %q", errOut)
			}
			assertOnlyFiles(t, dir, "bks."+format, "bks."+format+".incomplete")
		})
	}
}

// TestCompleteOutputReplacesReport: a run that completes replaces the
// previous report and removes a stale .incomplete one.
func TestCompleteOutputReplacesReport(t *testing.T) {
	tree := writeTree(t, map[string]string{"a.txt": "nothing here\n"})
	dir := t.TempDir()
	out := filepath.Join(dir, "bks.json")
	for _, p := range []string{out, out + ".incomplete"} {
		if err := os.WriteFile(p, []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, errOut := runCLI(t, "", "detect", "files", "--format", "json", "-o", out, tree); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got, err := os.ReadFile(out)
	if err != nil || strings.TrimSpace(string(got)) != "[]" {
		t.Fatalf("report %q, %v; want []", got, err)
	}
	assertOnlyFiles(t, dir, "bks.json")
}

// previousReport writes the report of an earlier run as dir/bks.<format>.
func previousReport(t *testing.T, format string) (dir, out string, old []byte) {
	t.Helper()
	dir = t.TempDir()
	out = filepath.Join(dir, "bks."+format)
	old = []byte("previous complete report\n")
	if err := os.WriteFile(out, old, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, out, old
}

// assertUnchanged fails when the report at out no longer holds old.
func assertUnchanged(t *testing.T, out string, old []byte) {
	t.Helper()
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(old) {
		t.Errorf("a run that did not complete replaced the previous report with %q", got)
	}
}

// assertOnlyFiles fails when dir holds a file not in names (a leftover
// temporary file).
func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, n := range names {
		allowed[n] = true
	}
	for _, e := range ents {
		if !allowed[e.Name()] {
			t.Errorf("unexpected file %s left in %s", e.Name(), dir)
		}
	}
}

// TestCompleteScanLaterFailureReplacesReport: a step after a complete scan
// fails (here --baseline-out to a directory that does not exist; triage
// failing is the same case): the exit is 2, but the report is whole, so it
// replaces the previous one and nothing is left as .incomplete.
func TestCompleteScanLaterFailureReplacesReport(t *testing.T) {
	key := testkeys.LongTerm("BedrockAPIKey-outp", "111122223333", testkeys.Secret(71))
	tree := writeTree(t, map[string]string{"a.env": "k=" + key + "\n"})
	dir, out, _ := previousReport(t, report.FormatJSON)
	code, _, errOut := runCLI(t, "", "detect", "files", "--format", "json", "-o", out,
		"--baseline-out", filepath.Join(dir, "no", "such", "dir", "b.jsonl"), tree)
	if code != 2 {
		t.Fatalf("exit %d, want 2; stderr %q", code, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(b), "BedrockAPIKey-outp") {
		t.Errorf("the complete report did not replace the previous one (%v): %q; stderr %q", err, b, errOut)
	}
	if _, err := os.Stat(out + ".incomplete"); err == nil {
		t.Errorf("a complete scan left %s.incomplete; stderr %q", out, errOut)
	}
}
