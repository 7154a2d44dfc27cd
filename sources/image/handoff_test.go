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
	"github.com/google/go-containerregistry/pkg/v1/layout"

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
	lp, err := layout.Write(dir, empty.Index)
	if err == nil {
		err = lp.AppendImage(img)
	}
	if err != nil {
		t.Fatal(err)
	}
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
	err = image.New(image.Options{Tarballs: []string{dir}, Workers: 4}).Chunks(ctx, sources.Chunker{Size: 64 << 10, Overlap: 512}, func(c sources.Chunk) error {
		if calls.Add(1) == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || strings.Contains(fmt.Sprint(err), "context") {
		t.Errorf("Chunks: %v, want the yield's error", err)
	}
}
