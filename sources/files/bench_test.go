package files

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/scan"
	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/files/internal/bzip2"
)

// writeSourceLike writes n bytes of source-like text (identifiers,
// punctuation, base64-ish runs, newlines) to path, with a key every
// keyEvery bytes (0: none).
func writeSourceLike(tb testing.TB, path string, n int64, seed uint64, keyEvery int64) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(seed, 1))
	words := []string{"func", "return", "if", "err", "nil", "bedrock", "api", "key", "ABS", "SK", "import",
		"client", "token", "BEARER", "AWS", "config", "region", "us-east-1", "data", "ctx", "-key-"}
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var written, nextKey int64 = 0, keyEvery
	for written < n {
		var k int
		switch {
		case keyEvery > 0 && written >= nextKey:
			k, _ = w.WriteString("TOKEN=" + keyLong + "\n")
			nextKey += keyEvery
		case r.IntN(20) == 0:
			w.WriteByte('\n')
			k = 1
		case r.IntN(20) == 1:
			for range 40 + r.IntN(60) {
				w.WriteByte(b64[r.IntN(64)])
				k++
			}
		default:
			k, _ = w.WriteString(words[r.IntN(len(words))])
			w.WriteByte(" (){}.,;=\"\t"[r.IntN(11)])
			k++
		}
		written += int64(k)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

func benchScan(b *testing.B, root string, total int64, withEngine bool) {
	b.Helper()
	b.SetBytes(total)
	b.ResetTimer()
	for b.Loop() {
		src := New(Options{Paths: []string{root}, OnError: func(p string, err error) { b.Fatal(p, err) }})
		sc := scan.Scanner{Engine: engine}
		var err error
		if withEngine {
			err = sc.Run(context.Background(), src, func(findings.Finding) error { return nil })
		} else {
			err = src.Chunks(context.Background(), sc.Chunker(), func(sources.Chunk) error { return nil })
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if rss := peakRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
	}
}

// BenchmarkManyFiles scans 4000 files of 8 KiB (32 MiB), warm cache.
func BenchmarkManyFiles(b *testing.B) {
	root := b.TempDir()
	const files, size = 4000, 8 << 10
	for i := range files {
		writeSourceLike(b, filepath.Join(root, fmt.Sprintf("d%02d", i%50), fmt.Sprintf("f%04d.go", i)), size, uint64(i), 0)
	}
	b.Run("source", func(b *testing.B) { benchScan(b, root, files*size, false) })
	b.Run("engine", func(b *testing.B) { benchScan(b, root, files*size, true) })
}

// BenchmarkBigFile scans one 512 MiB file with a key every 8 MiB.
func BenchmarkBigFile(b *testing.B) {
	root := b.TempDir()
	const size = 512 << 20
	writeSourceLike(b, filepath.Join(root, "big.txt"), size, 1, 8<<20)
	b.Run("source", func(b *testing.B) { benchScan(b, root, size, false) })
	b.Run("engine", func(b *testing.B) { benchScan(b, root, size, true) })
}

// BenchmarkBzip2 decodes and scans GOROOT's
// regexp/testdata/re2-exhaustive.txt.bz2 (428 kB to 64 MB), the file that
// bounds bks's time on the bench's Go tree; text of the same kind,
// compressed alike, when GOROOT cannot be read. MB/s counts decompressed
// bytes.
func BenchmarkBzip2(b *testing.B) {
	root := b.TempDir()
	var data []byte
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		data, _ = os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "src", "regexp", "testdata", "re2-exhaustive.txt.bz2"))
	}
	if data == nil {
		b.Log("GOROOT's re2-exhaustive.txt.bz2 not found: using generated text")
		var text bytes.Buffer
		for i := 0; text.Len() < 64<<20; i++ {
			fmt.Fprintf(&text, "strings\n\"%s\"\nregexps\n\"(?:a|b)%c\"\n-;-;-;-\n0-%d;0-%d\n", strings.Repeat("ab", i%7), 'a'+i%3, i%9, i%4)
		}
		data = bz2(b, 9, text.Bytes())
	}
	if err := os.WriteFile(filepath.Join(root, "re2-exhaustive.txt.bz2"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	size, err := io.Copy(io.Discard, bzip2.NewReader(bytes.NewReader(data)))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("source", func(b *testing.B) { benchScan(b, root, size, false) })
	b.Run("engine", func(b *testing.B) { benchScan(b, root, size, true) })
}
