package image_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/internal/testregistry"
	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/image"
)

// TestHandedOffFiles: with Workers > 1 the files of a layer are scanned
// by a pool (handoff.go), some of them larger than what is handed off:
// each file is scanned once, with its own path and layer, InHead as the
// layers above say; and a failing yield stops the sweep with its error,
// also when it fails on a file the pool scans.
func TestHandedOffFiles(t *testing.T) {
	defer image.SetHandoffMax(64 << 10)()
	var fs []testregistry.File
	keys := map[string]string{} // path → key
	for i := range 40 {
		k := key(uint64(200 + i))
		size := 16 << 10
		if i%13 == 0 {
			size = 100 << 10 // above handoffMax: scanned by the layer's reader
		}
		data := append(testkeys.SourceText(size, uint64(i)), []byte("\nKEY="+k+"\n")...)
		p := fmt.Sprintf("srv/f%02d.txt", i)
		fs = append(fs, testregistry.File{Name: p, Data: data})
		keys["/"+p] = k
	}
	img, bottom := appendLayer(t, empty.Image, "COPY", fs...)
	img, _ = appendLayer(t, img, "RUN rm", testregistry.File{Name: "srv/.wh.f07.txt"})
	dir := t.TempDir()
	writeLayout(t, dir, img)
	var all []string
	for _, k := range keys {
		all = append(all, k)
	}
	res := scan(t, image.Options{Tarballs: []string{dir}, Workers: 4}, all...)
	if len(res.errs) != 0 {
		t.Errorf("errors %q", res.errs)
	}
	for p, k := range keys {
		h := res.find(k)
		if len(h) != 1 || h[0].Path != p || h[0].Commit != bottom.String() || h[0].InHead == nil || *h[0].InHead != (p != "/srv/f07.txt") {
			t.Errorf("%s: %+v, want once, in layer %s, in the final image unless deleted", p, h, bottom)
		}
	}

	stop := errors.New("stop")
	var calls atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := image.New(image.Options{Tarballs: []string{dir}, Workers: 4}).Chunks(ctx, sources.Chunker{Size: 64 << 10, Overlap: 512}, func(c sources.Chunk) error {
		if calls.Add(1) == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || strings.Contains(fmt.Sprint(err), "context") {
		t.Errorf("Chunks: %v, want the yield's error", err)
	}
}

// TestFailedYieldNotCalledAgain: once a yield failed, the sweep stops
// calling it, also for the files the pool holds at that moment. The
// layer's first two files are small (handed to the pool), the third is
// larger than what is handed off (scanned by the layer's reader): the
// reader's first call waits until the pool's first calls are in yield,
// fails, and these wait until the sweep recorded the failure (image.OnFail: waiting for the failing call
// alone, a call let through between its return and the recording would
// count, and on a loaded machine that took 7 calls once), then each file
// held has chunks left. Before the fix only the reader's side stopped:
// the pool went on yielding the rest of its files.
func TestFailedYieldNotCalledAgain(t *testing.T) {
	defer image.SetHandoffMax(64 << 10)()
	img, _ := appendLayer(t, empty.Image, "COPY",
		testregistry.File{Name: "srv/a.txt", Data: testkeys.SourceText(32<<10, 1)},
		testregistry.File{Name: "srv/b.txt", Data: testkeys.SourceText(32<<10, 2)},
		testregistry.File{Name: "srv/c.txt", Data: testkeys.SourceText(100<<10, 3)})
	dir := t.TempDir()
	writeLayout(t, dir, img)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stop := errors.New("stop")
	failed := make(chan struct{}) // closed once the sweep recorded the failure
	defer image.OnFail(func() { close(failed) })()
	held := make(chan struct{}, 2) // a pool's call is waiting
	var calls, after atomic.Int64  // calls of c.txt; calls begun once the failure was recorded
	err := image.New(image.Options{Tarballs: []string{dir}, Workers: 4}).Chunks(ctx, sources.Chunker{Size: 4 << 10, Overlap: 64}, func(c sources.Chunk) error {
		select {
		case <-failed:
			after.Add(1)
			return nil
		default:
		}
		switch {
		case strings.HasSuffix(c.Origin.Path, "/c.txt"):
			if calls.Add(1) == 1 {
				for range 2 { // both files of the pool are being yielded
					select {
					case <-held:
					case <-ctx.Done():
						t.Error("the pool's files were never yielded")
					}
				}
			}
			return stop
		case !strings.HasSuffix(c.Origin.Path, "/a.txt") && !strings.HasSuffix(c.Origin.Path, "/b.txt"):
			return nil // the image's config, scanned first
		}
		held <- struct{}{}
		select { // a pool's call, begun before the failure: it waits for it
		case <-failed:
		case <-ctx.Done():
			t.Error("no failure recorded")
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("Chunks: %v, want the yield's error", err)
	}
	if n := after.Load() + calls.Load() - 1; n != 0 {
		t.Errorf("yield called %d times after it failed", n)
	}
}
