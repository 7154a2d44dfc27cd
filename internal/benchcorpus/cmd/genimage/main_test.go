package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// TestThreeEncodingsSameFiles: the three layouts hold one image whose
// layers are of their encoding's media type, each blob stored as that
// encoding (decompress sniffs it), and whose files are those of rootfs,
// byte for byte.
func TestThreeEncodingsSameFiles(t *testing.T) {
	fileSize, perLayer = 16<<10, 4 // 16 KiB files, 4 a layer
	out := filepath.Join(t.TempDir(), "img")
	if err := gen(out, 6); err != nil { // two layers, the second of 2 files
		t.Fatal(err)
	}
	for _, e := range encodings {
		idx, err := layout.ImageIndexFromPath(filepath.Join(out, e.dir))
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil || len(im.Manifests) != 1 {
			t.Fatalf("%s: index %v, %v", e.dir, im, err)
		}
		img, err := idx.Image(im.Manifests[0].Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil || len(m.Layers) != 2 {
			t.Fatalf("%s: manifest %v, %v", e.dir, m, err)
		}
		files := 0
		for _, l := range m.Layers {
			if l.MediaType != e.mt {
				t.Errorf("%s: layer media type %s, want %s", e.dir, l.MediaType, e.mt)
			}
			blob := filepath.Join(out, e.dir, "blobs", l.Digest.Algorithm, l.Digest.Hex)
			stored, n, err := decompress(blob)
			if err != nil {
				t.Fatal(err)
			}
			if (stored == n) != (e.dir == "oci-none") {
				t.Errorf("%s: %d bytes stored, %d decompressed", e.dir, stored, n)
			}
			files += checkTar(t, blob, filepath.Join(out, "rootfs"))
		}
		if files != 6 {
			t.Errorf("%s: %d files, want 6", e.dir, files)
		}
	}
	if err := decompressAll(filepath.Join(out, "oci-zstd"), 2); err != nil {
		t.Fatal(err)
	}
}

// checkTar compares the files of the layer blob at p with rootfs and
// returns how many there are.
func checkTar(t *testing.T, p, rootfs string) int {
	t.Helper()
	r, w := io.Pipe()
	go func() {
		f, err := os.Open(p)
		if err != nil {
			w.CloseWithError(err)
			return
		}
		defer f.Close()
		_, err = decompressTo(f, w)
		w.CloseWithError(err)
	}()
	tr := tar.NewReader(r)
	n := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(tr)
		want, err := os.ReadFile(filepath.Join(rootfs, filepath.FromSlash(hdr.Name)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: not the file of rootfs (%v)", hdr.Name, err)
		}
		n++
	}
}
