package image_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/bks-dev/bks/internal/testregistry"
	"github.com/bks-dev/bks/sources/files"
	"github.com/bks-dev/bks/sources/image"
)

// TestLayerDigestMismatch: a man in the middle (a proxy in front of the
// registry) answers one image's layer with other bytes than the digest
// its manifest names. bks reports an error naming the image and the
// layer, never reports what the forged bytes hold (a key planted in them)
// as the image's content, and goes on to the next image, whose key is
// found.
func TestLayerDigestMismatch(t *testing.T) {
	reg := testregistry.Start(t)
	real, forged, good := key(61), key(62), key(63)
	// The real layer holds a key and 1 MiB of random bytes; the forged
	// one is a valid gzip tar of the same length (its gzip header's extra
	// field fills the gap: the size check passes), the planted key first,
	// then 992 KiB of random bytes, so that a reader scanning as it reads
	// sees the key long before the end of the stream, where the digest is
	// checked.
	rnd := rand.New(rand.NewPCG(1, 2))
	noise := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return b
	}
	evil, layer := appendLayer(t, empty.Image, "COPY", testregistry.File{Name: "app/.env", Data: []byte("KEY=" + real + "\n")}, testregistry.File{Name: "app/blob", Data: noise(1 << 20)})
	fine, _ := appendLayer(t, empty.Image, "COPY", testregistry.File{Name: "app/.env", Data: []byte("KEY=" + good + "\n")})
	realSize, err := layerSize(evil)
	if err != nil {
		t.Fatal(err)
	}
	forgedBytes := forgedLayer(t, realSize, []testregistry.File{{Name: "app/.env", Data: []byte("KEY=" + forged + "\n")}, {Name: "app/pad", Data: noise(1<<20 - 32<<10)}})
	testregistry.Push(t, reg+"/acme/evil:1", evil)
	testregistry.Push(t, reg+"/acme/fine:1", fine)

	target, _ := url.Parse("http://" + reg)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var forgedServed int
	mitm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+layer.String()) {
			forgedServed++
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Docker-Content-Digest", layer.String()) // the lie goes all the way
			w.Header().Set("Content-Length", strconv.Itoa(len(forgedBytes)))
			_, _ = w.Write(forgedBytes)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer mitm.Close()
	host := mitm.Listener.Addr().String()
	evilRef, fineRef := host+"/acme/evil:1", host+"/acme/fine:1"

	// One worker reads each layer as it scans it; more inflate layers
	// ahead into temporary files: both paths must hold.
	for _, workers := range []int{1, 4} {
		t.Run("workers="+strconv.Itoa(workers), func(t *testing.T) {
			res := scan(t, image.Options{Refs: []string{evilRef, fineRef}, Workers: workers}, real, forged, good)
			if forgedServed == 0 {
				t.Fatal("the forged layer was never asked for")
			}
			if h := res.find(forged); len(h) != 0 {
				t.Errorf("the forged layer's key was reported as the image's: %+v", h)
			}
			if len(res.find(good)) != 1 {
				t.Errorf("the next image's key: %+v, errors %q", res.hits, res.errs)
			}
			named := false
			for _, e := range res.errs {
				if strings.Contains(e, "acme/evil:1") && strings.Contains(e, layer.String()) {
					named = true
				}
			}
			if !named {
				t.Errorf("errors %q: want one naming %s and layer %s", res.errs, evilRef, layer)
			}
		})
	}
}

func layerSize(img v1.Image) (int64, error) {
	ls, err := img.Layers()
	if err != nil || len(ls) != 1 {
		return 0, fmt.Errorf("layers: %d, %v", len(ls), err)
	}
	return ls[0].Size()
}

