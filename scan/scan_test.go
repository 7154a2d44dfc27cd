package scan

import (
	"bytes"
	"context"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
)

var (
	engine   = detectors.New(detectors.Options{})
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
func scanChunked(t testing.TB, data []byte, size int) [][]findings.Finding {
	t.Helper()
	s := Scanner{Engine: engine, ChunkSize: size}
	c := s.Chunker()
	var mem, stream []findings.Finding
	if err := c.SplitBytes(data, &location.Location{Path: "f"}, func(ch sources.Chunk) error {
		return s.Chunk(ch, func(f findings.Finding) error { mem = append(mem, f); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Split(bytes.NewReader(data), &location.Location{Path: "f"}, nil, func(ch sources.Chunk) error {
		return s.Chunk(ch, func(f findings.Finding) error { stream = append(stream, f); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	return [][]findings.Finding{mem, stream}
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

// chunkerSpy is a source that records the chunker it is given and yields
// data cut with it.
type chunkerSpy struct {
	data  []byte
	got   sources.Chunker
	where *location.Location
}

func (s *chunkerSpy) Chunks(_ context.Context, split sources.Chunker, yield func(sources.Chunk) error) error {
	s.got = split
	return split.SplitBytes(s.data, s.where, yield)
}

// The scan, not its caller, sets the overlap: the engine's longest match.
func TestRunSetsOverlapFromEngine(t *testing.T) {
	src := &chunkerSpy{data: []byte("k=" + keyLong + "\n")}
	var n int
	err := Scanner{Engine: engine, ChunkSize: 4096}.Run(context.Background(), src, func(findings.Finding) error { n++; return nil })
	if err != nil || n != 1 {
		t.Fatalf("err %v, %d findings", err, n)
	}
	if want := (sources.Chunker{Size: 4096, Overlap: engine.MaxMatchLen(), LookBack: engine.LookBack()}); src.got != want || want.Overlap == 0 || want.LookBack == 0 {
		t.Errorf("source got chunker %+v, want %+v", src.got, want)
	}
}

// A finding's location is the chunk's origin, field for field, plus the
// line, column and encoding of the match.
func TestFindingLocationIsOrigin(t *testing.T) {
	in := true
	where := &location.Location{
		Path: "a.env", Repo: "r", Commit: "c", Author: "A", Email: "a@x", Message: "m",
		Date:   location.Date(time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("x", 3600))),
		InHead: &in, HTMLURL: "https://x", Kind: "k", Transcoded: "utf-16le",
	}
	src := &chunkerSpy{data: []byte("\n  " + keyLong + "\n"), where: where}
	var got []findings.Finding
	if err := Run(context.Background(), src, engine, func(f findings.Finding) error { got = append(got, f); return nil }); err != nil {
		t.Fatal(err)
	}
	want := *where
	want.Line, want.Column = 2, 3
	if len(got) != 1 || !reflect.DeepEqual(got[0].Location, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if d := got[0].Date.Format(time.RFC3339); d != "2024-05-06T06:08:09Z" {
		t.Errorf("date %s, want it in UTC", d)
	}
}

// The filter keeps, suppresses or drops each finding, seeing its line.
func TestFilter(t *testing.T) {
	data := []byte("keep " + keyLong + "\nhide " + keyShort + "\ndrop " + keyLong + "\n")
	filter := func(f *findings.Finding, line []byte) bool {
		switch {
		case bytes.HasPrefix(line, []byte("hide")):
			f.Suppressed = "inline"
		case bytes.HasPrefix(line, []byte("drop")):
		default:
			return true
		}
		return false
	}
	var got []string
	err := Scanner{Engine: engine, Filter: filter}.Run(context.Background(), &chunkerSpy{data: data}, func(f findings.Finding) error {
		got = append(got, f.Suppressed)
		return nil
	})
	if err != nil || !reflect.DeepEqual(got, []string{"", "inline"}) {
		t.Errorf("err %v, suppressed %q, want one kept and one suppressed", err, got)
	}
}

// Chunk reuses one pooled finding per chunk: what the filter set on a
// finding of one chunk (Suppressed) must not reach a finding of another,
// scanned after it or at the same time.
func TestChunkFindingNotShared(t *testing.T) {
	hide := []byte("hide " + keyLong + "\n")
	keep := []byte("keep " + keyShort + "\n")
	filter := func(f *findings.Finding, line []byte) bool {
		if bytes.HasPrefix(line, []byte("hide")) {
			f.Suppressed = "inline"
			return false
		}
		return true
	}
	s := Scanner{Engine: engine, Filter: filter}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				data, path, want := hide, "hide", "inline"
				if (i+g)%2 == 0 {
					data, path, want = keep, "keep", ""
				}
				c := sources.Chunk{Data: data, Limit: len(data), Line: 1, Column: 1, Origin: &location.Location{Path: path}}
				n := 0
				err := s.Chunk(c, func(f findings.Finding) error {
					n++
					if f.Suppressed != want || f.Path != path {
						t.Errorf("finding of %s: suppressed %q, want %q", f.Path, f.Suppressed, want)
					}
					return nil
				})
				if err != nil || n != 1 {
					t.Errorf("%s: err %v, %d findings, want 1", path, err, n)
				}
			}
		}()
	}
	wg.Wait()
}

func TestLineAt(t *testing.T) {
	data := []byte("one\r\ntwo KEY three\r\nfour")
	s := bytes.Index(data, []byte("KEY"))
	if got := string(LineAt(data, s, s+3)); got != "two KEY three" {
		t.Errorf("LineAt = %q", got)
	}
	if got := string(LineAt(data, 0, 3)); got != "one" {
		t.Errorf("first line = %q", got)
	}
	if got := string(LineAt(data, len(data)-4, len(data))); got != "four" {
		t.Errorf("last line = %q", got)
	}
	long := bytes.Repeat([]byte("x"), 3*LineContext)
	if got := LineAt(long, len(long)/2, len(long)/2+1); len(got) != 2*LineContext+1 {
		t.Errorf("long line cut to %d bytes", len(got))
	}
}

// TestZeroChunks: a chunk of zero bytes is skipped only when no literal that
// triggers a check is made of zeros; a rule whose keyword is zeros still
// finds its matches there.
func TestZeroChunks(t *testing.T) {
	zero := make([]byte, 3*sources.DefaultChunkSize+5)
	nul := detectors.NewRegex(detectors.RegexRule{
		ID: "nul", Keywords: []string{"\x00\x00"}, Regexp: regexp.MustCompile(`\x00{4}`), MaxLen: 4, Decoder: "none",
	}, detectors.DecodeOptions{})
	for _, tc := range []struct {
		name string
		eng  *detectors.Engine
		want bool
	}{
		{"built-in", engine, false},
		{"zero keyword", detectors.New(detectors.Options{Extra: []detectors.Detector{nul}}), true},
	} {
		s := Scanner{Engine: tc.eng}
		n := 0
		err := s.Chunker().SplitBytes(zero, &location.Location{Path: "z"}, func(c sources.Chunk) error {
			return s.Chunk(c, func(findings.Finding) error { n++; return nil })
		})
		if err != nil || (n > 0) != tc.want {
			t.Errorf("%s: %d findings, err %v", tc.name, n, err)
		}
	}
	for _, b := range [][]byte{nil, {0}, {0, 0, 1}, append(make([]byte, 9000), 1)} {
		if got, want := allZero(b), !bytes.ContainsFunc(b, func(r rune) bool { return r != 0 }); got != want {
			t.Errorf("allZero(%d bytes) = %v", len(b), got)
		}
	}
}

// BenchmarkZeroChunk: a hole of a sparse archive member.
func BenchmarkZeroChunk(b *testing.B) {
	zero := make([]byte, sources.DefaultChunkSize)
	s := Scanner{Engine: engine}
	c := sources.Chunk{Data: zero, Limit: len(zero), Origin: &location.Location{}}
	b.SetBytes(int64(len(zero)))
	for b.Loop() {
		s.Chunk(c, func(findings.Finding) error { return nil })
	}
}

// TestTransientKeys: with Transient, the findings of a chunk share one Key,
// each seeing its own while the handler runs, and the handler gets what
// it gets without Transient; without it, each finding keeps a Key of its
// own after the handler returned.
func TestTransientKeys(t *testing.T) {
	data := []byte("a " + keyLong + "\nb " + keyShort + "\nc " + keyLong + "\n")
	c := sources.Chunk{Data: data, Limit: len(data), Line: 1, Column: 1, Origin: &location.Location{Path: "f"}}
	type seen struct {
		key  *detectors.Key
		copy detectors.Key
	}
	run := func(transient bool) []seen {
		var got []seen
		err := Scanner{Engine: engine, Transient: transient}.Chunk(c, func(f findings.Finding) error {
			got = append(got, seen{f.Key, *f.Key})
			return nil
		})
		if err != nil || len(got) != 3 {
			t.Fatalf("transient %v: err %v, %d findings, want 3", transient, err, len(got))
		}
		return got
	}
	kept, shared := run(false), run(true)
	for i := range kept {
		if !reflect.DeepEqual(kept[i].copy, shared[i].copy) {
			t.Errorf("finding %d: transient key %+v, want %+v", i, shared[i].copy, kept[i].copy)
		}
		if *kept[i].key != kept[i].copy {
			t.Errorf("finding %d: its key changed after the handler returned", i)
		}
	}
	if kept[0].key == kept[1].key {
		t.Error("without Transient, two findings share a Key")
	}
	if shared[0].key != shared[1].key || shared[1].key != shared[2].key {
		t.Error("with Transient, the findings of a chunk do not share their Key")
	}
}
