package servebench

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bks-dev/bks/serve/store"
)

func revList(bare string) ([]string, error) {
	out, err := exec.Command("git", "-C", bare, "rev-list", "--reverse", "main").Output()
	if err != nil {
		return nil, fmt.Errorf("rev-list %s: %w", bare, err)
	}
	return strings.Fields(string(out)), nil
}

// interleave orders pushes round-robin over their repositories, each
// repository's in its own order (a delivery's before is the previous one's
// after).
func interleave(ps []push) []push {
	by := map[string][]push{}
	var repos []string
	for _, p := range ps {
		if by[p.repo] == nil {
			repos = append(repos, p.repo)
		}
		by[p.repo] = append(by[p.repo], p)
	}
	var out []push
	for i := 0; len(out) < len(ps); i++ {
		for _, r := range repos {
			if i < len(by[r]) {
				out = append(out, by[r][i])
			}
		}
	}
	return out
}

// latencyResult is the push-to-revocation phase.
type latencyResult struct {
	n, revoked int
	lat        []time.Duration // sorted
	statuses   map[int]int
	wall       time.Duration
}

// runLatency delivers ps at rate per second and waits (up to wait after
// the last) for each key's revocation: the last IAM write on its user.
func runLatency(b *bks, f *fixture, ps []push, rate float64, wait time.Duration) latencyResult {
	r := latencyResult{n: len(ps), statuses: map[int]int{}}
	sent := map[string]time.Time{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for i, p := range interleave(ps) {
		time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			code, _, _, err := b.post(fmt.Sprint("lat-", i), p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				code = -1
			}
			r.statuses[code]++
			if code == http.StatusAccepted {
				sent[p.user] = t0
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(wait)
	for {
		done := revokedAt(f, 2)
		r.revoked = 0
		r.lat = r.lat[:0]
		for u, t0 := range sent {
			if t, ok := done[u]; ok {
				r.revoked++
				r.lat = append(r.lat, t.Sub(t0))
			}
		}
		if r.revoked == len(sent) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.wall = time.Since(start)
	slices.Sort(r.lat)
	return r
}

// revokedAt is, per IAM user, the time of its want-th write call (a
// revocation is two: the deny policy and the credential's deletion), for
// the users with at least want.
func revokedAt(f *fixture, want int) map[string]time.Time {
	n, at := map[string]int{}, map[string]time.Time{}
	for _, c := range f.aws.WriteCalls() {
		u := c.Params["UserName"]
		n[u]++
		if n[u] == want {
			at[u] = c.Time
		}
	}
	return at
}

// writesBy counts the IAM write calls per user.
func writesBy(f *fixture) map[string]int {
	n := map[string]int{}
	for _, c := range f.aws.WriteCalls() {
		n[c.Params["UserName"]]++
	}
	return n
}

// drain waits until st's queue is empty (or wait passes) and returns how
// long it took.
func drain(st *store.Store, wait time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		n, err := st.QueueDepth(context.Background())
		if err == nil && n == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > wait {
			return time.Since(start), fmt.Errorf("queue not drained after %s: %d jobs left (err %v)", wait, n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// pct is the p-th percentile of sorted ds (nearest rank).
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(p/100*float64(len(ds))+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}
