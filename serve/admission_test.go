package serve

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/bks-dev/bks/serve/store"
)

// TestWebhookBurstAdmission: a burst of N concurrent deliveries against a
// queue limit of L accepts at most L (every other one is refused with 503
// and Retry-After, and nothing of it is stored), on both databases; a
// replay of an accepted delivery while the queue is full is answered 200,
// not 503. The limit is checked in the transaction that inserts, so the
// requests in flight cannot all pass it at once.
func TestWebhookBurstAdmission(t *testing.T) {
	const n, limit = 60, 5
	forEachBackend(t, func(t *testing.T, dsn string) {
		ts := startServer(t, dsn, Config{MaxQueue: limit, Workers: 1, Process: blocked})
		codes := make([]int, n)
		retry := make([]string, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				resp, _ := ts.post(t, fmt.Sprint("d-burst-", i), "push", []byte(pushBody), "sign")
				codes[i], retry[i] = resp.StatusCode, resp.Header.Get("Retry-After")
			}()
		}
		close(start)
		wg.Wait()
		count := map[int]int{}
		var accepted string
		for i, c := range codes {
			count[c]++
			switch {
			case c == http.StatusAccepted:
				accepted = fmt.Sprint("d-burst-", i)
			case c == http.StatusServiceUnavailable && retry[i] == "":
				t.Errorf("delivery %d: 503 without Retry-After", i)
			case c != http.StatusServiceUnavailable:
				t.Errorf("delivery %d: status %d", i, c)
			}
			d, j := ts.rows(t, fmt.Sprint("d-burst-", i))
			if stored := d == 1 && j == 1; stored != (c == http.StatusAccepted) || d != j {
				t.Errorf("delivery %d (status %d): %d delivery rows, %d jobs", i, c, d, j)
			}
		}
		depth, err := ts.st.QueueDepth(context.Background())
		t.Logf("%d concurrent deliveries, limit %d: %d accepted, %d refused; queue depth %d", n, limit,
			count[http.StatusAccepted], count[http.StatusServiceUnavailable], depth)
		if err != nil || count[http.StatusAccepted] > limit || depth > limit {
			t.Errorf("accepted %d, queue depth %d (err %v); want at most %d", count[http.StatusAccepted], depth, err, limit)
		}
		if count[http.StatusAccepted] == 0 {
			t.Fatal("nothing accepted")
		}
		if depth < limit {
			t.Skipf("the burst did not fill the queue (depth %d): the replay case needs it full", depth)
		}
		resp, msg := ts.post(t, accepted, "push", []byte(pushBody), "sign")
		t.Logf("replay of %s while full: %d %q", accepted, resp.StatusCode, msg)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("replay while full: status %d, want 200", resp.StatusCode)
		}
		if js, _ := ts.st.JobsFor(context.Background(), accepted); len(js) != 1 || js[0].State == store.JobDone {
			t.Errorf("replayed delivery's jobs: %+v", js)
		}
	})
}
