// Package inflate decodes one whole zlib stream (RFC 1950, DEFLATE RFC
// 1951) from memory into a buffer of its exact inflated size, as a pack
// object's data is decoded: its size is in the object header, its bytes
// are in memory.
//
// compress/flate and klauspost/compress/flate read through an
// io.ByteReader one byte at a time and rebuild their tables through a
// general streaming API; on git/git's pack, mostly deltas of a few
// hundred bytes, that per-object setup and byte-wise reading was half of
// `bks detect git`'s CPU. Here, as in libdeflate: a 64-bit bit buffer
// refilled 8 bytes at a time, a main table plus subtables built by
// doubling, a literal/match loop that copies 8 bytes at a time away from
// the end of dst and checks each write near it, and tables reused by a
// Decoder from one object to the next.
//
// Hostile input is expected: no read or write leaves src or dst (every
// table index is masked to its array, every copy checked), each step of
// the loop consumes input bits and writes output bytes or ends a block,
// and the streams compress/zlib refuses are refused (the same Huffman
// code checks as its huffmanDecoder.init), those it accepts give the same
// bytes (FuzzZlib compares the two).
//
// Measured (go test -bench, median of 3, thread CPU time, the 2-core
// machine shared; 2026-12-07): on every 43rd entry of git/git's pack
// (19,744, 1.1 KB inflated on average) 5.2 us of CPU an object, 1.6x less
// than klauspost/compress/zlib through pack's reused reader (8.5 us) and
// 2.4x less than compress/zlib (12.7); on those of 200 to 500 bytes of
// zlib data (4,297, 510 B inflated) 3.2 us against 5.8 and 6.2 (1.8x); on
// 3 MB of Go text at level 6, 478 MB/s against 252 and 206 (1.9x). The
// pack entries of 20,000 blobs that `git cat-file --batch` prints as 614
// MB (48 MB inflated: mostly deltas) take 0.14 s of CPU here, 0.28 s with
// klauspost, 0.34 s with compress/zlib, while cat-file takes 3.7 to 4.3 s
// (user+sys) to print them: 0.23 ms per MB of blob content here, 0.46
// with klauspost, 6 to 7 in cat-file (BenchmarkBlobs). Copying matches
// 16 bytes a step rather than 8 gave 14 to 27% on the real mix; an 11-bit
// main table rather than 10, 0 to 8% (within the noise); copy() for long
// matches that do not overlap, nothing measurable. Giving src 8 bytes
// past the stream, so its end needs no byte-wise refill, saves 3 to 7%
// on the small objects.
package inflate

import (
	"encoding/binary"
	"errors"
)

var (
	ErrHeader = errors.New("inflate: bad zlib header")
	// ErrDictionary: the stream wants a preset dictionary.
	ErrDictionary = errors.New("inflate: zlib stream needs a dictionary")
	ErrCorrupt    = errors.New("inflate: corrupt deflate data")
	ErrTruncated  = errors.New("inflate: truncated zlib stream")
	ErrChecksum   = errors.New("inflate: bad adler32 checksum")
	// ErrTooLong and ErrTooShort: the stream holds more or fewer bytes
	// than dst.
	ErrTooLong  = errors.New("inflate: more data than its size says")
	ErrTooShort = errors.New("inflate: less data than its size says")
)

// Decoder holds the tables of a dynamic block; one Decoder decodes one
// stream after another with no reset. Not safe for concurrent use.
type Decoder struct {
	lit  [litSize]uint32
	dist [distSize]uint32
	pre  [preSize]uint32
	lens [286 + 30]uint8
}

// Zlib decodes the zlib stream at the start of src into dst, which must
// be exactly as long as the stream's data, and checks its adler32. It
// returns dst and how many bytes of src the stream used (what follows is
// not looked at).
func (d *Decoder) Zlib(dst, src []byte) (out []byte, consumed int, err error) {
	start, err := header(src)
	if err != nil {
		return nil, 0, err
	}
	br := bitReader{src: src, pos: start}
	if err := d.inflate(&br, dst); err != nil {
		return nil, 0, err
	}
	p, ok := br.align()
	if !ok || len(src)-p < 4 {
		return nil, 0, ErrTruncated
	}
	if binary.BigEndian.Uint32(src[p:]) != checksum(dst) {
		return nil, 0, ErrChecksum
	}
	return dst, p + 4, nil
}

