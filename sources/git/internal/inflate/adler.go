package inflate

import "encoding/binary"

// checksum is hash/adler32.Checksum eight bytes a step: s2 gains 8*s1
// plus the bytes weighted 8..1, s1 their sum, both computed on the eight
// bytes at once as 16-bit lanes of a 64-bit word (a multiply adds the
// weighted lanes into the top one), so s1 and s2 take one add a step
// instead of one each per byte. 5552 bytes (zlib's NMAX) between
// reductions keep s2 under 2^32.
func checksum(p []byte) uint32 {
	const mod, nmax = 65521, 5552
	const lanes = 0x00ff00ff00ff00ff
	s1, s2 := uint32(1), uint32(0)
	for len(p) > 0 {
		q := p[:min(len(p), nmax)]
		p = p[len(q):]
		for ; len(q) >= 8; q = q[8:] {
			v := binary.LittleEndian.Uint64(q)
			even, odd := v&lanes, v>>8&lanes
			w := (even*(8<<48|6<<32|4<<16|2) + odd*(7<<48|5<<32|3<<16|1)) >> 48
			sum := (even + odd) * 0x0001000100010001 >> 48
			s2 += 8*s1 + uint32(w)
			s1 += uint32(sum)
		}
		for _, c := range q {
			s1 += uint32(c)
			s2 += s1
		}
		s1 %= mod
		s2 %= mod
	}
	return s2<<16 | s1
}
