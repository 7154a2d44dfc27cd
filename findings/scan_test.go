package findings

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/sources"
)

var (
	keyLong  = testkeys.LongTerm("BedrockAPIKey-ab12", "123456789012", testkeys.Secret(9))
	keyShort = testkeys.ShortTerm(testkeys.ShortTermOptions{
		AccessKeyID: testkeys.AccessKeyID("ASIA", "609629065308", 9), SecretKey: "s",
		SessionToken: testkeys.SessionToken("609629065308", 1500, 9), Region: "ap-south-1",
		Issued: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Expires: 900,
	})
)

// lineCol computes the expected 1-based line and byte column of off.
func lineCol(data []byte, off int) (int, int) {
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	return line, off - bytes.LastIndexByte(data[:off], '\n')
}

// scanChunked scans data split into overlapping chunks of size own bytes,
// both from memory and from a reader.
func scanChunked(t testing.TB, data []byte, size int) [][]Finding {
	t.Helper()
	eng := detectors.New(detectors.Options{})
	c := sources.Chunker{Size: size, Overlap: eng.MaxMatchLen()}
	var mem, stream []Finding
	if err := c.SplitBytes(data, &sources.Origin{Path: "f"}, func(ch sources.Chunk) error {
		return ScanChunk(ch, eng, func(f Finding) error { mem = append(mem, f); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Split(bytes.NewReader(data), &sources.Origin{Path: "f"}, nil, func(ch sources.Chunk) error {
		return ScanChunk(ch, eng, func(f Finding) error { stream = append(stream, f); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	return [][]Finding{mem, stream}
}

func TestScanChunkBoundaries(t *testing.T) {
	const size = 4096
	for _, key := range []string{keyLong, keyShort} {
		for shift := -len(key) - 3; shift <= 3; shift += 7 {
			pre := strings.Repeat("line of text\n", 600)[:size+shift]
			data := []byte(pre + " " + key + "\r\nafter\n" + strings.Repeat("z", 50) + " " + keyLong + "\n")
			wantLine, wantCol := lineCol(data, len(pre)+1)
			for _, got := range scanChunked(t, data, size) {
				if len(got) != 2 {
					t.Fatalf("shift %d: %d findings, want 2", shift, len(got))
				}
				if got[0].RawKey() != key || got[0].Line != wantLine || got[0].Column != wantCol {
					t.Fatalf("shift %d: got line %d col %d, want %d %d", shift, got[0].Line, got[0].Column, wantLine, wantCol)
				}
				l2, c2 := lineCol(data, bytes.LastIndex(data, []byte(keyLong)))
				if got[1].Line != l2 || got[1].Column != c2 {
					t.Fatalf("second key at %d:%d, want %d:%d", got[1].Line, got[1].Column, l2, c2)
				}
			}
		}
	}
}

func TestFingerprintIgnoresLocation(t *testing.T) {
	data := []byte("a=" + keyLong + "\nb=" + strings.TrimRight(keyLong, "=") + "\n")
	got := scanChunked(t, data, 1<<20)[0]
	if len(got) != 2 || got[0].Fingerprint != got[1].Fingerprint || got[0].Line == got[1].Line {
		t.Fatalf("same key, two places: %+v", got)
	}
	if strings.Contains(got[0].Redacted, keyLong[10:len(keyLong)-6]) || got[0].Secret != "" {
		t.Errorf("redaction leaks the key: %s", got[0].Redacted)
	}
	if got[0].WithSecret().Secret != keyLong {
		t.Error("WithSecret")
	}
}

// FuzzChunkedScan: a key planted anywhere in random text, scanned in small
// overlapping chunks, is found exactly once at the right line and column.
func FuzzChunkedScan(f *testing.F) {
	f.Add([]byte("hello\nworld\n"), uint16(3), uint16(64))
	f.Add(bytes.Repeat([]byte("ABSK\n"), 300), uint16(700), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, off uint16, size uint16) {
		at := int(off) % (len(data) + 1)
		in := append(append(append([]byte{}, data[:at]...), "\n"+keyLong+"\n"...), data[at:]...)
		wl, wc := lineCol(in, at+1)
		for _, got := range scanChunked(t, in, 256+int(size)%8192) {
			n := 0
			for _, g := range got {
				if g.RawKey() == keyLong && g.Line == wl && g.Column == wc {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("found %d times at %d:%d", n, wl, wc)
			}
		}
	})
}
