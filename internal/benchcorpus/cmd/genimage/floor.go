package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"

	"github.com/bks-dev/bks/sources/image"
)

// decompressAll decompresses the layer blobs of every image in the OCI
// layout dir, workers at a time, to io.Discard, and prints the bytes
// read and written.
func decompressAll(dir string, workers int) error {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	var blobs []string
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return err
		}
		m, err := img.Manifest()
		if err != nil {
			return err
		}
		for _, l := range m.Layers {
			blobs = append(blobs, filepath.Join(dir, "blobs", l.Digest.Algorithm, l.Digest.Hex))
		}
	}
	var g errgroup.Group
	g.SetLimit(max(1, workers))
	sizes := make([][2]int64, len(blobs))
	for i, p := range blobs {
		g.Go(func() (err error) {
			sizes[i][0], sizes[i][1], err = decompress(p)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	var in, out int64
	for _, s := range sizes {
		in, out = in+s[0], out+s[1]
	}
	fmt.Printf("%d layers, %d bytes stored, %d bytes decompressed\n", len(blobs), in, out)
	return nil
}

// decompress reads the blob at p to its end, decompressed as its magic
// says (with the zstd options of sources/image), and returns its
// size and the size decompressed.
func decompress(p string) (int64, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	n, err := decompressTo(f, io.Discard)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", p, err)
	}
	return st.Size(), n, nil
}

// decompressTo writes r decompressed to w, reads r to its end, and
// returns how many bytes it wrote.
func decompressTo(r io.Reader, w io.Writer) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(4)
	var in io.Reader = br
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, err
		}
		in = zr
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, image.ZstdOptions()...)
		if err != nil {
			return 0, err
		}
		defer zr.Close()
		in = zr
	}
	n, err := io.Copy(w, in)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return 0, err
	}
	return n, nil
}
