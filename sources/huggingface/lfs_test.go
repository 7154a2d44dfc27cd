package huggingface

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/hffake"
)

// tenThousandPointers builds a bare repository of 10,000 LFS pointers to
// 5 GiB objects, two commits apart (the second adds 10 small ones).
func tenThousandPointers(tb testing.TB) string {
	tb.Helper()
	files := map[string][]byte{}
	for i := range 10000 {
		files[fmt.Sprintf("shards/w-%05d.bin", i)] = hffake.Pointer(fmt.Sprintf("%064x", i+1), 5<<30)
	}
	small := map[string][]byte{}
	for i := range 10 {
		small[fmt.Sprintf("small/%d.txt", i)] = hffake.Pointer(fmt.Sprintf("%064x", 100000+i), 100)
	}
	dir := filepath.Join(tb.TempDir(), "w.git")
	if err := githubfake.BuildRepo(dir, []githubfake.Commit{{Files: files}, {Files: small}}); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// TestLFSPointersBounded: a repository with 10,000 LFS files is read once,
// those over the size cap counted, those past the object cap counted, and
// only maxObjects kept.
func TestLFSPointersBounded(t *testing.T) {
	dir := tenThousandPointers(t)
	s := &lfsScanner{maxSize: DefaultLFSMaxSize, maxObjects: 4}
	take, overCap, overCount, largest, err := s.pointers(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(take) != 4 || overCap != 10000 || overCount != 6 || largest != 5<<30 {
		t.Errorf("take %d, over the size cap %d, over the count %d, largest %d", len(take), overCap, overCount, largest)
	}
	for _, p := range take {
		if p.size != 100 || filepath.Dir(p.path) != "small" {
			t.Errorf("took %+v", p)
		}
	}
}

// BenchmarkLFSPointers10k reads the pointers of a 10,000-LFS-file
// repository.
func BenchmarkLFSPointers10k(b *testing.B) {
	dir := tenThousandPointers(b)
	s := &lfsScanner{maxSize: DefaultLFSMaxSize, maxObjects: DefaultLFSMaxObjects}
	b.ReportAllocs()
	for b.Loop() {
		if _, n, _, _, err := s.pointers(context.Background(), dir); err != nil || n != 10000 {
			b.Fatal(n, err)
		}
	}
}
