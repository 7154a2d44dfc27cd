// Copyright 2011 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package bzip2 is Go's compress/bzip2 (Go 1.26.8; BSD licence, see
// LICENSE) with a faster end of block: the files source opens .bz2 files
// with it. The bitstream, Huffman, move-to-front and stream handling are
// the standard library's, unchanged; what differs:
//
//   - The inverse BWT is followed on several chains at once (walk). The
//     standard library follows it one byte at a time, a chain of
//     dependent loads from a 3.6 MB table: each waits for a cache miss.
//     Cut into segments at marked indices and walked 8 at a time, the
//     loads overlap. The bytes come out the same, for any input
//     (corrupt ones too): TestSameAsStdlib and FuzzSameAsStdlib compare
//     with compress/bzip2.
//   - The RLE1 pass reads the walked bytes in order with its state in
//     locals, and writes runs with a loop instead of one byte a call.
//   - The block CRC is computed 8 bytes at a time (slicing-by-8).
//
// Measured on GOROOT's regexp/testdata/re2-exhaustive.txt.bz2 (428 kB to
// 64 MB, the floor of bks's "Go tree" bench corpus), 2-core AMD EPYC
// shared with other jobs: compress/bzip2 ~2.6 times the CPU time of this
// package (BenchmarkDecode). Other pure-Go decoders measured then:
// github.com/dsnet/compress/bzip2 v0.0.1 (2019) took more CPU than
// compress/bzip2; github.com/cosnicolaou/pbzip2 spreads blocks over
// cores at about the same CPU per byte as compress/bzip2, which does not
// help when every core is already scanning.
package bzip2

import (
	"io"
	"slices"
)

// There's no RFC for bzip2. I used the Wikipedia page for reference and a lot
// of guessing: https://en.wikipedia.org/wiki/Bzip2
// The source code to pyflate was useful for debugging:
// http://www.paul.sladen.org/projects/pyflate

// A StructuralError is returned when the bzip2 data is found to be
// syntactically invalid.
type StructuralError string

func (s StructuralError) Error() string {
	return "bzip2 data invalid: " + string(s)
}

// A reader decompresses bzip2 compressed data.
type reader struct {
	br           bitReader
	fileCRC      uint32
	blockCRC     uint32
	wantBlockCRC uint32
	setupDone    bool // true if we have parsed the bzip2 header.
	eof          bool
	blockSize    int       // blockSize in bytes, i.e. 900 * 1000.
	c            [256]uint // the ``C'' array for the inverse BWT.
	tt           []uint32  // mirrors the ``tt'' array in the bzip2 source and contains the P array in the upper 24 bits.

	pre        []byte // the block's bytes in order (walk), before RLE1 decoding
	preRLEUsed int    // number of bytes of pre used.
	// The walk's scratch, kept from block to block.
	chains      [walkChains][]byte
	segs        []walkSeg
	starts      []segStart
	lastByte    int  // the last byte value seen.
	byteRepeats uint // the number of repeats of lastByte seen.
	repeats     uint // the number of copies of lastByte to output.
}

// NewReader returns an [io.Reader] which decompresses bzip2 data from r.
// If r does not also implement [io.ByteReader],
// the decompressor may read more data than necessary from r.
func NewReader(r io.Reader) io.Reader {
	bz2 := new(reader)
	bz2.br = newBitReader(r)
	return bz2
}

const bzip2FileMagic = 0x425a // "BZ"
const bzip2BlockMagic = 0x314159265359
const bzip2FinalMagic = 0x177245385090

// setup parses the bzip2 header.
func (bz2 *reader) setup(needMagic bool) error {
	br := &bz2.br

	if needMagic {
		magic := br.ReadBits(16)
		if magic != bzip2FileMagic {
			return StructuralError("bad magic value")
		}
	}

	t := br.ReadBits(8)
	if t != 'h' {
		return StructuralError("non-Huffman entropy encoding")
	}

	level := br.ReadBits(8)
	if level < '1' || level > '9' {
		return StructuralError("invalid compression level")
	}

	bz2.fileCRC = 0
	bz2.blockSize = 100 * 1000 * (level - '0')
	if bz2.blockSize > len(bz2.tt) {
		bz2.tt = make([]uint32, bz2.blockSize)
	}
	return nil
}

