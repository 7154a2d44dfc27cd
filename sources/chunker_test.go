package sources

import (
	"bytes"
	"fmt"
	"testing"
	"testing/iotest"
)

// Split and SplitBytes cut the same chunks: each chunk's own bytes follow
// the previous chunk's, it repeats up to LookBack bytes before them and up
// to Overlap bytes after, and Offset, Line and Column are those of its
// first own byte.
func TestChunkerLookBack(t *testing.T) {
	var b bytes.Buffer
	for i := 0; b.Len() < 5000; i++ {
		fmt.Fprintf(&b, "line %d %s\n", i, bytes.Repeat([]byte("x"), i%37))
	}
	data := b.Bytes()
	for _, c := range []Chunker{
		{Size: 700, Overlap: 50, LookBack: 120},
		{Size: 700, Overlap: 50},
		{Size: 100, Overlap: 30, LookBack: 500},
		{Size: 6000, Overlap: 50, LookBack: 120},
	} {
		check := func(name string, chunks []Chunk) {
			t.Helper()
			next := 0
			for i, ch := range chunks {
				if int(ch.Offset) != next {
					t.Fatalf("%s %+v chunk %d: offset %d, want %d", name, c, i, ch.Offset, next)
				}
				if want := min(next, c.LookBack); ch.Start != want {
					t.Fatalf("%s chunk %d: start %d, want %d", name, i, ch.Start, want)
				}
				if !bytes.Equal(ch.Data, data[next-ch.Start:min(len(data), next-ch.Start+len(ch.Data))]) {
					t.Fatalf("%s chunk %d: data is not the blob's", name, i)
				}
				if extra := len(ch.Data) - ch.Limit; extra > c.Overlap {
					t.Fatalf("%s chunk %d: %d bytes of look-ahead, want at most %d", name, i, extra, c.Overlap)
				}
				before := data[:next]
				line := 1 + bytes.Count(before, []byte{'\n'})
				col := next - bytes.LastIndexByte(before, '\n')
				if ch.Line != line || ch.Column != col {
					t.Fatalf("%s chunk %d: at %d:%d, want %d:%d", name, i, ch.Line, ch.Column, line, col)
				}
				next += ch.Limit - ch.Start
			}
			if next != len(data) {
				t.Fatalf("%s: chunks cover %d of %d bytes", name, next, len(data))
			}
		}
		var split, bytesSplit []Chunk
		err := c.Split(iotest.HalfReader(bytes.NewReader(data)), nil, nil, func(ch Chunk) error {
			ch.Data = bytes.Clone(ch.Data)
			split = append(split, ch)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SplitBytes(data, nil, func(ch Chunk) error { bytesSplit = append(bytesSplit, ch); return nil }); err != nil {
			t.Fatal(err)
		}
		check("Split", split)
		check("SplitBytes", bytesSplit)
	}
}
