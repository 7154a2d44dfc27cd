package inflate

import (
	"bytes"
	stdzlib "compress/zlib"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zlib"
)

// The benchmark corpora: real is every 43rd entry of git/git's pack (about
// 20,000, in pack order), small those of 200 to 500 bytes of zlib data,
// large this module's Go files (a few MB of text) at level 6.
// They are built once, by the first benchmark that asks (the benchmarks
// of a package run one after another); with no pack to read, that
// benchmark is skipped.
var corporaBuilt map[string][]object

func corpora(b *testing.B) map[string][]object {
	b.Helper()
	if corporaBuilt != nil {
		return corporaBuilt
	}
	c := map[string][]object{}
	real := packObjects(b, gitGit, 43, 20000)
	c["real"] = real
	for _, o := range real {
		if len(o.z) >= 200 && len(o.z) <= 500 {
			c["small"] = append(c["small"], o)
		}
	}
	var text []byte
	filepath.WalkDir("../../../..", func(p string, d os.DirEntry, err error) error {
		if err == nil && filepath.Ext(p) == ".go" && len(text) < 4<<20 {
			b, _ := os.ReadFile(p)
			text = append(text, b...)
		}
		return nil
	})
	c["large"] = []object{{size: len(text), z: compress(b, 6, text)}}
	corporaBuilt = c
	return c
}

// decoder is one way to inflate an object into dst, exactly.
type decoder func(dst, src []byte) error

func ours() decoder {
	var d Decoder
	return func(dst, src []byte) error {
		_, _, err := d.Zlib(dst, src)
		return err
	}
}

// readerExact is pack's inflater.exact over a reused zlib reader.
func readerExact(newReader func(io.Reader) (io.ReadCloser, error), reset func(io.ReadCloser, io.Reader) error) decoder {
	var zr io.ReadCloser
	var r bytes.Reader
	var one [1]byte
	return func(dst, src []byte) error {
		r.Reset(src)
		var err error
		if zr == nil {
			zr, err = newReader(&r)
		} else {
			err = reset(zr, &r)
		}
		if err != nil {
			return err
		}
		if _, err := io.ReadFull(zr, dst); err != nil {
			return err
		}
		if n, err := zr.Read(one[:]); n != 0 || err != io.EOF {
			return ErrTooLong
		}
		return nil
	}
}

func klauspost() decoder {
	return readerExact(zlib.NewReader, func(zr io.ReadCloser, r io.Reader) error { return zr.(zlib.Resetter).Reset(r, nil) })
}

func stdlib() decoder {
	return readerExact(stdzlib.NewReader, func(zr io.ReadCloser, r io.Reader) error { return zr.(stdzlib.Resetter).Reset(r, nil) })
}

func BenchmarkInflate(b *testing.B) {
	c := corpora(b)
	for _, name := range []string{"real", "small", "large"} {
		benchDecoders(b, name, c[name])
	}
	// Zlib's src may run on past the stream (a mapped pack from the
	// object's data on): then its last bytes need no byte-wise refill.
	var slack []object
	for _, o := range c["small"] {
		o.z = append(o.z[:len(o.z):len(o.z)], make([]byte, 8)...)
		slack = append(slack, o)
	}
	b.Run("small+8/inflate", func(b *testing.B) { benchOne(b, ours(), slack) })
}

// BenchmarkBlobs inflates the pack entries (whole or delta) of the blobs
// listed in $INFLATE_BLOB_LIST, as `git cat-file --batch` reads them.
func BenchmarkBlobs(b *testing.B) {
	list := os.Getenv("INFLATE_BLOB_LIST")
	if list == "" {
		b.Skip("set INFLATE_BLOB_LIST to a file of blob ids of " + gitGit)
	}
	objs := listedObjects(b, gitGit, list)
	compressed := 0
	for _, o := range objs {
		compressed += len(o.z)
	}
	b.Logf("%d objects, %d bytes of zlib data", len(objs), compressed)
	benchDecoders(b, "blobs", objs)
}

// benchDecoders inflates objs with each decoder.
func benchDecoders(b *testing.B, name string, objs []object) {
	for _, d := range []struct {
		name string
		new  func() decoder
	}{{"inflate", ours}, {"klauspost", klauspost}, {"stdlib", stdlib}} {
		b.Run(name+"/"+d.name, func(b *testing.B) { benchOne(b, d.new(), objs) })
	}
}

// benchOne inflates objs with dec, reporting thread CPU time beside wall
// time.
func benchOne(b *testing.B, dec decoder, objs []object) {
	total, maxSize := 0, 0
	for _, o := range objs {
		total += o.size
		maxSize = max(maxSize, o.size)
	}
	buf := make([]byte, maxSize)
	b.SetBytes(int64(total))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu := threadCPU()
	for b.Loop() {
		for _, o := range objs {
			if err := dec(buf[:o.size], o.z); err != nil {
				b.Fatal(err)
			}
		}
	}
	if cpu = threadCPU() - cpu; cpu > 0 {
		b.ReportMetric(float64(cpu)/float64(b.N*len(objs)), "cpu-ns/object")
		b.ReportMetric(float64(total)*float64(b.N)/float64(cpu)*1e3, "cpu-MB/s")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(objs)), "ns/object")
}
