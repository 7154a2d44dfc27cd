package inflate

import (
	"bytes"
	"hash/adler32"
	"math/rand/v2"
	"testing"
)

// TestAdler32 compares checksum with hash/adler32 around the 8-byte steps
// and the 5552-byte reductions, on all-0xff bytes (the largest sums) and
// random ones.
func TestAdler32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 3*5552+17)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	for _, data := range [][]byte{bytes.Repeat([]byte{0xff}, 3*5552+17), random} {
		for n := range len(data) {
			if n > 40 && n%5552 > 9 && n%5552 < 5543 && n%97 != 0 {
				continue
			}
			if got, want := checksum(data[:n]), adler32.Checksum(data[:n]); got != want {
				t.Fatalf("%d bytes of %x...: %08x, want %08x", n, data[:1], got, want)
			}
		}
	}
}

func BenchmarkAdler32(b *testing.B) {
	data := make([]byte, 4096)
	for _, f := range []struct {
		name string
		f    func([]byte) uint32
	}{{"ours", checksum}, {"hash", adler32.Checksum}} {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				f.f(data)
			}
		})
	}
}
