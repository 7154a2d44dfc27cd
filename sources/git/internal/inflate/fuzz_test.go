package inflate

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FuzzZlib compares Zlib with compress/zlib (same). Its seeds: this
// package's files at every level, the edge cases of TestEdges, and in
// testdata/fuzz/FuzzZlib real pack entries of git/git (writeCorpus).
func FuzzZlib(f *testing.F) {
	for _, in := range append(sampleFiles(f), nil, []byte("x")) {
		for level := -2; level <= 9; level++ {
			f.Add(compress(f, level, in))
		}
	}
	for _, c := range edges() {
		f.Add(c.src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		same(t, src)
	})
}

// TestWriteCorpus, with INFLATE_WRITE_CORPUS set, writes pack entries of
// /tmp/git-git.git (every kind, small and large) as FuzzZlib seeds.
func TestWriteCorpus(t *testing.T) {
	if os.Getenv("INFLATE_WRITE_CORPUS") == "" {
		t.Skip("set INFLATE_WRITE_CORPUS to write the seeds")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzZlib")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kept := 0
	for i, o := range packObjects(t, gitGit, 4999, 100) {
		if len(o.z) > 4000 || i%4 != 0 && len(o.z) > 600 {
			continue
		}
		name := filepath.Join(dir, fmt.Sprintf("git-git-%d-type%d", i, o.typ))
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", o.z)
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		kept++
	}
	t.Logf("%d seeds", kept)
}
