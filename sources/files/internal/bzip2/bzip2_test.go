package bzip2

import (
	"bytes"
	stdbzip2 "compress/bzip2"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The files of testdata/ are from Go's source tree (compress/bzip2,
// archive/tar and crypto/rsa testdata; Go's licence, LICENSE).

// compress runs the bzip2 tool (Go cannot write bzip2) at level 1-9.
func compress(tb testing.TB, level int, data []byte) []byte {
	tb.Helper()
	if _, err := exec.LookPath("bzip2"); err != nil {
		tb.Skip("bzip2 not installed (scripts/install-test-tools.sh installs it)")
	}
	cmd := exec.Command("bzip2", "-c", fmt.Sprintf("-%d", level))
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// repetitive is text like GOROOT's regexp/testdata/re2-exhaustive.txt:
// a few line shapes repeated with small changes, which bzip2 shrinks ~150
// times.
func repetitive(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "strings\n\"%s\"\n\"%s\"\nregexps\n\"(?:a|b)%c\"\n-;-;-;-\n0-%d;0-%d;0-%d;0-%d\n",
			strings.Repeat("ab", i%7), strings.Repeat("ba", i%5), 'a'+i%3, i%9, i%4, i%9, i%4)
	}
	return b.Bytes()[:n]
}

// runs holds runs of every length from 1 to 300 of changing bytes: RLE1's
// cases (4 equal bytes and a count, counts 0-251, runs longer than one
// count).
func runs() []byte {
	var b bytes.Buffer
	for n := 1; n <= 300; n++ {
		b.Write(bytes.Repeat([]byte{byte(n * 7)}, n))
	}
	return b.Bytes()
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// inputs are the streams compared with compress/bzip2: Go's test files,
// and the bzip2 tool's output on the shapes of data the decoder has cases
// for.
func inputs(tb testing.TB) map[string][]byte {
	tb.Helper()
	if _, err := exec.LookPath("bzip2"); err != nil {
		tb.Skip("bzip2 not installed (scripts/install-test-tools.sh installs it)")
	}
	inputsOnce.Do(func() { inputsMap = makeInputs(tb) })
	if inputsMap == nil {
		tb.Fatal("inputs failed to build")
	}
	return inputsMap
}

var (
	inputsOnce sync.Once
	inputsMap  map[string][]byte
)

func makeInputs(tb testing.TB) map[string][]byte {
	tb.Helper()
	in := map[string][]byte{}
	files, err := filepath.Glob("testdata/*.bz2")
	if err != nil || len(files) == 0 {
		tb.Fatalf("testdata: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		in[filepath.Base(f)] = b
	}
	in["repetitive -9, 4 blocks"] = compress(tb, 9, repetitive(3<<20))
	in["repetitive -1"] = compress(tb, 1, repetitive(1<<20))
	in["runs"] = compress(tb, 9, runs())
	in["random -1, 3 blocks"] = compress(tb, 1, randomBytes(250_000, 1))
	in["one byte"] = compress(tb, 9, []byte("x"))
	in["empty"] = compress(tb, 9, nil)
	in["zeros"] = compress(tb, 9, make([]byte, 1<<20))
	in["concatenated"] = append(compress(tb, 1, runs()), compress(tb, 9, repetitive(200_000))...)
	return in
}

type result struct {
	out []byte
	err string
}

// decode reads all of r with reads of size bytes (0: io.ReadAll), up to
// max bytes.
func decode(r io.Reader, size, max int) result {
	r = io.LimitReader(r, int64(max))
	var out []byte
	var err error
	if size == 0 {
		out, err = io.ReadAll(r)
	} else {
		buf := make([]byte, size)
		for {
			var n int
			n, err = r.Read(buf)
			out = append(out, buf[:n]...)
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				break
			}
		}
	}
	res := result{out: out}
	if err != nil {
		res.err = err.Error()
	}
	return res
}

// same compares this package with compress/bzip2 on data, read size
// bytes at a time (0: at once), up to max bytes: the same bytes, then the
// same error (or none).
func same(t *testing.T, name string, data []byte, size, max int) {
	t.Helper()
	want := decode(stdbzip2.NewReader(bytes.NewReader(data)), size, max)
	got := decode(NewReader(bytes.NewReader(data)), size, max)
	if !bytes.Equal(got.out, want.out) {
		i := 0
		for i < len(got.out) && i < len(want.out) && got.out[i] == want.out[i] {
			i++
		}
		t.Errorf("%s: %d bytes, compress/bzip2 %d; they differ from byte %d", name, len(got.out), len(want.out), i)
	}
	if got.err != want.err {
		t.Errorf("%s: error %q, compress/bzip2 %q", name, got.err, want.err)
	}
}

// TestSameAsStdlib: whole streams, read at once and a few bytes at a time
// (a run's repeats then span reads), give the bytes and the errors of
// compress/bzip2.
func TestSameAsStdlib(t *testing.T) {
	for name, data := range inputs(t) {
		same(t, name, data, 0, raceMax)
		// The first MB: several -1 blocks, all of "runs".
		same(t, name+", reads of 7 bytes", data, 7, 1<<20)
	}
}

// TestDamagedSameAsStdlib: streams cut short, with bytes flipped or
// overwritten, give the same bytes and the same error as compress/bzip2
// (checksum mismatch, truncation, bad Huffman data…). A flipped byte in the
// block's data can give links that form several cycles, which the
// segmented walk must follow as the byte-at-a-time walk did.
func TestDamagedSameAsStdlib(t *testing.T) {
	in := inputs(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, name := range []string{"e.txt.bz2", "runs", "repetitive -1", "random -1, 3 blocks", "concatenated", "pass-sawtooth.bz2"} {
		data := in[name]
		for _, cut := range []int{4, 10, 11, 40, len(data) / 3, len(data) / 2, len(data) - 5, len(data) - 1} {
			same(t, fmt.Sprintf("%s cut at %d", name, cut), data[:cut], 0, raceMax)
		}
		for range damagedPerInput {
			d := bytes.Clone(data)
			i := 10 + r.IntN(len(d)-10)
			if r.IntN(2) == 0 {
				d[i] ^= 1 << r.IntN(8)
			} else {
				d[i] = byte(r.Uint32())
			}
			same(t, fmt.Sprintf("%s with byte %d changed", name, i), d, 0, raceMax)
		}
	}
}

// FuzzSameAsStdlib: any input gives the bytes and the error of
// compress/bzip2.
func FuzzSameAsStdlib(f *testing.F) {
	for _, name := range []string{"pass-random1.bz2", "pass-random2.bz2", "random.data.bz2", "gnu-sparse-many-zeros.tar.bz2"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("BZh91AY&SY\xe5\x7d\x12\x8f\x00\x00\x01\x4c\x80\x00\x10\x00\x02\x00\x08\x01\x00\x20\x00\x21\x9a\x68\x33\x4d\x17\x3c\x5d\xc9\x14\xe1\x42\x43\x95\xf4\x4a\x3c")) // bzip2 -9 of "K=v\n"
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 8 << 20
		want := decode(stdbzip2.NewReader(bytes.NewReader(data)), 0, max)
		got := decode(NewReader(bytes.NewReader(data)), 0, max)
		if !bytes.Equal(got.out, want.out) || got.err != want.err {
			t.Fatalf("%d bytes, error %q; compress/bzip2: %d bytes, error %q", len(got.out), got.err, len(want.out), want.err)
		}
	})
}