func (bz2 *reader) Read(buf []byte) (n int, err error) {
	if bz2.eof {
		return 0, io.EOF
	}

	if !bz2.setupDone {
		err = bz2.setup(true)
		brErr := bz2.br.Err()
		if brErr != nil {
			err = brErr
		}
		if err != nil {
			return 0, err
		}
		bz2.setupDone = true
	}

	n, err = bz2.read(buf)
	brErr := bz2.br.Err()
	if brErr != nil {
		err = brErr
	}
	return
}

// readFromBlock undoes the RLE1 stage of bz2.pre, the block's bytes in
// order (walk), into buf. Any sequence of four equal bytes is followed by
// a length byte which contains the number of repeats of that byte to
// include (possibly zero). The state is kept in the reader between calls.
func (bz2 *reader) readFromBlock(buf []byte) int {
	n := 0
	pre := bz2.pre
	used := bz2.preRLEUsed
	repeats := bz2.repeats
	lastByte := bz2.lastByte
	byteRepeats := bz2.byteRepeats
	for (repeats > 0 || used < len(pre)) && n < len(buf) {
		if repeats > 0 {
			k := min(int(repeats), len(buf)-n)
			b := byte(lastByte)
			run := buf[n : n+k]
			for i := range run {
				run[i] = b
			}
			n += k
			repeats -= uint(k)
			if repeats == 0 {
				lastByte = -1
			}
			continue
		}
		b := pre[used]
		used++
		if byteRepeats == 3 {
			repeats = uint(b)
			byteRepeats = 0
			continue
		}
		if lastByte == int(b) {
			byteRepeats++
		} else {
			byteRepeats = 0
		}
		lastByte = int(b)
		buf[n] = b
		n++
	}
	bz2.preRLEUsed = used
	bz2.repeats = repeats
	bz2.lastByte = lastByte
	bz2.byteRepeats = byteRepeats
	return n
}

// The walk: after inverseBWT, tt[i] holds a byte in its low 8 bits and the
// index of the next entry in bits 8-27 (a block has at most 900000 < 2^20
// entries); bit 31 is free and marks a segment's start.
const (
	walkChains   = 8  // segments walked at once
	walkSegments = 64 // at most, per block
	walkMinSeg   = 4096
	walkMark     = 1 << 31
	walkIdxMask  = 1<<20 - 1
)

// walkSeg is one segment of the walk: the bytes from its start to the
// next marked start, which begins segment next.
type walkSeg struct {
	start  uint32
	buf    int // which of reader.chains holds its bytes, from off, n of them
	off, n int
	next   int
}

type segStart struct {
	p   uint32
	seg int
}

// walk returns the len(tt) bytes of the block in order: the bytes of the
// entries visited from tPos on, following each entry's link, as the
// standard library's readFromBlock visited them one at a time. It marks
// up to walkSegments entries (tPos and evenly spaced ones), walks the
// segment from each mark to the next on walkChains chains in turn, so that
// their cache misses overlap, then joins the segments from tPos's. Every
// entry belongs to at most one segment (each index has one predecessor),
// so the work is len(tt) steps whatever the links. When the links do not
// form one cycle (corrupt input; the block CRC then fails), the joined
// segments repeat the cycle from tPos as the one-at-a-time walk did.
// Measured hot path (see the package comment), hence its length.
func (bz2 *reader) walk(tt []uint32, tPos uint32) []byte {
	n := len(tt)
	if cap(bz2.pre) < n {
		bz2.pre = make([]byte, bz2.blockSize)
	}
	pre := bz2.pre[:n]
	segs := bz2.segs[:0]
	mark := func(p uint32) {
		if tt[p]&walkMark == 0 {
			tt[p] |= walkMark
			segs = append(segs, walkSeg{start: p, next: -1})
		}
	}
	mark(tPos)
	m := min(walkSegments, max(1, n/walkMinSeg))
	for j := 1; j < m; j++ {
		mark(uint32(j * n / m))
	}
	starts := bz2.starts[:0] // sorted by index, to find a segment by its start
	for i := range segs {
		starts = append(starts, segStart{segs[i].start, i})
	}
	cmp := func(a segStart, p uint32) int { return int(a.p) - int(p) }
	slices.SortFunc(starts, func(a, b segStart) int { return cmp(a, b.p) })
	for j := range bz2.chains {
		bz2.chains[j] = bz2.chains[j][:0]
	}
	var pos [walkChains]uint32 // the next entry of each chain
	var cur [walkChains]int    // its segment
	var buf [walkChains]int    // its buffer
	next := 0                  // the next segment to walk
	// begin starts segment next on chain j with its first, marked entry.
	begin := func(j int) {
		sg := &segs[next]
		sg.buf = buf[j]
		sg.off = len(bz2.chains[buf[j]])
		v := tt[sg.start]
		bz2.chains[buf[j]] = append(bz2.chains[buf[j]], byte(v))
		pos[j] = (v >> 8) & walkIdxMask
		cur[j] = next
		next++
	}
	active := 0
	for ; active < walkChains && next < len(segs); active++ {
		buf[active] = active
		begin(active)
	}
	for active > 0 {
		for j := 0; j < active; j++ {
			v := tt[pos[j]]
			if v&walkMark == 0 {
				c := &bz2.chains[buf[j]]
				*c = append(*c, byte(v))
				pos[j] = (v >> 8) & walkIdxMask
				continue
			}
			// Segment cur[j] ends: the marked entry begins another.
			sg := &segs[cur[j]]
			sg.n = len(bz2.chains[sg.buf]) - sg.off
			i, _ := slices.BinarySearchFunc(starts, pos[j], cmp)
			sg.next = starts[i].seg
			if next < len(segs) {
				begin(j)
				continue
			}
			active--
			pos[j], cur[j], buf[j] = pos[active], cur[active], buf[active]
			j-- // chain j is now the last one's
		}
	}
	out := 0
	for k := 0; out < n; k = segs[k].next {
		sg := &segs[k]
		out += copy(pre[out:], bz2.chains[sg.buf][sg.off:sg.off+sg.n])
	}
	bz2.segs, bz2.starts = segs, starts
	return pre
}

