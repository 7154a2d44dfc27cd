package inflate

// Huffman decode tables, built as libdeflate builds them: one main table
// indexed by the next tb bits of input (tb at most the longest codeword),
// and subtables for the longer codewords, filled by doubling the table
// once per codeword length instead of one write per replica.

import "math/bits"

// A table entry is a uint32:
//
//	bit 31      literal (value = the byte)
//	bits 16-30  value: literal, length or distance base, subtable start
//	bit 15      exceptional: end of block, subtable pointer or invalid
//	bit 14      subtable pointer (bits 8-11: its bits)
//	bit 13      end of block
//	bits 8-11   codeword length (the shift to the extra bits)
//	bits 0-4    bits to consume: codeword length plus extra bits
//
// An exceptional entry that is neither end of block nor subtable pointer
// is invalid: a code compress/flate lets through but fails on when used
// (an empty code, the unused half of a one-codeword code, fixed codes
// 286, 287 and distances 30, 31).
const (
	fLiteral = 1 << 31
	fExc     = 1 << 15
	fSub     = 1 << 14
	fEOB     = 1 << 13
	invalid  = fExc
)

const (
	// litTB and distTB cap the main table bits of a dynamic code.
	litTB  = 11
	distTB = 8
	// Table arrays are powers of two so a masked index needs no bounds
	// check; each is larger than the most a code can fill (libdeflate's
	// ENOUGH: 2342 for 288 symbols at 11 bits, 402 for 32 at 8).
	litSize  = 4096
	distSize = 512
	preSize  = 128
	maxLen   = 15
)

