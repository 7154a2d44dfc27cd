package detectors

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"
)

// sourceLike returns n bytes of text shaped like source code: identifiers,
// punctuation, base64-ish blobs and newlines, with no keys.
func sourceLike(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	words := []string{"func", "return", "if", "err", "nil", "bedrock", "api", "key", "ABS", "AES", "SK",
		"import", "client", "token", "BEARER", "AWS", "config", "region", "us-east-1", "data",
		"const", "var", "string", "int", "ctx", "context", "check-", "lock-api", "-key-", "AEAB", "QUJT"}
	var b bytes.Buffer
	for b.Len() < n {
		switch r.IntN(20) {
		case 0:
			b.WriteByte('\n')
		case 1:
			for range 40 + r.IntN(60) {
				b.WriteByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[r.IntN(64)])
			}
		default:
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(" (){}.,;=\"\t"[r.IntN(11)])
		}
	}
	return b.Bytes()[:n]
}

func BenchmarkScanSourceLike(b *testing.B) {
	data := sourceLike(4<<20, 1)
	e := New(Options{})
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		e.Scan(data, len(data), func(Match) {})
	}
}

func BenchmarkBytesIndexBaseline(b *testing.B) {
	data := sourceLike(4<<20, 1)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		bytes.Index(data, []byte("ABSK"))
		bytes.Index(data, []byte("bedrock-api-key-"))
	}
}

// BenchmarkScanCorpusFile scans real text from BKS_BENCH_FILE when set
// (e.g. a file of the make-bench corpus).
func BenchmarkScanCorpusFile(b *testing.B) {
	path := os.Getenv("BKS_BENCH_FILE")
	if path == "" {
		b.Skip("BKS_BENCH_FILE not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	e := New(Options{})
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		e.Scan(data, len(data), func(Match) {})
	}
}
