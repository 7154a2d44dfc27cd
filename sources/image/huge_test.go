package image_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"runtime"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/internal/testregistry"
	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/image"
)

// hugeLayerSize is the one file of the huge layer.
const hugeLayerSize = 128 << 20

// hugeTar streams a layer tarball holding one file of hugeLayerSize bytes
// of source-like text with a key at its end, never holding it whole.
func hugeTar(k string) io.ReadCloser {
	block := testkeys.SourceText(1<<20, 7)
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := tw.WriteHeader(&tar.Header{Name: "data/dump.sql", Mode: 0o644, Size: hugeLayerSize + int64(len(k)+1)})
		for i := 0; err == nil && i < hugeLayerSize/len(block); i++ {
			_, err = tw.Write(block)
		}
		if err == nil {
			_, err = io.WriteString(tw, k+"\n")
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// TestHugeLayerBoundedMemory: a layer with a 128 MiB file is streamed from
// the registry: the heap grows by a few chunk buffers, not by the layer,
// and the key at its end is found.
func TestHugeLayerBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams a 128 MiB layer")
	}
	host := testregistry.Start(t)
	k := key(80)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return hugeTar(k), nil },
		tarball.WithCompressionLevel(gzip.BestSpeed))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/acme/huge:1"
	testregistry.Push(t, ref, img)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	found, n := 0, 0
	split := sources.Chunker{Size: 64 << 10, Overlap: 512}
	err = image.New(image.Options{Refs: []string{ref}}).Chunks(t.Context(), split, func(c sources.Chunk) error {
		if n++; n%64 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		if c.Origin.Path == "/data/dump.sql" && bytes.Contains(c.Data, []byte(k)) {
			found++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	grew := int64(peak) - int64(base)
	t.Logf("scanned %d chunks of a %d MiB layer file; heap grew by at most %.1f MiB", n, hugeLayerSize>>20, float64(grew)/(1<<20))
	if found != 1 {
		t.Errorf("key at the end of the huge file found %d times, want 1", found)
	}
	if grew > 32<<20 {
		t.Errorf("heap grew by %d MiB scanning a %d MiB layer: not streamed", grew>>20, hugeLayerSize>>20)
	}
}
