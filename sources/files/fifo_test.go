//go:build unix

package files

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bks-dev/bks/sources"
)

// TestFIFO checks that FIFOs below a root are neither opened nor read (a
// repository can hold one nobody writes to: opening it for reading in
// blocking mode would hang the scan), and that a FIFO named as a root is
// read as a stream (bash's <(cmd)). Before, the named FIFO was refused
// with ErrNotRegular and the key written to it was missed.
func TestFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.env")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	writeFile(t, filepath.Join(dir, "z.env"), []byte("K="+keyLong+"\n"))
	go func() { // the writer of the named FIFO; the walk never opens it
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer w.Close()
		w.Write([]byte("first line\nK=" + keyLong2 + "\n"))
	}()

	done := make(chan result, 1)
	go func() { done <- scanPaths(t, Options{}, dir, fifo) }()
	var res result
	select {
	case res = <-done:
	case <-time.After(time.Minute): // a hang guard, not a speed assertion
		t.Fatal("scan blocked on a FIFO")
	}
	if len(res.hits) != 2 || res.hits[0].Path != filepath.ToSlash(fifo) || res.hits[0].Line != 2 || res.hits[1].Path != filepath.ToSlash(filepath.Join(dir, "z.env")) {
		t.Errorf("hits = %v, want the named FIFO's line 2 and z.env", res.hits)
	}
	if len(res.errs) != 0 {
		t.Errorf("errors = %s", res.errText())
	}

	// A regular file swapped for a FIFO after the walk: opened without
	// blocking, then skipped as not regular, with the ordinary system
	// calls and with the raw ones of a local filesystem.
	for _, local := range []bool{false, true} {
		sc := newScanner(t.Context(), &Options{}, sources.Chunker{Size: 4096, Overlap: 64}, func(p string, err error) {
			t.Errorf("local %v: reported %s: %v", local, p, err)
		}, nil)
		go func() {
			if err := sc.scanFile(job{path: fifo, display: "pipe.env", local: local}, openFile); err != nil {
				t.Error(err)
			}
			done <- result{}
		}()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatalf("local %v: opening a FIFO blocked", local)
		}
		sc.release()
	}
}

// TestFIFORootInterrupted: a FIFO named as a root whose writer never
// comes, or never writes, blocks the scan only until the context ends.
func TestFIFORootInterrupted(t *testing.T) {
	for _, writer := range []bool{false, true} {
		fifo := filepath.Join(t.TempDir(), "pipe")
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		if writer { // opens the FIFO and says nothing
			go func() {
				if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
					t.Cleanup(func() { w.Close() })
				}
			}()
		}
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		done := make(chan error, 1)
		go func() {
			done <- New(Options{Paths: []string{fifo}}).Chunks(ctx, sources.Chunker{Size: 4096, Overlap: 64}, func(sources.Chunk) error { return nil })
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("writer %v: Chunks = %v, want the context's error", writer, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("writer %v: the FIFO blocked the scan past its context", writer)
		}
		cancel()
	}
}
