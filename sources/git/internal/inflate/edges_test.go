package inflate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/adler32"
	"math/bits"
	"testing"
)

// bitWriter writes deflate bits, LSB first; Huffman codes go MSB first.
type bitWriter struct {
	b   []byte
	acc uint64
	n   uint
}

func (w *bitWriter) put(v uint64, k uint) *bitWriter {
	w.acc |= v << w.n
	for w.n += k; w.n >= 8; w.n -= 8 {
		w.b = append(w.b, byte(w.acc))
		w.acc >>= 8
	}
	return w
}

func (w *bitWriter) code(c uint16, k uint) *bitWriter {
	return w.put(uint64(bits.Reverse16(c)>>(16-k)), k)
}

// fixedLit writes literal/length symbol s in the fixed code.
func (w *bitWriter) fixedLit(s int) *bitWriter {
	switch {
	case s < 144:
		return w.code(uint16(0x30+s), 8)
	case s < 256:
		return w.code(uint16(0x190+s-144), 9)
	case s < 280:
		return w.code(uint16(s-256), 7)
	}
	return w.code(uint16(0xc0+s-280), 8)
}

func (w *bitWriter) bytes() []byte {
	if w.n > 0 {
		w.b = append(w.b, byte(w.acc))
	}
	return w.b
}

// canonical is the canonical code for lens (RFC 1951 3.2.2).
func canonical(lens []uint8) []uint16 {
	var count, next [16]uint16
	for _, n := range lens {
		count[n]++
	}
	count[0] = 0
	code := uint16(0)
	for n := 1; n < 16; n++ {
		code = (code + count[n-1]) << 1
		next[n] = code
	}
	codes := make([]uint16, len(lens))
	for s, n := range lens {
		if n != 0 {
			codes[s] = next[n]
			next[n]++
		}
	}
	return codes
}

