package git

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// readCalls is how many read system calls the process made so far.
func readCalls() int64 {
	b, _ := os.ReadFile("/proc/self/io")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "syscr: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// BenchmarkScanParts times the two halves of a blob-first scan's first
// phase on $BKS_BENCH_REPO, each alone: the blob stream (streamPacks,
// the engine's anchors and prefilter as in bks detect git) and the commit
// walk from the same store (collectGit). CPU time (user + system, per
// run) is reported next to the wall time: on a shared machine it is the
// steadier figure.
func BenchmarkScanParts(b *testing.B) {
	dir := os.Getenv("BKS_BENCH_REPO")
	if dir == "" {
		b.Skip("BKS_BENCH_REPO names the repository to scan")
	}
	ctx := context.Background()
	b.Run("blobs", func(b *testing.B) {
		h := storeHistory(b, dir)
		var cpu time.Duration
		var reads int64
		var bs *blobScan
		for b.Loop() {
			c0, r0 := selfCPU(), readCalls()
			bs = &blobScan{tooBig: map[plumbing.Hash]int64{}}
			if err := h.streamPacks(ctx, h.store, bs); err != nil {
				b.Fatal(err)
			}
			cpu += selfCPU() - c0
			reads += readCalls() - r0
		}
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		b.ReportMetric(float64(reads)/float64(b.N), "reads/op")
		b.ReportMetric(float64(bs.blobs), "blobs")
		b.ReportMetric(float64(len(bs.hits)), "hits")
	})
	b.Run("commits", func(b *testing.B) {
		h := storeHistory(b, dir)
		var cpu time.Duration
		var reads int64
		for b.Loop() {
			c0, r0 := selfCPU(), readCalls()
			h.nodes, h.index = nil, map[plumbing.Hash]int32{}
			h.objs = h.store.NewReader()
			if err := h.collectGit(ctx, nil); err != nil {
				b.Fatal(err)
			}
			h.objs = nil
			cpu += selfCPU() - c0
			reads += readCalls() - r0
		}
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		b.ReportMetric(float64(reads)/float64(b.N), "reads/op")
		b.ReportMetric(float64(len(h.nodes)), "commits")
	})
}
