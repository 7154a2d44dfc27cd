// Command genimage writes the image benchmark's corpus (scripts/bench-image.sh):
// an OCI layout holding one image of -mb MiB of source-like text in gzip
// layers of 64 files of 1 MiB each, and the same files unpacked, so that
// `bks detect image --tarball` and `bks detect files` scan the same content.
// It is built with go-containerregistry, as images in the tests are.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/klauspost/compress/gzip"

	"github.com/bks-dev/bks/internal/testkeys"
)

const fileSize, perLayer = 1 << 20, 64

func main() {
	mb := flag.Int("mb", 1024, "image size, MiB")
	out := flag.String("out", "", "directory to write oci/ and rootfs/ to (must not exist)")
	flag.Parse()
	if *out == "" || *mb <= 0 {
		log.Fatal("genimage: -out and a positive -mb are needed")
	}
	if err := gen(*out, *mb); err != nil {
		log.Fatalf("genimage: %v", err)
	}
}

func gen(out string, mb int) error {
	img := empty.Image
	for l := 0; l*perLayer < mb; l++ {
		layer, err := layerOf(filepath.Join(out, "rootfs"), l*perLayer, min(mb, (l+1)*perLayer))
		if err != nil {
			return err
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			return err
		}
	}
	lp, err := layout.Write(filepath.Join(out, "oci"), empty.Index)
	if err != nil {
		return err
	}
	return lp.AppendImage(img)
}

// layerOf writes files [from, to) to rootfs and returns them as a gzip
// layer (default level; compressed here once, go-containerregistry would
// compress twice: for the digest, then for the layout).
func layerOf(rootfs string, from, to int) (v1.Layer, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	for i := from; i < to; i++ {
		block := testkeys.SourceText(fileSize, uint64(i%8+1))
		name := fmt.Sprintf("srv/d%03d/f%05d.txt", i/perLayer, i)
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: fileSize}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(block); err != nil {
			return nil, err
		}
		p := filepath.Join(rootfs, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, block, 0o644); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}