// dynamic writes a dynamic block header with the given literal/length
// and distance lengths (all under 16), through a precode giving symbols
// 0-15 four bits each, and returns both codes.
func (w *bitWriter) dynamic(final bool, lit, dist []uint8) (lc, dc []uint16) {
	w.put(b2u(final)|2<<1, 3)
	w.put(uint64(len(lit)-257), 5).put(uint64(len(dist)-1), 5).put(19-4, 4)
	var plens [19]uint8
	for s := range 16 {
		plens[s] = 4
	}
	for _, s := range precodeOrder {
		w.put(uint64(plens[s]), 3)
	}
	pc := canonical(plens[:])
	for _, n := range append(append([]uint8{}, lit...), dist...) {
		w.code(pc[n], 4)
	}
	return canonical(lit), canonical(dist)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// wrap makes a zlib stream of deflate data whose output is data.
func wrap(deflate, data []byte) []byte {
	return binary.BigEndian.AppendUint32(append([]byte{0x78, 0x01}, deflate...), adler32.Checksum(data))
}

// storedBlock writes a stored block of p.
func (w *bitWriter) storedBlock(final bool, p []byte) *bitWriter {
	w.put(b2u(final), 3)
	w.b = w.bytes()
	w.acc, w.n = 0, 0
	w.b = binary.LittleEndian.AppendUint16(w.b, uint16(len(p)))
	w.b = binary.LittleEndian.AppendUint16(w.b, ^uint16(len(p)))
	w.b = append(w.b, p...)
	return w
}

// lens makes code lengths: n symbols, those in set given their length.
func lens(n int, set map[int]uint8) []uint8 {
	l := make([]uint8, n)
	for s, k := range set {
		l[s] = k
	}
	return l
}

type edge struct {
	name string
	src  []byte
	size int   // the stream's size
	err  error // what Zlib says into size bytes
}

func edges() []edge {
	var es []edge
	add := func(name string, src []byte, size int, err error) {
		es = append(es, edge{name, src, size, err})
	}
	abc := []byte("abcdefgh")
	// Stored blocks, one empty, then a fixed block whose match reaches
	// back across both into the first.
	w := new(bitWriter).storedBlock(false, abc).storedBlock(false, nil).storedBlock(false, []byte("ij"))
	w.put(1|1<<1, 3).fixedLit(265).put(1, 1).code(6, 5).put(1, 2).fixedLit(256) // len 12, dist 10
	span := append([]byte("abcdefghij"), "abcdefghijab"...)
	add("stored blocks then a match across them", wrap(w.bytes(), span), len(span), nil)
	w = new(bitWriter).put(1|1<<1, 3).fixedLit('a').fixedLit(257).code(1, 5).fixedLit(256) // dist 2
	add("distance too far back", wrap(w.bytes(), []byte("aaaa")), 4, ErrCorrupt)
	w = new(bitWriter).put(1|1<<1, 3).fixedLit('a').fixedLit(285).code(0, 5).fixedLit(285).code(0, 5).fixedLit(256)
	long := bytes.Repeat([]byte("a"), 1+2*258)
	add("length 258 twice", wrap(w.bytes(), long), len(long), nil)
	w = new(bitWriter).storedBlock(false, abc).put(1|1<<1, 3).fixedLit(256)
	add("empty final fixed block", wrap(w.bytes(), abc), len(abc), nil)
	w = new(bitWriter).storedBlock(false, abc).storedBlock(true, nil)
	add("empty final stored block", wrap(w.bytes(), abc), len(abc), nil)
	add("empty stream", wrap(new(bitWriter).storedBlock(true, nil).bytes(), nil), 0, nil)
	bad := wrap(new(bitWriter).storedBlock(true, abc).bytes(), abc)
	bad[len(bad)-1]++
	add("bad adler32", bad, len(abc), ErrChecksum)
	ok := wrap(new(bitWriter).storedBlock(true, abc).bytes(), abc)
	add("truncated adler32", ok[:len(ok)-1], len(abc), ErrTruncated)
	add("truncated stored data", ok[:9], len(abc), ErrTruncated)
	add("trailing data", append(ok[:len(ok):len(ok)], "trailing"...), len(abc), nil)
	add("dst too small", ok, len(abc)-1, ErrTooLong)
	add("dst too large", ok, len(abc)+1, ErrTooShort)
	add("bad header check", append([]byte{0x78, 0x02}, ok[2:]...), len(abc), ErrHeader)
	add("window over 32K", append([]byte{0x88, 0x1c}, ok[2:]...), len(abc), ErrHeader)
	add("dictionary", append([]byte{0x78, 0x20, 0, 0, 0, 2}, ok[2:]...), len(abc), ErrDictionary)
	add("empty dictionary (compress/zlib takes it)", append([]byte{0x78, 0x20, 0, 0, 0, 1}, ok[2:]...), len(abc), nil)
	add("block type 3", wrap(new(bitWriter).put(1|3<<1, 3).bytes(), nil), 0, ErrCorrupt)
	w = new(bitWriter).put(1|1<<1, 3).fixedLit(286)
	add("fixed symbol 286", wrap(w.bytes(), nil), 0, ErrCorrupt)
	w = new(bitWriter).put(1|1<<1, 3).fixedLit('a').fixedLit(257).code(30, 5)
	add("fixed distance 30", wrap(w.bytes(), nil), 4, ErrCorrupt)
	add("stored length not complemented", wrap([]byte{1, 8, 0, 0xf7, 0xf0}, nil), 0, ErrCorrupt)
	es = append(es, dynamicEdges()...)
	return es
}

// dynamicEdges are the dynamic-block edge cases: codes compress/flate
// takes (complete ones, an empty distance code, one codeword of length
// 1) and those it refuses (over- and under-subscribed).
func dynamicEdges() []edge {
	var es []edge
	w := new(bitWriter)
	lc, dc := w.dynamic(true, lens(258, map[int]uint8{'a': 1, 256: 2, 257: 2}), lens(1, map[int]uint8{0: 1}))
	w.code(lc['a'], 1).code(lc[257], 2).code(dc[0], 1).code(lc[256], 2)
	es = append(es, edge{"one distance codeword of length 1", wrap(w.bytes(), []byte("aaaa")), 4, nil})
	w = new(bitWriter)
	lc, _ = w.dynamic(true, lens(258, map[int]uint8{'a': 1, 256: 2, 257: 2}), lens(1, nil))
	w.code(lc['a'], 1).code(lc[256], 2)
	es = append(es, edge{"empty distance code, unused", wrap(w.bytes(), []byte("a")), 1, nil})
	w = new(bitWriter)
	lc, _ = w.dynamic(true, lens(258, map[int]uint8{'a': 1, 256: 2, 257: 2}), lens(1, nil))
	w.code(lc['a'], 1).code(lc[257], 2).put(0, 8)
	es = append(es, edge{"empty distance code, used", wrap(w.bytes(), nil), 4, ErrCorrupt})
	w = new(bitWriter)
	lc, _ = w.dynamic(true, lens(257, map[int]uint8{'a': 1, 256: 2}), lens(1, nil))
	w.code(lc['a'], 1).code(lc[256], 2)
	es = append(es, edge{"incomplete literal code", wrap(w.bytes(), []byte("a")), 1, ErrCorrupt})
	w = new(bitWriter)
	lc, _ = w.dynamic(true, lens(258, map[int]uint8{'a': 1, 'b': 2, 256: 2, 257: 2}), lens(1, nil))
	w.code(lc['a'], 1).code(lc[256], 2)
	es = append(es, edge{"oversubscribed literal code", wrap(w.bytes(), []byte("a")), 1, ErrCorrupt})
	w = new(bitWriter)
	w.put(1|2<<1, 3).put(0, 5).put(31, 5)
	es = append(es, edge{"32 distance codes", wrap(w.put(0, 64).bytes(), nil), 0, ErrCorrupt})
	// 15-bit codewords: a main table with subtables.
	set := map[int]uint8{256: 1}
	for s := range 14 {
		set['a'+s] = uint8(s + 2)
	}
	set['a'+14] = 15
	w = new(bitWriter)
	lc, _ = w.dynamic(true, lens(257, set), lens(1, nil))
	var out []byte
	for s := range 15 {
		w.code(lc['a'+s], uint(set['a'+s]))
		out = append(out, byte('a'+s))
	}
	w.code(lc[256], 1)
	es = append(es, edge{"codewords of 1 to 15 bits", wrap(w.bytes(), out), len(out), nil})
	return es
}

// TestEdges checks each edge case's result, and that compress/zlib
// agrees on it.
func TestEdges(t *testing.T) {
	for _, c := range edges() {
		t.Run(c.name, func(t *testing.T) {
			out, used, err := Zlib(make([]byte, c.size), c.src)
			if !errors.Is(err, c.err) {
				t.Fatalf("error %v, want %v", err, c.err)
			}
			if err == nil && used != len(c.src)-len("trailing")*b2i(c.name == "trailing data") {
				t.Errorf("used %d of %d bytes", used, len(c.src))
			}
			_ = out
			same(t, c.src)
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestFixedTables checks the fixed code's tables were built.
func TestFixedTables(t *testing.T) {
	if fixedLitTB != 9 || fixedDistTB != 5 {
		t.Fatalf("fixed tables of %d and %d bits, want 9 and 5", fixedLitTB, fixedDistTB)
	}
}

// TestBuildTableTooSmall: subtables that would not fit their table make
// build refuse the code instead of writing past it.
func TestBuildTableTooSmall(t *testing.T) {
	set := map[int]uint8{256: 1}
	for s := range 14 {
		set['a'+s] = uint8(s + 2)
	}
	set['a'+14] = 15
	l := lens(257, set)
	// The codewords of 12 to 15 bits share one 11-bit prefix: one
	// subtable of 16 entries.
	for _, size := range []int{1 << 11, 1<<11 + 15} {
		table := make([]uint32, size)
		if _, ok := build(table, l, countLens(l), litResults[:], 11); ok {
			t.Errorf("a %d-entry table took a code needing %d", size, 1<<11+16)
		}
	}
	table := make([]uint32, 1<<11+16)
	if _, ok := build(table, l, countLens(l), litResults[:], 11); !ok {
		t.Errorf("a %d-entry table refused a code needing as much", len(table))
	}
}
