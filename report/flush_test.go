package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowWriter takes its time over each write and fails from fail on (0:
// never), and records whether two writes ever overlapped.
type slowWriter struct {
	mu      sync.Mutex
	b       bytes.Buffer
	busy    atomic.Bool
	overlap atomic.Bool
	writes  int
	fail    int
}

var errDiskFull = errors.New("disk full")

func (w *slowWriter) Write(p []byte) (int, error) {
	if !w.busy.CompareAndSwap(false, true) {
		w.overlap.Store(true)
	}
	defer w.busy.Store(false)
	time.Sleep(time.Millisecond)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	if w.fail > 0 && w.writes >= w.fail {
		return 0, errDiskFull
	}
	return w.b.Write(p)
}

// TestFlusherOrderAndFlush: lines written from several goroutines at once
// reach the output whole, each goroutine's in its order, buffers one at
// a time; Flush returns once everything is written, a write in flight
// included.
func TestFlusherOrderAndFlush(t *testing.T) {
	w := &slowWriter{}
	f := newFlusher(w)
	const goroutines, lines = 4, 3000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				if _, err := fmt.Fprintf(f, "%d %06d %s\n", g, i, strings.Repeat("x", 40)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(w.b.String(), "\n"), "\n")
	if len(got) != goroutines*lines {
		t.Fatalf("%d lines, want %d", len(got), goroutines*lines)
	}
	next := make([]int, goroutines)
	for _, l := range got {
		var g, i int
		if _, err := fmt.Sscanf(l, "%d %d", &g, &i); err != nil || len(l) != len("0 000000 ")+40 {
			t.Fatalf("line %q cut or mixed", l)
		}
		if i != next[g] {
			t.Fatalf("goroutine %d: line %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
	if w.writes < 2 {
		t.Errorf("%d writes: the buffer was never full", w.writes)
	}
	if w.overlap.Load() {
		t.Error("two buffers were written at once")
	}
}

// TestFlusherError: a failed write is returned by the Write that made it,
// then by every later Write and by Flush.
func TestFlusherError(t *testing.T) {
	w := &slowWriter{fail: 1}
	f := newFlusher(w)
	line := []byte(strings.Repeat("y", 1000) + "\n")
	var err error
	for i := 0; err == nil && i < 2*flushSize/len(line); i++ {
		_, err = f.Write(line)
	}
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("Write = %v, want %v", err, errDiskFull)
	}
	if _, err := f.Write(line); !errors.Is(err, errDiskFull) {
		t.Errorf("Write after the error = %v", err)
	}
	if err := f.Flush(); !errors.Is(err, errDiskFull) {
		t.Errorf("Flush = %v", err)
	}
	if w.writes != 1 {
		t.Errorf("%d writes, want 1: none after the failed one", w.writes)
	}
}

// TestJSONLConcurrent: a JSON Lines report takes findings from several
// goroutines at once (Concurrent), each written as one whole line.
func TestJSONLConcurrent(t *testing.T) {
	fs := fixture(t)
	var out lockedBuffer
	r, err := New(FormatJSONL, &out, Options{ShowSuppressed: true})
	if err != nil {
		t.Fatal(err)
	}
	if !Concurrent(r) {
		t.Fatal("the JSON Lines reporter is not Concurrent")
	}
	for _, format := range []string{FormatText, FormatJSON, FormatCSV, FormatSARIF} {
		if other, _ := New(format, &lockedBuffer{}, Options{}); Concurrent(other) {
			t.Errorf("%s reporter says it is Concurrent", format)
		}
	}
	const goroutines, each = 4, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := r.Finding(fs[(g+i)%len(fs)]); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != goroutines*each {
		t.Fatalf("%d lines, want %d", len(lines), goroutines*each)
	}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %.80q: %v", l, err)
		}
	}
}
