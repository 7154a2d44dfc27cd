//go:build unix

package cmdutil

import (
	"context"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncWriter is a stderr the signal goroutine writes while the test reads.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestSignalContext: the first SIGTERM cancels the context (the command
// stops and exits 130 through ExitCode); a second one exits at once.
func TestSignalContext(t *testing.T) {
	var stderr syncWriter
	exited := make(chan int, 1)
	ctx, stop := SignalContext(context.Background(), &stderr, func(code int) { exited <- code })
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not cancel the context")
	}
	select {
	case code := <-exited:
		t.Fatalf("exited %d on the first signal", code)
	case <-time.After(50 * time.Millisecond):
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != ExitInterrupted || !strings.Contains(stderr.String(), "again") {
			t.Errorf("second signal: exit %d, stderr %q; want %d and a line", code, stderr.String(), ExitInterrupted)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a second SIGTERM did not exit")
	}
}