// header checks the zlib header and returns where the deflate data
// starts. Like compress/zlib, it takes a preset dictionary whose id is
// the empty dictionary's adler32 (1) and refuses others.
func header(src []byte) (int, error) {
	if len(src) < 2 {
		return 0, ErrTruncated
	}
	h := uint(src[0])<<8 | uint(src[1])
	if src[0]&0x0f != 8 || src[0]>>4 > 7 || h%31 != 0 {
		return 0, ErrHeader
	}
	if src[1]&0x20 == 0 {
		return 2, nil
	}
	if len(src) < 6 {
		return 0, ErrTruncated
	}
	if binary.BigEndian.Uint32(src[2:]) != 1 {
		return 0, ErrDictionary
	}
	return 6, nil
}

// inflate decodes the deflate blocks into all of dst.
func (d *Decoder) inflate(br *bitReader, dst []byte) error {
	op := 0
	for final := false; !final; {
		if !br.refill() {
			return ErrTruncated
		}
		final = br.buf&1 != 0
		kind := br.buf >> 1 & 3
		br.consume(3)
		var err error
		switch kind {
		case 0:
			op, err = stored(br, dst, op)
		case 1:
			op, err = huffman(br, dst, op, &fixedLit, &fixedDist, fixedLitTB, fixedDistTB)
		case 2:
			var lb, db uint
			if lb, db, err = d.readCodes(br); err == nil {
				op, err = huffman(br, dst, op, &d.lit, &d.dist, lb, db)
			}
		default:
			err = ErrCorrupt
		}
		if err != nil {
			return err
		}
	}
	if op != len(dst) {
		return ErrTooShort
	}
	return nil
}

// stored copies a stored block.
func stored(br *bitReader, dst []byte, op int) (int, error) {
	p, ok := br.align()
	src := br.src
	if !ok || len(src)-p < 4 {
		return op, ErrTruncated
	}
	n := int(binary.LittleEndian.Uint16(src[p:]))
	if uint16(n) != ^binary.LittleEndian.Uint16(src[p+2:]) {
		return op, ErrCorrupt
	}
	p += 4
	if len(src)-p < n {
		return op, ErrTruncated
	}
	if len(dst)-op < n {
		return op, ErrTooLong
	}
	copy(dst[op:], src[p:p+n])
	br.pos = p + n
	return op + n, nil
}

// readCodes reads a dynamic block's code lengths and builds its tables,
// returning their main bits.
func (d *Decoder) readCodes(br *bitReader) (lb, db uint, err error) {
	if !br.refill() {
		return 0, 0, ErrTruncated
	}
	nlit := int(br.bits(5)) + 257
	ndist := int(br.bits(5)) + 1
	nclen := int(br.bits(4)) + 4
	if nlit > 286 || ndist > 30 {
		return 0, 0, ErrCorrupt
	}
	var plens [19]uint8
	for i := range nclen {
		if i%10 == 0 && !br.refill() {
			return 0, 0, ErrTruncated
		}
		plens[precodeOrder[i]] = uint8(br.bits(3))
	}
	pb, ok := build(d.pre[:], plens[:], countLens(plens[:]), preResults[:], 7)
	if !ok {
		return 0, 0, ErrCorrupt
	}
	lens := d.lens[:nlit+ndist]
	var lc counts
	if err := d.readLengths(br, lens, pb, &lc); err != nil {
		return 0, 0, err
	}
	dc := countLens(lens[nlit:])
	for i := range lc {
		lc[i] -= dc[i]
	}
	lb, ok1 := build(d.lit[:], lens[:nlit], &lc, litResults[:], litTB)
	db, ok2 := build(d.dist[:], lens[nlit:], dc, distResults[:], distTB)
	if !ok1 || !ok2 {
		return 0, 0, ErrCorrupt
	}
	return lb, db, nil
}

// readLengths decodes the code lengths with the precode table, counting
// them in c. Each symbol takes at most 14 bits: four per refill.
func (d *Decoder) readLengths(br *bitReader, lens []uint8, pb uint, c *counts) error {
	pmask := uint64(1)<<pb - 1
	for i, k := 0, 0; i < len(lens); k-- {
		if k == 0 {
			if !br.refill() {
				return ErrTruncated
			}
			k = 4
		}
		e := d.pre[br.buf&pmask&(preSize-1)]
		if e&fExc != 0 {
			return ErrCorrupt
		}
		br.consume(uint(e & 31))
		sym := uint8(e >> 16)
		if sym < 16 {
			lens[i] = sym
			c[sym]++
			i++
			continue
		}
		var rep int
		var v uint8
		switch sym {
		case 16:
			if i == 0 {
				return ErrCorrupt
			}
			rep, v = 3+int(br.bits(2)), lens[i-1]
		case 17:
			rep = 3 + int(br.bits(3))
		default:
			rep = 11 + int(br.bits(7))
		}
		if rep > len(lens)-i {
			return ErrCorrupt
		}
		c[v] += uint16(rep)
		for range rep {
			lens[i] = v
			i++
		}
	}
	return nil
}
