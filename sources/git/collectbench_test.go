package git

import (
	"context"
	"testing"
)

// BenchmarkCollectStore times the git CLI walk's reading of every
// commit (collectGit through the in-process store, as bks detect git
// runs it beside the blob scan) of $BKS_BENCH_REPO, or of benchRepo's
// generated repository: CPU seconds and microseconds per commit.
func BenchmarkCollectStore(b *testing.B) {
	ctx := context.Background()
	h := storeHistory(b, benchRepo(b))
	cpu, commits := selfCPU(), 0
	for b.Loop() {
		h.reset()
		h.objs = h.store.NewReader()
		if err := h.collectGit(ctx, nil); err != nil {
			b.Fatal(err)
		}
		h.objs = nil
		commits += len(h.nodes)
	}
	spent := selfCPU() - cpu
	b.ReportMetric(spent.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(spent.Microseconds())/float64(max(commits, 1)), "cpu-µs/commit")
}
