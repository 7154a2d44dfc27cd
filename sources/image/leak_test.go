package image_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/image"
)

// TestBadPlatformLeaksNoGoroutine: a bad --platform is refused before
// anything is scanned, and leaves no goroutine behind (before the fix,
// the pool's Workers goroutines were started first and never stopped: a
// long-running `bks serve` gained them at every such request).
func TestBadPlatformLeaksNoGoroutine(t *testing.T) {
	src := image.New(image.Options{Tarballs: []string{t.TempDir()}, Workers: 4, Platform: "linux/amd64/v8/x/y"})
	call := func() {
		err := src.Chunks(context.Background(), sources.Chunker{Size: 4096}, func(sources.Chunk) error { return nil })
		if err == nil {
			t.Fatal("Chunks with a bad platform: no error")
		}
	}
	call() // whatever starts once (none expected) starts here
	before := runtime.NumGoroutine()
	for range 20 {
		call()
	}
	// Goroutines that end do so soon after: wait a little for them, not
	// for a timing (the count either comes back or it does not).
	after := runtime.NumGoroutine()
	for i := 0; i < 100 && after > before; i++ {
		time.Sleep(10 * time.Millisecond)
		after = runtime.NumGoroutine()
	}
	if after > before {
		t.Errorf("%d goroutines after 20 calls with a bad platform, %d before", after, before)
	}
}
