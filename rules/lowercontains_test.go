package rules

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testkeys"
)

// TestLowerContainsMatchesToLower checks loweredKey (in its buffer or
// byte by byte for ASCII) against lowering a copy with strings.ToLower,
// on ASCII and non-ASCII strings and words, short ones and ones longer
// than its buffer.
func TestLowerContainsMatchesToLower(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "aAbBkK0_-:EXAMPLEexample"
	runes := []string{"K", "İ", "ß", "é", "\xff"} // Kelvin sign, dotted I, invalid UTF-8
	gen := func(n int, nonASCII bool) string {
		var b strings.Builder
		for range n {
			if nonASCII && rng.IntN(6) == 0 {
				b.WriteString(runes[rng.IntN(len(runes))])
			} else {
				b.WriteByte(alphabet[rng.IntN(len(alphabet))])
			}
		}
		return b.String()
	}
	for trial := 0; trial < 20000; trial++ {
		n := rng.IntN(30)
		if trial%7 == 0 {
			n = lowerBuf - 20 + rng.IntN(40)
		}
		s := gen(n, trial%3 == 0)
		w := strings.ToLower(gen(1+rng.IntN(4), trial%5 == 0))
		if trial%4 == 0 && len(s) > 3 {
			from := rng.IntN(len(s) - 2)
			w = strings.ToLower(s[from : from+1+rng.IntN(len(s)-from-1)])
		}
		var key loweredKey
		key.set(s)
		if got, want := key.contains(w), strings.Contains(strings.ToLower(s), w); got != want {
			t.Fatalf("loweredKey(%q).contains(%q) = %v, strings.ToLower says %v", s, w, got, want)
		}
	}
}

// TestLowerASCII8: the word lowering agrees with lowerASCII for every
// ASCII byte at every place.
func TestLowerASCII8(t *testing.T) {
	for at := range 8 {
		for c := range 128 {
			b := []byte("aZ@[`{09")
			b[at] = byte(c)
			want := bytes.Map(func(r rune) rune { return rune(lowerASCII(byte(r))) }, b)
			got := binary.LittleEndian.AppendUint64(nil, lowerASCII8(binary.LittleEndian.Uint64(b)))
			if !bytes.Equal(got, want) {
				t.Fatalf("lowerASCII8(%q) = %q, want %q", b, got, want)
			}
		}
	}
}

// BenchmarkFilterAccessKey is Filter.Apply on an access key finding that
// no allowlist suppresses (the usual finding on AWS text).
func BenchmarkFilterAccessKey(b *testing.B) {
	cfg := Default()
	id := testkeys.AccessKeyID("AKIA", "123456789012", 1)
	kept, _ := scanFiles(b, cfg, NewFilter(cfg, nil), file{"app/config.py", "aws_access_key_id = " + id + "\naws_secret_access_key = " + awsSecret(1) + "\n"})
	if len(kept) != 1 {
		b.Fatalf("%d findings, want 1", len(kept))
	}
	f, fnd := NewFilter(cfg, nil), kept[0]
	line := []byte("aws_access_key_id = " + id)
	for b.Loop() {
		g := fnd
		f.Apply(&g, line)
	}
}
