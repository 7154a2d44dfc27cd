// Command genimage writes the image benchmark's corpus (scripts/bench-image.sh):
// one image of -mb MiB of source-like text in layers of 64 files of 1 MiB
// each, as three OCI layouts that differ only in how the layers are stored
// (oci-gzip: tar+gzip, oci-zstd: tar+zstd, oci-none: plain tar, the three
// layer media types of the OCI image spec, which containerd and Docker
// pull), and the same files unpacked (rootfs), so that `bks detect image
// --tarball` and `bks detect files` scan the same content. It is built with
// go-containerregistry, as images in the tests are.
//
// With -floor LAYOUT it instead decompresses every layer blob of the OCI
// layout (gzip and zstd with klauspost/compress, as bks does; plain tar
// layers are only read), -workers at a time, to io.Discard: the floor that
// `bks detect image` cannot go under, timed by the caller.
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
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/bks-dev/bks/internal/testkeys"
)

// fileSize and perLayer are the size of each file and how many files a
// layer holds (-mb files in all: -mb MiB); tests make them small.
var fileSize, perLayer = 1 << 20, 64

// encodings are the layouts written, by directory name: the layer media
// type and how a layer's tar is stored.
var encodings = []struct {
	dir      string
	mt       types.MediaType
	compress func([]byte) ([]byte, error)
}{
	{"oci-gzip", types.OCILayer, gzipped},
	{"oci-zstd", types.OCILayerZStd, zstded},
	{"oci-none", types.OCIUncompressedLayer, func(b []byte) ([]byte, error) { return b, nil }},
}

func main() {
	mb := flag.Int("mb", 1024, "image size, MiB")
	out := flag.String("out", "", "directory to write oci-gzip/, oci-zstd/, oci-none/ and rootfs/ to (must not exist)")
	floor := flag.String("floor", "", "an OCI layout: decompress its layers to nowhere instead")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "layers decompressed at once (-floor)")
	flag.Parse()
	if *floor != "" {
		if err := decompressAll(*floor, *workers); err != nil {
			log.Fatalf("genimage: %v", err)
		}
		return
	}
	if *out == "" || *mb <= 0 {
		log.Fatal("genimage: -out and a positive -mb are needed")
	}
	if err := gen(*out, *mb); err != nil {
		log.Fatalf("genimage: %v", err)
	}
}

func gen(out string, mb int) error {
	imgs := make([]v1.Image, len(encodings))
	for i := range imgs {
		imgs[i] = mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		imgs[i] = mutate.ConfigMediaType(imgs[i], types.OCIConfigJSON)
	}
	for l := 0; l*perLayer < mb; l++ {
		tarball, err := layerTar(filepath.Join(out, "rootfs"), l*perLayer, min(mb, (l+1)*perLayer))
		if err != nil {
			return err
		}
		for i, e := range encodings {
			layer, err := storedLayer(tarball, e.mt, e.compress)
			if err != nil {
				return err
			}
			if imgs[i], err = mutate.AppendLayers(imgs[i], layer); err != nil {
				return err
			}
		}
	}
	for i, e := range encodings {
		lp, err := layout.Write(filepath.Join(out, e.dir), empty.Index)
		if err != nil {
			return err
		}
		if err := lp.AppendImage(imgs[i]); err != nil {
			return err
		}
	}
	return nil
}

// layerTar writes files [from, to) to rootfs and returns them as a tar.
func layerTar(rootfs string, from, to int) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := from; i < to; i++ {
		block := testkeys.SourceText(fileSize, uint64(i%8+1))
		name := fmt.Sprintf("srv/d%03d/f%05d.txt", i/perLayer, i)
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(fileSize)}); err != nil {
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
	return buf.Bytes(), nil
}

// storedLayer is the layer whose blob is compress(tarball), of media type
// mt, its DiffID the digest of tarball (compressed here once; a layer of
// go-containerregistry's tarball package would compress twice: for the
// digest, then for the layout).
func storedLayer(tarball []byte, mt types.MediaType, compress func([]byte) ([]byte, error)) (v1.Layer, error) {
	blob, err := compress(tarball)
	if err != nil {
		return nil, err
	}
	diffID, _, err := v1.SHA256(bytes.NewReader(tarball))
	if err != nil {
		return nil, err
	}
	return &layer{Layer: static.NewLayer(blob, mt), diffID: diffID}, nil
}

// layer is a static layer with the DiffID of its uncompressed tar.
type layer struct {
	v1.Layer
	diffID v1.Hash
}

func (l *layer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// gzipped is b at gzip's default level, as `docker build` stores layers.
func gzipped(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	err = zw.Close()
	return buf.Bytes(), err
}

// zstded is b at zstd's default level (3), written as a stream (frames
// of an 8 MiB window, no content size), as `docker buildx --output
// compression=zstd` (buildkit, with this same encoder) stores layers.
func zstded(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(zw, bytes.NewReader(b)); err != nil {
		return nil, err
	}
	err = zw.Close()
	return buf.Bytes(), err
}
