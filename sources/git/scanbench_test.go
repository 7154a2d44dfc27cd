package git

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bks-dev/bks/detectors"
)

// cpuTime is the process's user + system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

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
	open := func(b *testing.B) *history {
		repo, closeRepo, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { closeRepo() })
		s := New(Options{Path: dir, Reader: ReaderGit, Matcher: detectors.New(detectors.Options{}),
			OnError: func(string, error) {}, Warn: func(string) {}})
		h, err := newHistory(ctx, s, repo, dir, "repo")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(h.closeStore)
		if h.store == nil {
			b.Fatal("no in-process store")
		}
		return h
	}
	b.Run("blobs", func(b *testing.B) {
		h := open(b)
		var cpu time.Duration
		var reads int64
		var bs *blobScan
		for b.Loop() {
			c0, r0 := cpuTime(), readCalls()
			bs = &blobScan{tooBig: map[plumbing.Hash]int64{}}
			if err := h.streamPacks(ctx, h.store, bs); err != nil {
				b.Fatal(err)
			}
			cpu += cpuTime() - c0
			reads += readCalls() - r0
		}
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		b.ReportMetric(float64(reads)/float64(b.N), "reads/op")
		b.ReportMetric(float64(bs.blobs), "blobs")
		b.ReportMetric(float64(len(bs.hits)), "hits")
	})
	b.Run("commits", func(b *testing.B) {
		h := open(b)
		var cpu time.Duration
		var reads int64
		for b.Loop() {
			c0, r0 := cpuTime(), readCalls()
			h.nodes, h.index = nil, map[plumbing.Hash]int32{}
			h.objs = h.store.NewReader()
			if err := h.collectGit(ctx, nil); err != nil {
				b.Fatal(err)
			}
			h.objs = nil
			cpu += cpuTime() - c0
			reads += readCalls() - r0
		}
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		b.ReportMetric(float64(reads)/float64(b.N), "reads/op")
		b.ReportMetric(float64(len(h.nodes)), "commits")
	})
}
