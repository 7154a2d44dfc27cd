//go:build unix

package files

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bks-dev/bks/sources"
)

// TestFIFO checks that FIFOs, below a root or named as one, neither block
// the scan nor get read: nobody ever writes to them here, so opening one
// for reading in blocking mode would hang forever.
func TestFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.env")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	writeFile(t, filepath.Join(dir, "z.env"), []byte("K="+keyLong+"\n"))

	done := make(chan result, 1)
	go func() { done <- scanPaths(t, Options{}, dir, fifo) }()
	var res result
	select {
	case res = <-done:
	case <-time.After(time.Minute): // a hang guard, not a speed assertion
		t.Fatal("scan blocked on a FIFO")
	}
	if len(res.hits) != 1 {
		t.Errorf("hits = %v, want z.env", res.hits)
	}
	errs := res.errs[filepath.ToSlash(fifo)]
	if len(res.errs) != 1 || len(errs) != 1 || !errors.Is(errs[0], ErrNotRegular) {
		t.Errorf("errors = %s, want ErrNotRegular for the FIFO named as root", res.errText())
	}

	// A regular file swapped for a FIFO after the walk: opened without
	// blocking, then skipped as not regular.
	sc := newScanner(t.Context(), &Options{}, sources.Chunker{Size: 4096, Overlap: 64}, func(p string, err error) {
		t.Errorf("reported %s: %v", p, err)
	}, nil)
	defer sc.release()
	go func() {
		if err := sc.scanFile(job{path: fifo, display: "pipe.env"}, openFile); err != nil {
			t.Error(err)
		}
		done <- result{}
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("opening a FIFO blocked")
	}
}