func (bz2 *reader) read(buf []byte) (int, error) {
	for {
		n := bz2.readFromBlock(buf)
		if n > 0 || len(buf) == 0 {
			bz2.blockCRC = updateCRC(bz2.blockCRC, buf[:n])
			return n, nil
		}

		// End of block. Check CRC.
		if bz2.blockCRC != bz2.wantBlockCRC {
			bz2.br.err = StructuralError("block checksum mismatch")
			return 0, bz2.br.err
		}

		// Find next block.
		br := &bz2.br
		switch br.ReadBits64(48) {
		default:
			return 0, StructuralError("bad magic value found")

		case bzip2BlockMagic:
			// Start of block.
			err := bz2.readBlock()
			if err != nil {
				return 0, err
			}

		case bzip2FinalMagic:
			// Check end-of-file CRC.
			wantFileCRC := uint32(br.ReadBits64(32))
			if br.err != nil {
				return 0, br.err
			}
			if bz2.fileCRC != wantFileCRC {
				br.err = StructuralError("file checksum mismatch")
				return 0, br.err
			}

			// Skip ahead to byte boundary.
			// Is there a file concatenated to this one?
			// It would start with BZ.
			if br.bits%8 != 0 {
				br.ReadBits(br.bits % 8)
			}
			b, err := br.r.ReadByte()
			if err == io.EOF {
				br.err = io.EOF
				bz2.eof = true
				return 0, io.EOF
			}
			if err != nil {
				br.err = err
				return 0, err
			}
			z, err := br.r.ReadByte()
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				br.err = err
				return 0, err
			}
			if b != 'B' || z != 'Z' {
				return 0, StructuralError("bad magic value in continuation file")
			}
			if err := bz2.setup(false); err != nil {
				return 0, err
			}
		}
	}
}

