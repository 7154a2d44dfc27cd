package detectors

import (
	"bytes"
	"os"
	"testing"

	"github.com/bks-dev/bks/internal/testkeys"
)

func BenchmarkScanSourceLike(b *testing.B) {
	data := testkeys.SourceText(4<<20, 1)
	e := New(Options{})
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		e.Scan(data, len(data), func(Match) {})
	}
}

func BenchmarkBytesIndexBaseline(b *testing.B) {
	data := testkeys.SourceText(4<<20, 1)
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
