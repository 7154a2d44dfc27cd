package git

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testgit"
	"github.com/bks-dev/bks/scan"
)

// benchRepo returns the repository the history benchmarks scan:
// $BKS_BENCH_REPO (a clone made outside the tree; nothing is downloaded
// here), or a generated one with keys planted in history.
func benchRepo(b *testing.B) string {
	if p := os.Getenv("BKS_BENCH_REPO"); p != "" {
		return p
	}
	r := newTestRepo(b)
	for c := range 200 {
		for f := range 5 {
			var sb strings.Builder
			for l := range 200 {
				fmt.Fprintf(&sb, "commit %d file %d line %d: some configuration text\n", c, f, l)
			}
			if c%50 == 7 && f == 2 {
				sb.WriteString("AWS_BEARER_TOKEN_BEDROCK=" + key(100+c) + "\n")
			}
			r.Write(fmt.Sprintf("d%d/f%d.txt", (c+f)%9, f), sb.String())
		}
		r.Commit(fmt.Sprintf("commit %d", c))
	}
	r.Git("gc", "-q", "--aggressive")
	return r.Dir
}

// BenchmarkHistoryReaders compares the ways of reading the same history
// (all refs): the git CLI walk streaming blobs from git cat-file --batch,
// go-git's object reader, and the blob-first scan bks detect git runs
// (engine as Matcher) with blobs read in process or by git cat-file.
func BenchmarkHistoryReaders(b *testing.B) {
	testgit.Need(b)
	dir := benchRepo(b)
	eng := detectors.New(detectors.Options{})
	for _, reader := range []string{ReaderGit, ReaderGoGit, readerGitPrefilter, readerGitCatFile} {
		b.Run(reader, func(b *testing.B) {
			var st Stats
			for b.Loop() {
				st = Stats{}
				opts := Options{Path: dir, Reader: reader, Stats: &st,
					OnError: func(string, error) {}}
				if reader == readerGitPrefilter || reader == readerGitCatFile {
					opts.catFileBlobs = reader == readerGitCatFile
					opts.Reader = ReaderGit
					opts.Matcher = eng
				}
				src := New(opts)
				err := scan.Run(context.Background(), src, eng, func(findings.Finding) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(st.BlobBytes)
			b.ReportMetric(float64(st.Blobs), "blobs")
			b.ReportMetric(float64(st.Commits), "commits")
		})
	}
}

// BenchmarkAttributionStore times the in-process attribution walk alone
// (attributeStore) on $BKS_BENCH_REPO, for the blobs named (comma
// separated) by $BKS_BENCH_WANT: what a blob-first scan that found them
// spends after its blob scan. The commits are read once, untimed.
func BenchmarkAttributionStore(b *testing.B) {
	testgit.Need(b)
	dir, wantIDs := os.Getenv("BKS_BENCH_REPO"), os.Getenv("BKS_BENCH_WANT")
	if dir == "" || wantIDs == "" {
		b.Skip("BKS_BENCH_REPO and BKS_BENCH_WANT (blob ids) name what to attribute")
	}
	want := map[plumbing.Hash]bool{}
	for _, id := range strings.Split(wantIDs, ",") {
		want[plumbing.NewHash(id)] = true
	}
	ctx := context.Background()
	h := storeHistory(b, dir)
	h.objs = h.store.NewReader()
	if err := h.collectGit(ctx, nil); err != nil {
		b.Fatal(err)
	}
	h.objs = nil
	cpu := selfCPU()
	for b.Loop() {
		h.seenTrees = map[plumbing.Hash]struct{}{}
		h.seenBlobs = map[plumbing.Hash]struct{}{}
		h.headBlobs = map[plumbing.Hash]struct{}{}
		found := 0
		if err := h.attributeStore(ctx, want, func(record) error { found++; return nil }); err != nil {
			b.Fatal(err)
		}
		if found != len(want) {
			b.Fatalf("attributed %d of %d blobs", found, len(want))
		}
	}
	// CPU time, as the machine the benchmarks run on may be shared.
	b.ReportMetric((selfCPU()-cpu).Seconds()/float64(b.N), "cpu-s/op")
}