// readBlock reads a bzip2 block. The magic number should already have been consumed.
func (bz2 *reader) readBlock() (err error) {
	br := &bz2.br
	bz2.wantBlockCRC = uint32(br.ReadBits64(32)) // skip checksum. TODO: check it if we can figure out what it is.
	bz2.blockCRC = 0
	bz2.fileCRC = (bz2.fileCRC<<1 | bz2.fileCRC>>31) ^ bz2.wantBlockCRC
	randomized := br.ReadBits(1)
	if randomized != 0 {
		return StructuralError("deprecated randomized files")
	}
	origPtr := uint(br.ReadBits(24))

	// If not every byte value is used in the block (i.e., it's text) then
	// the symbol set is reduced. The symbols used are stored as a
	// two-level, 16x16 bitmap.
	symbolRangeUsedBitmap := br.ReadBits(16)
	symbolPresent := make([]bool, 256)
	numSymbols := 0
	for symRange := uint(0); symRange < 16; symRange++ {
		if symbolRangeUsedBitmap&(1<<(15-symRange)) != 0 {
			bits := br.ReadBits(16)
			for symbol := uint(0); symbol < 16; symbol++ {
				if bits&(1<<(15-symbol)) != 0 {
					symbolPresent[16*symRange+symbol] = true
					numSymbols++
				}
			}
		}
	}

	if numSymbols == 0 {
		// There must be an EOF symbol.
		return StructuralError("no symbols in input")
	}

	// A block uses between two and six different Huffman trees.
	numHuffmanTrees := br.ReadBits(3)
	if numHuffmanTrees < 2 || numHuffmanTrees > 6 {
		return StructuralError("invalid number of Huffman trees")
	}

	// The Huffman tree can switch every 50 symbols so there's a list of
	// tree indexes telling us which tree to use for each 50 symbol block.
	numSelectors := br.ReadBits(15)
	treeIndexes := make([]uint8, numSelectors)

	// The tree indexes are move-to-front transformed and stored as unary
	// numbers.
	mtfTreeDecoder := newMTFDecoderWithRange(numHuffmanTrees)
	for i := range treeIndexes {
		c := 0
		for {
			inc := br.ReadBits(1)
			if inc == 0 {
				break
			}
			c++
		}
		if c >= numHuffmanTrees {
			return StructuralError("tree index too large")
		}
		treeIndexes[i] = mtfTreeDecoder.Decode(c)
	}

	// The list of symbols for the move-to-front transform is taken from
	// the previously decoded symbol bitmap.
	symbols := make([]byte, numSymbols)
	nextSymbol := 0
	for i := 0; i < 256; i++ {
		if symbolPresent[i] {
			symbols[nextSymbol] = byte(i)
			nextSymbol++
		}
	}
	mtf := newMTFDecoder(symbols)

	numSymbols += 2 // to account for RUNA and RUNB symbols
	huffmanTrees := make([]huffmanTree, numHuffmanTrees)

	// Now we decode the arrays of code-lengths for each tree.
	lengths := make([]uint8, numSymbols)
	for i := range huffmanTrees {
		// The code lengths are delta encoded from a 5-bit base value.
		length := br.ReadBits(5)
		for j := range lengths {
			for {
				if length < 1 || length > 20 {
					return StructuralError("Huffman length out of range")
				}
				if !br.ReadBit() {
					break
				}
				if br.ReadBit() {
					length--
				} else {
					length++
				}
			}
			lengths[j] = uint8(length)
		}
		huffmanTrees[i], err = newHuffmanTree(lengths)
		if err != nil {
			return err
		}
	}

	selectorIndex := 1 // the next tree index to use
	if len(treeIndexes) == 0 {
		return StructuralError("no tree selectors given")
	}
	if int(treeIndexes[0]) >= len(huffmanTrees) {
		return StructuralError("tree selector out of range")
	}
	currentHuffmanTree := huffmanTrees[treeIndexes[0]]
	bufIndex := 0 // indexes bz2.buf, the output buffer.
	// The output of the move-to-front transform is run-length encoded and
	// we merge the decoding into the Huffman parsing loop. These two
	// variables accumulate the repeat count. See the Wikipedia page for
	// details.
	repeat := 0
	repeatPower := 0

	// The `C' array (used by the inverse BWT) needs to be zero initialized.
	clear(bz2.c[:])

	decoded := 0 // counts the number of symbols decoded by the current tree.
	for {
		if decoded == 50 {
			if selectorIndex >= numSelectors {
				return StructuralError("insufficient selector indices for number of symbols")
			}
			if int(treeIndexes[selectorIndex]) >= len(huffmanTrees) {
				return StructuralError("tree selector out of range")
			}
			currentHuffmanTree = huffmanTrees[treeIndexes[selectorIndex]]
			selectorIndex++
			decoded = 0
		}

		v := currentHuffmanTree.Decode(br)
		decoded++

		if v < 2 {
			// This is either the RUNA or RUNB symbol.
			if repeat == 0 {
				repeatPower = 1
			}
			repeat += repeatPower << v
			repeatPower <<= 1

			// This limit of 2 million comes from the bzip2 source
			// code. It prevents repeat from overflowing.
			if repeat > 2*1024*1024 {
				return StructuralError("repeat count too large")
			}
			continue
		}

		if repeat > 0 {
			// We have decoded a complete run-length so we need to
			// replicate the last output symbol.
			if repeat > bz2.blockSize-bufIndex {
				return StructuralError("repeats past end of block")
			}
			for i := 0; i < repeat; i++ {
				b := mtf.First()
				bz2.tt[bufIndex] = uint32(b)
				bz2.c[b]++
				bufIndex++
			}
			repeat = 0
		}

		if int(v) == numSymbols-1 {
			// This is the EOF symbol. Because it's always at the
			// end of the move-to-front list, and never gets moved
			// to the front, it has this unique value.
			break
		}

		// Since two metasymbols (RUNA and RUNB) have values 0 and 1,
		// one would expect |v-2| to be passed to the MTF decoder.
		// However, the front of the MTF list is never referenced as 0,
		// it's always referenced with a run-length of 1. Thus 0
		// doesn't need to be encoded and we have |v-1| in the next
		// line.
		b := mtf.Decode(int(v - 1))
		if bufIndex >= bz2.blockSize {
			return StructuralError("data exceeds block size")
		}
		bz2.tt[bufIndex] = uint32(b)
		bz2.c[b]++
		bufIndex++
	}

	if origPtr >= uint(bufIndex) {
		return StructuralError("origPtr out of bounds")
	}

	// We have completed the entropy decoding. Now we can perform the
	// inverse BWT and setup the RLE buffer.
	tt := bz2.tt[:bufIndex]
	bz2.preRLEUsed = 0
	bz2.pre = bz2.walk(tt, inverseBWT(tt, origPtr, bz2.c[:]))
	bz2.lastByte = -1
	bz2.byteRepeats = 0
	bz2.repeats = 0

	return nil
}

