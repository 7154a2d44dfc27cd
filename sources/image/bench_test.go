package image_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testkeys"
	bksscan "github.com/bks-dev/bks/scan"
	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/files"
	"github.com/bks-dev/bks/sources/image"
)

// BenchmarkImageVsFiles scans the same content as an image (an OCI layout
// on disk: gzip layers of 64 files each) and unpacked on disk (detect
// files), through the detector engine. BKS_BENCH_IMAGE_MB sets the size
// (default 64; the figure is for 1024). Compare the two MB/s: the
// image costs decompression on top.
func BenchmarkImageVsFiles(b *testing.B) {
	mb := 64
	if v, err := strconv.Atoi(os.Getenv("BKS_BENCH_IMAGE_MB")); err == nil && v > 0 {
		mb = v
	}
	const fileSize, perLayer = 1 << 20, 64
	dir := b.TempDir()
	unpacked := filepath.Join(dir, "rootfs")
	block := testkeys.SourceText(fileSize, 3)
	img := empty.Image
	for l := 0; l*perLayer < mb; l++ {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for i := l * perLayer; i < min(mb, (l+1)*perLayer); i++ {
			name := fmt.Sprintf("srv/d%03d/f%05d.txt", i/perLayer, i)
			if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: fileSize}); err != nil {
				b.Fatal(err)
			}
			tw.Write(block)
			p := filepath.Join(unpacked, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(p, block, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		tw.Close()
		data := buf.Bytes()
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
			tarball.WithCompressionLevel(gzip.DefaultCompression))
		if err != nil {
			b.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			b.Fatal(err)
		}
	}
	oci := filepath.Join(dir, "oci")
	writeLayout(b, oci, img)
	runtime.GC()
	eng := detectors.New(detectors.Options{})
	fail := func(p string, err error) { b.Fatal(p, err) }
	run := func(b *testing.B, src func() sources.Source) {
		b.SetBytes(int64(mb) * fileSize)
		for b.Loop() {
			sc := bksscan.Scanner{Engine: eng}
			if err := sc.Run(context.Background(), src(), func(findings.Finding) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("image", func(b *testing.B) {
		run(b, func() sources.Source { return image.New(image.Options{Tarballs: []string{oci}, OnError: fail}) })
	})
	b.Run("files", func(b *testing.B) {
		run(b, func() sources.Source { return files.New(files.Options{Paths: []string{unpacked}, OnError: fail}) })
	})
}
