package cli

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/testkeys"
)

// inFlight is a fake Bedrock endpoint that answers every key as live, but
// holds each request until want requests are in flight at once (or until
// its deadline passes: then it answers at once, so that a scan that checks
// one key at a time is slow and fails, it does not hang). It records the
// most requests ever in flight together.
type inFlight struct {
	want     int
	deadline time.Time
	mu       sync.Mutex
	cond     *sync.Cond
	now, max int
}

func (f *inFlight) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.now++
	f.max = max(f.max, f.now)
	f.cond.Broadcast()
	for f.max < f.want && time.Now().Before(f.deadline) {
		f.cond.Wait()
	}
	f.mu.Unlock()
	// Let other checks come in (a bound that does not hold shows here).
	time.Sleep(50 * time.Millisecond)
	f.mu.Lock()
	f.now--
	f.mu.Unlock()
	io.WriteString(w, `{"modelSummaries":[]}`)
}

// detect --verify runs live checks concurrently, outside any lock held by
// the other workers, and at most maxLiveChecks at once.
func TestDetectVerifyConcurrent(t *testing.T) {
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
	const bound = maxLiveChecks
	const keys = bound + 2
	f := &inFlight{want: bound, deadline: time.Now().Add(3 * time.Second)}
	f.cond = sync.NewCond(&f.mu)
	// Wake the waiters when the deadline passes.
	stop := time.AfterFunc(3*time.Second, func() { f.mu.Lock(); f.cond.Broadcast(); f.mu.Unlock() })
	defer stop.Stop()
	url, ca := fakeBedrockTLSHandler(t, f)
	tree := map[string]string{}
	for i := range keys {
		k := testkeys.LongTerm(fmt.Sprintf("BedrockAPIKey-cc%02d", i), "111122223333", testkeys.Secret(uint64(200+i)))
		tree[fmt.Sprintf("f%d.env", i)] = "K=" + k + "\n"
	}
	dir := writeTree(t, tree)
	start := time.Now()
	code, out, errOut := runCLIEnv(t, map[string]string{"AWS_CA_BUNDLE": ca}, "", "detect", "files", dir,
		"--verify", "--verify-endpoint", url, "--format", "jsonl", "--workers", fmt.Sprint(keys))
	if code != ExitFound {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := strings.Count(out, `"live":"live"`); n != keys {
		t.Errorf("%d findings marked live, want %d:\n%s", n, keys, out)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.max != bound {
		t.Errorf("at most %d live checks were in flight at once, want %d (took %s)", f.max, bound, time.Since(start).Round(time.Millisecond))
	}
}