// forgedLayer is a gzip tar of files exactly size bytes long: the gzip
// header's extra field (up to 64 KiB; Go's reader takes a comment of 512
// bytes at most) takes the bytes the content does not.
func forgedLayer(t *testing.T, size int64, files []testregistry.File) []byte {
	t.Helper()
	build := func(extra []byte) []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Extra = extra
		tw := tar.NewWriter(zw)
		for _, f := range files {
			if err := tw.WriteHeader(&tar.Header{Name: f.Name, Mode: 0o644, Size: int64(len(f.Data)), Typeflag: tar.TypeReg}); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write(f.Data); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	bare := build(nil)
	gap := size - int64(len(bare)) - 2 // the extra field's length
	if gap < 0 || gap > 0xffff {
		t.Fatalf("the forged content (%d bytes) does not fit the layer (%d) with an extra field", len(bare), size)
	}
	out := build(bytes.Repeat([]byte{'x'}, int(gap)))
	if int64(len(out)) != size {
		t.Fatalf("forged layer %d bytes, want %d", len(out), size)
	}
	return out
}

// TestCutLayerDigestChecked: a layer cut short by the archive limits
// (here MaxTotalBytes, as a decompression bomb would be) still has its
// blob checked against its digest: the rest of the blob is read, not
// inflated. A man in the middle serving a forged blob of the right size,
// a planted key within the part scanned, gets an error naming the layer
// and nothing of it scanned (before the fix, the cut layer was scanned
// unchecked and the planted key reported as the image's). The real blob,
// cut the same way, is scanned up to the limit, the limit reported; a
// blob whose rest cannot be read is scanned up to the limit and reported
// as unverified.
func TestCutLayerDigestChecked(t *testing.T) {
	reg := testregistry.Start(t)
	real, forged := key(64), key(65)
	rnd := rand.New(rand.NewPCG(3, 4))
	noise := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return b
	}
	img, layer := appendLayer(t, empty.Image, "COPY", testregistry.File{Name: "app/.env", Data: []byte("KEY=" + real + "\n")}, testregistry.File{Name: "app/blob", Data: noise(1 << 20)})
	size, err := layerSize(img)
	if err != nil {
		t.Fatal(err)
	}
	forgedBytes := forgedLayer(t, size, []testregistry.File{{Name: "app/.env", Data: []byte("KEY=" + forged + "\n")}, {Name: "app/pad", Data: noise(1<<20 - 32<<10)}})
	realBytes := compressedBytes(t, img)
	testregistry.Push(t, reg+"/acme/cut:1", img)

	target, _ := url.Parse("http://" + reg)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var serve string // how the layer's blob is answered: "real", "forged", "short"
	mitm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if serve == "real" || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+layer.String()) {
			proxy.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Docker-Content-Digest", layer.String())
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		if serve == "forged" {
			_, _ = w.Write(forgedBytes)
			return
		}
		// "short": the real bytes, three quarters of them, then the
		// connection ends (net/http's client sees an unexpected EOF).
		_, _ = w.Write(realBytes[:len(realBytes)*3/4])
	}))
	defer mitm.Close()
	ref := mitm.Listener.Addr().String() + "/acme/cut:1"
	limits := files.ArchiveLimits{MaxTotalBytes: 256 << 10}

	for _, workers := range []int{1, 4} {
		for _, how := range []string{"forged", "real", "short"} {
			t.Run(how+"/workers="+strconv.Itoa(workers), func(t *testing.T) {
				serve = how
				res := scan(t, image.Options{Refs: []string{ref}, Workers: workers, ArchiveLimits: limits}, real, forged)
				t.Logf("reported: %q", res.errs)
				if len(res.errs) != 1 || !strings.Contains(res.errs[0], layer.String()) {
					t.Fatalf("errors %q, want one naming layer %s", res.errs, layer)
				}
				e := res.errs[0]
				switch how {
				case "forged":
					if h := res.find(forged); len(h) != 0 {
						t.Errorf("the forged layer's key was reported as the image's: %+v", h)
					}
					if !strings.Contains(e, "do not match its digest") {
						t.Errorf("error %q: want a digest mismatch", e)
					}
				case "real", "short":
					if len(res.find(real)) != 1 {
						t.Errorf("the key before the limit: %+v", res.hits)
					}
					if !strings.Contains(e, "MaxTotalBytes") {
						t.Errorf("error %q: want the limit", e)
					}
					if unverified := strings.Contains(e, "unverified"); unverified != (how == "short") {
						t.Errorf("error %q: unverified is %v, want %v", e, unverified, how == "short")
					}
				}
			})
		}
	}
}

// compressedBytes is the blob of img's one layer.
func compressedBytes(t *testing.T, img v1.Image) []byte {
	t.Helper()
	ls, err := img.Layers()
	if err != nil || len(ls) != 1 {
		t.Fatalf("layers: %d, %v", len(ls), err)
	}
	rc, err := ls[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
