package servebench

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bks-dev/bks/serve/store"
)

// burstResult is the burst phase.
type burstResult struct {
	n, replays          int
	statuses            map[int]int
	replayStatuses      map[int]int
	badRefusals         int             // 503 without Retry-After, or another status
	refusals            map[string]int  // 503s by reason
	answer              []time.Duration // sorted, every POST's answer time
	sendWall, drainWall time.Duration
	drainErr            error
	// Effects after the drain.
	accepted, processed, keyed        int
	okRuns, okRevoked                 int // accepted pushes with exactly one commit status / one revocation
	refusedClean                      int // refused pushes with no effect
	extraRuns, extraWrites, wrongRuns int
}

// runBurst sends ps within window, then replays (every 20th accepted one),
// waits for the queue to drain, and checks each push's effects.
func runBurst(b *bks, f *fixture, st *store.Store, ps []push, window, wait time.Duration) burstResult {
	r := burstResult{n: len(ps), statuses: map[int]int{}, replayStatuses: map[int]int{}, refusals: map[string]int{}}
	codes := make([]int, len(ps))
	var mu sync.Mutex
	var wg sync.WaitGroup
	ps = interleave(ps)
	start := time.Now()
	for i, p := range ps {
		time.Sleep(time.Until(start.Add(window * time.Duration(i) / time.Duration(len(ps)))))
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, retry, took, err := b.post(fmt.Sprint("burst-", i), p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				code = -1
			}
			codes[i] = code
			r.statuses[code]++
			r.answer = append(r.answer, took)
			switch {
			case code == http.StatusServiceUnavailable && retry != "":
				_, why, _ := strings.Cut(retry, " ")
				r.refusals[why]++
			case code != http.StatusAccepted:
				r.badRefusals++
			}
		}()
	}
	wg.Wait()
	r.sendWall = time.Since(start)
	for i, c := range codes {
		if c == http.StatusAccepted && i%20 == 0 {
			code, _, _, err := b.post(fmt.Sprint("burst-", i), ps[i])
			if err != nil {
				code = -1
			}
			r.replays++
			r.replayStatuses[code]++
		}
	}
	r.drainWall, r.drainErr = drain(st, wait)
	slices.Sort(r.answer)
	r.effects(f, st, ps, codes)
	return r
}

// effects checks every push against the fakes: an accepted one has one
// commit status on its commit and, with a key, one revocation; a refused one
// has neither.
func (r *burstResult) effects(f *fixture, st *store.Store, ps []push, codes []int) {
	runs := map[string]int{}
	repos := map[string]bool{}
	for _, p := range ps {
		repos[p.repo] = true
	}
	for repo := range repos {
		_, name, _ := strings.Cut(repo, "/")
		// The service runs with a personal token: GitHub lets only Apps
		// write check runs, so it sets the commit status bks.
		for _, st := range f.gh.Statuses("bench", name) {
			runs[st.SHA]++
		}
	}
	writes := writesBy(f)
	for i, p := range ps {
		if codes[i] != http.StatusAccepted {
			if runs[p.after] == 0 && (p.user == "" || writes[p.user] == 0) {
				r.refusedClean++
			}
			continue
		}
		r.accepted++
		if d, err := st.GetDelivery(context.Background(), fmt.Sprint("burst-", i)); err == nil && d.Status == store.DeliveryProcessed {
			r.processed++
		}
		switch n := runs[p.after]; {
		case n == 1:
			r.okRuns++
		case n > 1:
			r.extraRuns += n - 1
		default:
			r.wrongRuns++
		}
		if p.user != "" {
			r.keyed++
			switch w := writes[p.user]; {
			case w == 2:
				r.okRevoked++
			case w > 2:
				r.extraWrites += w - 2
			}
		}
	}
}