// inverseBWT implements the inverse Burrows-Wheeler transform as described in
// http://www.hpl.hp.com/techreports/Compaq-DEC/SRC-RR-124.pdf, section 4.2.
// In that document, origPtr is called “I” and c is the “C” array after the
// first pass over the data. It's an argument here because we merge the first
// pass with the Huffman decoding.
//
// This also implements the “single array” method from the bzip2 source code
// which leaves the output, still shuffled, in the bottom 8 bits of tt with the
// index of the next byte in the top 24-bits. The index of the first byte is
// returned.
func inverseBWT(tt []uint32, origPtr uint, c []uint) uint32 {
	sum := uint(0)
	for i := 0; i < 256; i++ {
		sum += c[i]
		c[i] = sum - c[i]
	}

	for i := range tt {
		b := tt[i] & 0xff
		tt[c[b]] |= uint32(i) << 8
		c[b]++
	}

	return tt[origPtr] >> 8
}

// This is a standard CRC32 like in hash/crc32 except that all the shifts are reversed,
// causing the bits in the input to be processed in the reverse of the usual order.

// crctab holds the tables of a slicing-by-8 CRC: crctab[0] is bzip2's
// (CRC-32, MSB first), crctab[k] advances a byte's CRC by k more bytes.
var crctab [8][256]uint32

func init() {
	const poly = 0x04C11DB7
	for i := range crctab[0] {
		crc := uint32(i) << 24
		for j := 0; j < 8; j++ {
			if crc&0x80000000 != 0 {
				crc = (crc << 1) ^ poly
			} else {
				crc <<= 1
			}
		}
		crctab[0][i] = crc
	}
	for k := 1; k < 8; k++ {
		for i := range crctab[k] {
			c := crctab[k-1][i]
			crctab[k][i] = c<<8 ^ crctab[0][c>>24]
		}
	}
}

// updateCRC updates the crc value to incorporate the data in b.
// The initial value is 0.
func updateCRC(val uint32, b []byte) uint32 {
	crc := ^val
	t := &crctab
	for len(b) >= 8 {
		a := crc ^ (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
		c := uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
		crc = t[7][a>>24] ^ t[6][byte(a>>16)] ^ t[5][byte(a>>8)] ^ t[4][byte(a)] ^
			t[3][c>>24] ^ t[2][byte(c>>16)] ^ t[1][byte(c>>8)] ^ t[0][byte(c)]
		b = b[8:]
	}
	for _, v := range b {
		crc = t[0][byte(crc>>24)^v] ^ (crc << 8)
	}
	return ^crc
}