var (
	litResults  [288]uint32
	distResults [32]uint32
	preResults  [19]uint32
	// the fixed code's tables (RFC 1951 3.2.6)
	fixedLit     [litSize]uint32
	fixedDist    [distSize]uint32
	fixedLitTB   uint
	fixedDistTB  uint
	precodeOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

func init() {
	for i := range 256 {
		litResults[i] = fLiteral | uint32(i)<<16
	}
	litResults[256] = fExc | fEOB
	base, extra := uint32(3), uint32(0)
	for s := 257; s < 285; s++ {
		litResults[s] = base<<16 | extra
		base += 1 << extra
		if s >= 264 && (s-260)%4 == 0 {
			extra++
		}
	}
	litResults[285] = 258 << 16
	litResults[286], litResults[287] = invalid, invalid
	base, extra = 1, 0
	for s := range 30 {
		distResults[s] = base<<16 | extra
		base += 1 << extra
		if s >= 3 && s%2 == 1 {
			extra++
		}
	}
	distResults[30], distResults[31] = invalid, invalid
	for s := range preResults {
		preResults[s] = uint32(s) << 16
	}
	var lens [288]uint8
	for i := range lens {
		lens[i] = [4]uint8{8, 9, 7, 8}[fixedBand(i)]
	}
	fixedLitTB, _ = build(fixedLit[:], lens[:], countLens(lens[:]), litResults[:], litTB)
	for i := range 32 {
		lens[i] = 5
	}
	fixedDistTB, _ = build(fixedDist[:], lens[:32], countLens(lens[:32]), distResults[:], distTB)
}

// fixedBand is which of the fixed code's four length bands symbol s is in.
func fixedBand(s int) int {
	switch {
	case s < 144:
		return 0
	case s < 256:
		return 1
	case s < 280:
		return 2
	}
	return 3
}

// entry is symbol s's entry for a codeword of length n.
func entry(results []uint32, s uint16, n uint) uint32 {
	return results[s] + uint32(n)<<8 + uint32(n)
}

// counts is how many codewords a code has of each length (index 0 unused).
type counts = [maxLen + 1]uint16

// countLens counts lens' lengths.
func countLens(lens []uint8) *counts {
	var c counts
	for _, n := range lens {
		c[n&maxLen]++
	}
	return &c
}

// build fills table for the code of the given codeword lengths (0: no
// codeword), count[n] of them n long. It returns the main table's bits,
// or ok false for a code compress/flate refuses: every code but an empty
// one and a single codeword of length 1 must be complete, neither over-
// nor under-subscribed (flate's huffmanDecoder.init).
func build(table []uint32, lens []uint8, count *counts, results []uint32, maxTB uint) (tb uint, ok bool) {
	longest, code := uint(maxLen), 0
	for longest > 0 && count[longest] == 0 {
		longest--
	}
	for n := uint(1); n <= longest; n++ {
		code = code<<1 + int(count[n])
	}
	switch {
	case longest == 0:
		table[0], table[1] = invalid, invalid
		return 1, true
	case code == 1 && longest == 1:
		for s, n := range lens {
			if n != 0 {
				table[0], table[1] = entry(results, uint16(s), 1), invalid
			}
		}
		return 1, true
	case code != 1<<longest:
		return 0, false
	}
	// A counting sort by length; the symbols of no codeword go after
	// the others, so the loop has no branch.
	var offs [maxLen + 1]uint16
	for n := 1; n < maxLen; n++ {
		offs[n+1] = offs[n] + count[n]
	}
	offs[0] = offs[maxLen] + count[maxLen]
	used := offs[0]
	var sorted [288]uint16
	for s, n := range lens {
		sorted[offs[n&maxLen]%288] = uint16(s)
		offs[n&maxLen]++
	}
	tb = min(maxTB, longest)
	return tb, fill(table, count, sorted[:used], results, tb)
}

// fill writes the entries of a complete code whose symbols are sorted
// by (codeword length, symbol), libdeflate's build_decode_table: the
// codeword is kept bit-reversed, as the input is read LSB first. It is
// false if the subtables would not fit in table (they do in the tables
// of this package: see ENOUGH).
func fill(table []uint32, count *counts, sorted []uint16, results []uint32, tb uint) bool {
	n := uint(1)
	for count[n] == 0 {
		n++
	}
	left := count[n]
	codeword, end := uint(0), uint(1)<<n
	for n <= tb {
		table[codeword] = entry(results, sorted[0], n)
		sorted = sorted[1:]
		if codeword == end-1 { // all ones: the last codeword
			for ; n < tb; n++ {
				copy(table[end:end<<1], table[:end])
				end <<= 1
			}
			return true
		}
		codeword = next(codeword, end-1)
		if left--; left > 0 {
			continue
		}
		for left == 0 {
			if n++; n <= tb {
				copy(table[end:end<<1], table[:end])
				end <<= 1
			}
			left = count[n]
		}
	}
	return subtables(table, count, sorted, results, tb, n, left, codeword)
}

// next is the bit-reversed canonical codeword after codeword, whose
// length has all-ones value ones.
func next(codeword, ones uint) uint {
	bit := uint(1) << (bits.Len(codeword^ones) - 1)
	return codeword&(bit-1) | bit
}

// subtables fills the entries of the codewords longer than tb, starting
// with codeword, of length n, the first of left such.
func subtables(table []uint32, count *counts, sorted []uint16, results []uint32, tb, n uint, left uint16, codeword uint) bool {
	end := uint(1) << tb
	prefix, start := ^uint(0), uint(0)
	mask := end - 1
	for {
		if codeword&mask != prefix {
			prefix, start = codeword&mask, end
			sub := n - tb
			used := uint(left)
			for used < 1<<sub {
				sub++
				used = used<<1 + uint(count[tb+sub])
			}
			end = start + 1<<sub
			if end > uint(len(table)) {
				return false
			}
			table[prefix] = uint32(start)<<16 | fExc | fSub | uint32(sub)<<8 | uint32(tb)
		}
		e := entry(results, sorted[0], n-tb)
		sorted = sorted[1:]
		for i := start + codeword>>tb; i < end; i += 1 << (n - tb) {
			table[i] = e
		}
		if codeword == 1<<n-1 {
			return true
		}
		codeword = next(codeword, 1<<n-1)
		for left--; left == 0; {
			n++
			left = count[n]
		}
	}
}
