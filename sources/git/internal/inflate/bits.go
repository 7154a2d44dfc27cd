package inflate

import "encoding/binary"

// bitReader reads src LSB first through a 64-bit buffer refilled eight
// bytes at a time (libdeflate's branchless refill), byte by byte near the
// end, where bytes past the end read as zeros: a stream that uses them is
// truncated, which end and the stored-block reader check.
type bitReader struct {
	src []byte
	// pos is the next byte to load; past len(src) it counts the zero
	// bytes loaded beyond the end.
	pos int
	buf uint64
	// n is the number of valid bits in buf, 0..63; bits above it are
	// zeros or the next input bits, so a refill may OR them in again.
	n uint
}

// refill tops buf up to at least 56 bits. It is false when the stream
// has certainly read past the end of src.
func (br *bitReader) refill() bool {
	if br.pos <= len(br.src)-8 {
		br.buf |= binary.LittleEndian.Uint64(br.src[br.pos:]) << (br.n & 63)
		br.pos += int(63-br.n) >> 3
		br.n |= 56
		return true
	}
	return br.refillSlow()
}

func (br *bitReader) refillSlow() bool {
	for br.n <= 55 {
		if br.pos < len(br.src) {
			br.buf |= uint64(br.src[br.pos]) << (br.n & 63)
		}
		br.pos++
		br.n += 8
	}
	// buf holds at most 8 bytes, whole or partial: the ninth zero byte
	// loaded means the first one was consumed.
	return br.pos <= len(br.src)+8
}

// bits consumes and returns the next k bits; the caller refilled.
func (br *bitReader) bits(k uint) uint32 {
	v := uint32(br.buf & (1<<(k&31) - 1))
	br.consume(k)
	return v
}

func (br *bitReader) consume(k uint) {
	br.buf >>= k & 63
	br.n -= k
}

// align drops the bits up to the next byte boundary and returns the
// position of that byte in src, emptying the buffer. It is false when
// that position is past the end (the stream read zeros beyond it).
func (br *bitReader) align() (int, bool) {
	p := br.pos - int(br.n>>3)
	br.buf, br.n, br.pos = 0, 0, p
	return p, p <= len(br.src)
}
