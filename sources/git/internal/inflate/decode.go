package inflate

import "encoding/binary"

// huffman decodes one Huffman block into dst from op, with main tables
// of lb and db bits, and returns the new op.
//
// The hot loop, so one function over 80 lines: it was 75% of this
// package's CPU in `bks detect git` on git/git (pprof, 1.94 of 2.60 s),
// the rest table building and adler32. The bit buffer lives in locals,
// written back to br only around a slow refill and at the end. One refill per symbol gives at least 56 bits: a
// length (15+5 bits) and its distance (15+13) need 48.
func huffman(br *bitReader, dst []byte, op int, lt *[litSize]uint32, dt *[distSize]uint32, lb, db uint) (int, error) {
	src := br.src
	pos, buf, n := br.pos, br.buf, br.n
	lmask, dmask := uint64(1)<<lb-1, uint64(1)<<db-1
	for {
		if pos <= len(src)-8 {
			buf |= binary.LittleEndian.Uint64(src[pos:]) << (n & 63)
			pos += int(63-n) >> 3
			n |= 56
		} else {
			br.pos, br.buf, br.n = pos, buf, n
			if !br.refillSlow() {
				return op, ErrTruncated
			}
			pos, buf, n = br.pos, br.buf, br.n
		}
		e := lt[buf&lmask&(litSize-1)]
		if e&fLiteral != 0 {
			// Up to three literals on one refill (45 bits), each
			// entry looked up while the last byte is written.
			buf >>= e & 31
			n -= uint(e & 31)
			if op >= len(dst) {
				return op, ErrTooLong
			}
			dst[op] = byte(e >> 16)
			op++
			e = lt[buf&lmask&(litSize-1)]
			if e&fLiteral != 0 {
				buf >>= e & 31
				n -= uint(e & 31)
				if op >= len(dst) {
					return op, ErrTooLong
				}
				dst[op] = byte(e >> 16)
				op++
				e = lt[buf&lmask&(litSize-1)]
				if e&fLiteral != 0 {
					buf >>= e & 31
					n -= uint(e & 31)
					if op >= len(dst) {
						return op, ErrTooLong
					}
					dst[op] = byte(e >> 16)
					op++
					continue
				}
			}
			// A match needs 48 bits: refill (e's bits stay).
			if pos <= len(src)-8 {
				buf |= binary.LittleEndian.Uint64(src[pos:]) << (n & 63)
				pos += int(63-n) >> 3
				n |= 56
			} else {
				br.pos, br.buf, br.n = pos, buf, n
				if !br.refillSlow() {
					return op, ErrTruncated
				}
				pos, buf, n = br.pos, br.buf, br.n
			}
		}
		if e&fExc != 0 {
			if e&fSub != 0 {
				buf >>= e & 31
				n -= uint(e & 31)
				e = lt[(uint64(e>>16)+buf&(1<<(e>>8&15)-1))&(litSize-1)]
				if e&fLiteral != 0 {
					buf >>= e & 31
					n -= uint(e & 31)
					if op >= len(dst) {
						return op, ErrTooLong
					}
					dst[op] = byte(e >> 16)
					op++
					continue
				}
			}
			if e&fExc != 0 {
				if e&fEOB == 0 {
					return op, ErrCorrupt
				}
				buf >>= e & 31
				n -= uint(e & 31)
				br.pos, br.buf, br.n = pos, buf, n
				return op, nil
			}
		}
		saved := buf
		buf >>= e & 31
		n -= uint(e & 31)
		length := int(e>>16) + int(saved&(1<<(e&31)-1)>>(e>>8&15))

		e = dt[buf&dmask&(distSize-1)]
		if e&fExc != 0 {
			if e&fSub == 0 {
				return op, ErrCorrupt
			}
			buf >>= e & 31
			n -= uint(e & 31)
			e = dt[(uint64(e>>16)+buf&(1<<(e>>8&15)-1))&(distSize-1)]
			if e&fExc != 0 {
				return op, ErrCorrupt
			}
		}
		saved = buf
		buf >>= e & 31
		n -= uint(e & 31)
		dist := int(e>>16) + int(saved&(1<<(e&31)-1)>>(e>>8&15))
		if dist > op {
			return op, ErrCorrupt
		}
		if length > len(dst)-op {
			return op, ErrTooLong
		}
		from, end := op-dist, op+length
		switch {
		case dist >= 8 && end <= len(dst)-16:
			// 16 bytes a step, in program order: with dist >= 8 each
			// 8-byte read is of bytes already written.
			for op < end {
				binary.LittleEndian.PutUint64(dst[op:], binary.LittleEndian.Uint64(dst[from:]))
				binary.LittleEndian.PutUint64(dst[op+8:], binary.LittleEndian.Uint64(dst[from+8:]))
				op += 16
				from += 16
			}
		case dist >= length:
			copy(dst[op:end], dst[from:])
		default:
			for ; op < end; op++ {
				dst[op] = dst[op-dist]
			}
		}
		op = end
	}
}
