package inflate

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The tests decode with Decoders from a pool, as bks's workers each reuse
// one, and from several goroutines at once (TestConcurrent, under -race).
var pool = sync.Pool{New: func() any { return new(Decoder) }}

// Zlib is Decoder.Zlib with a pooled Decoder.
func Zlib(dst, src []byte) (out []byte, consumed int, err error) {
	d := pool.Get().(*Decoder)
	out, consumed, err = d.Zlib(dst, src)
	pool.Put(d)
	return out, consumed, err
}

// stdZlib decodes src with compress/zlib: its output (at most 16 MiB:
// big is set past that), how many bytes of src it used, and its error.
func stdZlib(src []byte) (out []byte, used int, big bool, err error) {
	r := bytes.NewReader(src)
	zr, err := zlib.NewReader(r)
	if err != nil {
		return nil, 0, false, err
	}
	out, err = io.ReadAll(io.LimitReader(zr, 16<<20+1))
	if err == nil {
		err = zr.Close()
	}
	return out, len(src) - r.Len(), len(out) > 16<<20, err
}

// same fails unless Zlib agrees with compress/zlib on src: the same bytes
// and length used when it accepts src, an error for every size when it
// refuses it.
func same(t *testing.T, src []byte) {
	t.Helper()
	want, wantUsed, big, wantErr := stdZlib(src)
	if big {
		return
	}
	if wantErr != nil {
		for _, size := range []int{0, len(want), len(want) + 1, 2*len(want) + 100} {
			if _, _, err := Zlib(make([]byte, size), src); err == nil {
				t.Fatalf("compress/zlib says %v after %d bytes; Zlib into %d bytes says nothing", wantErr, len(want), size)
			}
		}
		return
	}
	got, used, err := Zlib(make([]byte, len(want)), src)
	if err != nil {
		t.Fatalf("compress/zlib reads %d bytes (of %d) from %d; Zlib says %v", len(want), len(src), wantUsed, err)
	}
	if !bytes.Equal(got, want) || used != wantUsed {
		t.Fatalf("Zlib gives %d bytes from %d, compress/zlib %d from %d; equal: %v", len(got), used, len(want), wantUsed, bytes.Equal(got, want))
	}
	for _, size := range []int{len(want) - 1, len(want) + 1} {
		if size < 0 {
			continue
		}
		if _, _, err := Zlib(make([]byte, size), src); err == nil {
			t.Fatalf("Zlib into %d bytes of a %d-byte stream says nothing", size, len(want))
		}
	}
}

func compress(tb testing.TB, level int, data []byte) []byte {
	var b bytes.Buffer
	w, err := zlib.NewWriterLevel(&b, level)
	if err != nil {
		tb.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// sampleFiles are some of this package's own files, as text inputs.
func sampleFiles(tb testing.TB) [][]byte {
	names, _ := filepath.Glob("*.go")
	var files [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, b)
	}
	return files
}

func TestRoundTrip(t *testing.T) {
	inputs := append(sampleFiles(t), nil, []byte("a"), bytes.Repeat([]byte("ab"), 5000), bytes.Repeat([]byte{0}, 100000))
	for _, in := range inputs {
		for level := -2; level <= 9; level++ {
			same(t, compress(t, level, in))
		}
	}
}

func TestErrors(t *testing.T) {
	hello := compress(t, 6, []byte("hello, hello, hello world"))
	if _, _, err := Zlib(make([]byte, 24), hello); !errors.Is(err, ErrTooLong) {
		t.Errorf("too small: %v", err)
	}
	if _, _, err := Zlib(make([]byte, 26), hello); !errors.Is(err, ErrTooShort) {
		t.Errorf("too large: %v", err)
	}
}

// TestConcurrent decodes from several goroutines through the pool (run
// with -race): each gets its own Decoder.
func TestConcurrent(t *testing.T) {
	files := sampleFiles(t)
	var streams [][]byte
	for i, f := range files {
		streams = append(streams, compress(t, 1+i%9, f))
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := range 20 {
				k := (g + i) % len(files)
				out, _, err := Zlib(make([]byte, len(files[k])), streams[k])
				if err == nil && !bytes.Equal(out, files[k]) {
					err = errors.New("wrong bytes")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
