package detectors

import (
	"encoding/base64"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testkeys"
)

// randomFilter builds the filter of n random pairs drawn from alphabet.
func randomFilter(rng *rand.Rand, n int, alphabet string) (pairFilter, map[uint16]bool) {
	var hit [1 << 16]uint8
	pairs := map[uint16]bool{}
	for range n {
		w := uint16(alphabet[rng.IntN(len(alphabet))]) | uint16(alphabet[rng.IntN(len(alphabet))])<<8
		hit[w] = 1
		pairs[w] = true
	}
	f, _, _ := newPairFilter(&hit)
	return f, pairs
}

// TestPairFilterPassesItsPairs: the filter is a superset of its pairs,
// however many there are, and blockMask is pass at each position.
func TestPairFilterPassesItsPairs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 50; trial++ {
		f, pairs := randomFilter(rng, 1+rng.IntN(maxFilterPairs), "ABSKIQUaeik-09/+= \n\x00\xff")
		for w := range pairs {
			if f.pass(byte(w), byte(w>>8)) == 0 {
				t.Fatalf("trial %d: pair %q does not pass its own filter", trial, []byte{byte(w), byte(w >> 8)})
			}
		}
		data := make([]byte, 33)
		for i := range data {
			data[i] = byte(rng.IntN(256))
		}
		m := f.blockMask(data)
		for j := 0; j < 32; j++ {
			if got, want := m>>j&1 == 1, f.pass(data[j], data[j+1]) != 0; got != want {
				t.Fatalf("blockMask bit %d = %v, pass says %v", j, got, want)
			}
		}
	}
}

// TestPairBlocksMatchesGo checks pairBlocks (AVX2 where the CPU has it)
// against pairBlocksGo on random filters, lengths and offsets.
func TestPairBlocksMatchesGo(t *testing.T) {
	if !haveSIMD {
		t.Skip("no AVX2: pairBlocks is pairBlocksGo")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	const alphabet = "ABSKIAQUaeiky-09 \n\x00\x80\xff"
	for trial := 0; trial < 1000; trial++ {
		f, _ := randomFilter(rng, 1+rng.IntN(40), alphabet)
		if trial%7 == 0 {
			for i := range 16 { // every bucket, every nibble
				f.lo0[i], f.hi0[i], f.lo1[i], f.hi1[i] = uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32())
			}
		}
		data := make([]byte, rng.IntN(300))
		for i := range data {
			if rng.IntN(4) == 0 {
				data[i] = byte(rng.IntN(256))
			} else {
				data[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		for from := 0; from < len(data); from += 1 + rng.IntN(40) {
			off, mask := pairBlocks(data[from:], &f)
			goOff, goMask := pairBlocksGo(data[from:], &f)
			if off != goOff || mask != goMask {
				t.Fatalf("trial %d: pairBlocks(data[%d:] of %d) = %d, %#x; pairBlocksGo says %d, %#x", trial, from, len(data), off, mask, goOff, goMask)
			}
		}
	}
}

// filterPathEngines returns the same engine twice: with the filter path
// on (through pairBlocksGo when the CPU lacks AVX2) and off.
func filterPathEngines(t testing.TB, opts Options) (on, off *Engine) {
	on, off = New(opts), New(opts)
	on.setFilter(true)
	off.setFilter(false)
	if !on.simd {
		t.Fatalf("the filter path is off for these rules")
	}
	return on, off
}

func scanChunkAll(e *Engine, data []byte, start, limit int) []Match {
	var ms []Match
	e.ScanChunk(data, start, limit, func(m Match) { ms = append(ms, m) })
	return ms
}

// filterPathPieces are what the inputs of TestFilterPathMatchesScalar are
// made of: keys (whole, cut, wrapped in base64, split over lines), access
// key ids with and without secrets, and the pairs both paths index.
func filterPathPieces() []string {
	id := testkeys.AccessKeyID("AKIA", "123456789012", 1)
	sid := testkeys.AccessKeyID("ASIA", "210987654321", 2)
	p := []string{
		keyConsole, keyShort, keyClaude, keyClaudeShort,
		base64.StdEncoding.EncodeToString([]byte(keyConsole)),
		base64.StdEncoding.EncodeToString([]byte("x" + keyClaude)),
		base64.StdEncoding.EncodeToString([]byte("xy" + keyShort)),
		keyConsole[:30], keyConsole[:30] + "\n    " + keyConsole[30:],
		strings.TrimRight(keyConsole, "=") + "%3D", keyConsole + "...",
		id, sid, id + " " + testkeys.AccessKeySecret(3), "AKIAIOSFODNN7EXAMPLE",
		"ABSK", "AKIA", "ASIA", "IAM", "AA", "QUJTS", "bedrock-api-key-", "Secret_KEY",
		" ", "\n", "\"", "=", "x", "ke", "-",
	}
	return p
}

// TestFilterPathMatchesScalar checks that the filter path finds exactly
// what the scalar loop finds, with the built-in rules, the access key
// rule and a case-folding keyword, in whole buffers and chunks.
func TestFilterPathMatchesScalar(t *testing.T) {
	pieces := filterPathPieces()
	for _, opts := range []Options{
		{Extra: []Detector{NewAccessKey("aws-access-key", []string{"AKIA", "ASIA"})}},
		{IncludeInvalid: true, Extra: []Detector{NewAccessKey("aws-access-key", []string{"AKIA", "ASIA"}), kwDetector{kw: []string{"secret_key"}, fold: true}}},
	} {
		on, off := filterPathEngines(t, opts)
		rng := rand.New(rand.NewPCG(7, 8))
		found := 0
		for trial := 0; trial < 3000; trial++ {
			var b strings.Builder
			for n := rng.IntN(40); n > 0; n-- {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
			data := []byte(b.String())
			start, limit := 0, len(data)
			if trial%2 == 1 && len(data) > 0 {
				start, limit = rng.IntN(len(data)), rng.IntN(len(data)+1)
			}
			want := scanChunkAll(off, data, start, limit)
			got := scanChunkAll(on, data, start, limit)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("trial %d: filter path found %d matches, scalar loop %d, in %q [%d, %d)", trial, len(got), len(want), data, start, limit)
			}
			found += len(want)
		}
		if found < 3000 {
			t.Fatalf("only %d matches in all trials: the inputs test little", found)
		}
	}
}

// FuzzFilterPath: the filter path and the scalar loop find the same
// matches in any input and chunk.
func FuzzFilterPath(f *testing.F) {
	for _, p := range filterPathPieces() {
		f.Add([]byte(" "+p+" "), uint16(0), uint16(0))
	}
	f.Add([]byte(strings.Repeat("AKIA", 50)), uint16(3), uint16(120))
	on, off := filterPathEngines(f, Options{IncludeInvalid: true, Extra: []Detector{
		NewAccessKey("aws-access-key", []string{"AKIA", "ASIA"}), kwDetector{kw: []string{"secret_key"}, fold: true},
	}})
	f.Fuzz(func(t *testing.T, data []byte, start, limit uint16) {
		s, l := int(start)%(len(data)+1), int(limit)%(len(data)+1)
		if got, want := scanChunkAll(on, data, s, l), scanChunkAll(off, data, s, l); !reflect.DeepEqual(got, want) {
			t.Fatalf("filter path found %d matches, scalar loop %d, in %q [%d, %d)", len(got), len(want), data, s, l)
		}
	})
}
