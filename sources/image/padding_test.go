package image_test

import (
	"archive/tar"
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bks-dev/bks/internal/testregistry"
	"github.com/bks-dev/bks/sources/files"
	"github.com/bks-dev/bks/sources/image"
)

// TestLimitInTrailingPadding: a layer's tar is followed by padding after
// its end-of-archive blocks (tar pads to its record size: 10 KiB by
// default), and a limit that falls in that padding cuts the layer all the
// same: it is reported, in a registry (where a cut layer's blob is still
// checked against its digest: the cut is the error that ends the stream
// read back) and in an OCI layout (streamed), by one worker or more.
// Before the fix the stream was left at the tar's end: the cut was never
// seen.
func TestLimitInTrailingPadding(t *testing.T) {
	k := key(95)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := []byte("KEY=" + k + "\n")
	if err := tw.WriteHeader(&tar.Header{Name: "k.env", Mode: 0o644, Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	tw.Write(data)
	tw.Close()
	end := buf.Len()                // the end-of-archive blocks included
	buf.Write(make([]byte, 64<<10)) // the padding
	raw := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := l.Digest()
	host := testregistry.Start(t)
	ref := host + "/acme/padded:1"
	testregistry.Push(t, ref, img)
	dir := t.TempDir()
	writeLayout(t, dir, img)
	limits := files.ArchiveLimits{MaxTotalBytes: int64(end) + 16<<10}
	for _, where := range []string{"registry", "layout"} {
		for _, workers := range []int{1, 4} {
			t.Run(where+"/workers="+strconv.Itoa(workers), func(t *testing.T) {
				opts := image.Options{Workers: workers, ArchiveLimits: limits}
				if where == "registry" {
					opts.Refs = []string{ref}
				} else {
					opts.Tarballs = []string{dir}
				}
				res := scan(t, opts, k)
				if len(res.find(k)) != 1 {
					t.Errorf("the key before the tar's end: %+v", res.hits)
				}
				if len(res.errs) != 1 || !strings.Contains(res.errs[0], d.String()) || !strings.Contains(res.errs[0], "MaxTotalBytes") {
					t.Errorf("errors %q, want the layer %s cut by MaxTotalBytes", res.errs, d)
				}
			})
		}
	}
}