// re2Exhaustive is GOROOT's regexp/testdata/re2-exhaustive.txt.bz2, the
// file that bounds bks's time on the bench's Go tree (428 kB to 64 MB), or
// when GOROOT cannot be read, text of the same kind compressed alike.
func re2Exhaustive(b *testing.B) []byte {
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "src", "regexp", "testdata", "re2-exhaustive.txt.bz2")
		if data, err := os.ReadFile(p); err == nil {
			return data
		}
	}
	b.Log("GOROOT's re2-exhaustive.txt.bz2 not found: using generated text")
	return compress(b, 9, repetitive(64<<20))
}

// BenchmarkDecode decodes re2-exhaustive.txt.bz2 with this package and
// with compress/bzip2; MB/s counts decompressed bytes.
func BenchmarkDecode(b *testing.B) {
	data := re2Exhaustive(b)
	size, err := io.Copy(io.Discard, NewReader(bytes.NewReader(data)))
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range []struct {
		name string
		open func(io.Reader) io.Reader
	}{{"bks", NewReader}, {"compress-bzip2", stdbzip2.NewReader}} {
		b.Run(d.name, func(b *testing.B) {
			b.SetBytes(size)
			buf := make([]byte, 256<<10)
			for b.Loop() {
				r := d.open(bytes.NewReader(data))
				for {
					_, err := r.Read(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
