package detectors

// pairFilter is a superset of Engine.hit that SIMD instructions can test
// 32 positions at a time (the "Teddy" filter of Hyperscan, which ripgrep's
// literal search uses too): every indexed pair (c0, c1) is put in one of 8
// buckets, and a position passes bucket b when the low and the high nibble
// of its first byte each occur among the first bytes of b's pairs, and
// likewise for its second byte. A pair in b always passes b; a position
// that passes no bucket holds no indexed pair, and only the few that pass
// one are looked up in Engine.hit.
type pairFilter struct {
	lo0, hi0, lo1, hi1 [16]uint8
}

// pass returns the buckets the pair (c0, c1) passes: zero means it is not
// indexed.
func (f *pairFilter) pass(c0, c1 byte) uint8 {
	return f.lo0[c0&15] & f.hi0[c0>>4] & f.lo1[c1&15] & f.hi1[c1>>4]
}

// blockMask is the filter on the 32 positions data[0:32] (it reads
// data[0:33]): bit j is set when position j passes some bucket. It is what
// pairBlocks computes with AVX2, written out for tests and other CPUs.
func (f *pairFilter) blockMask(data []byte) uint32 {
	_ = data[32]
	var m uint32
	for j := 0; j < 32; j++ {
		if f.pass(data[j], data[j+1]) != 0 {
			m |= 1 << j
		}
	}
	return m
}

// maxPairFilterRate bounds the share of positions of source text that may
// pass the filter (estimated with byteFreq): above it, the blocks would
// mostly have a false candidate, and the scalar loop is faster.
const maxPairFilterRate = 1.0 / 256

// maxFilterPairs bounds the pairs newPairFilter buckets (its work grows
// with their square): with more, far more than 1 position in 256 passes
// anyway.
const maxFilterPairs = 256

// newPairFilter buckets the pairs flagged in hit so that few positions of
// source text pass: each bucket passes the product of the bytes its nibble
// sets allow first and second, so pairs sharing bytes or nibbles go
// together. It assigns greedily, then moves pairs while that lowers the
// estimated rate. ok is false when the estimate stays above
// maxPairFilterRate.
func newPairFilter(hit *[1 << 16]uint8) (f pairFilter, rate float64, ok bool) {
	var pairs [][2]byte
	for w := range hit {
		if hit[w] != 0 {
			pairs = append(pairs, [2]byte{byte(w), byte(w >> 8)})
		}
	}
	const nb = 8
	if len(pairs) == 0 || len(pairs) > maxFilterPairs {
		return f, 1, false
	}
	bucket := make([]int, len(pairs))
	cost := func() float64 {
		var t [nb]pairFilter
		for k, p := range pairs {
			if bucket[k] < 0 {
				continue // not assigned yet
			}
			b := &t[bucket[k]]
			b.lo0[p[0]&15], b.hi0[p[0]>>4], b.lo1[p[1]&15], b.hi1[p[1]>>4] = 1, 1, 1, 1
		}
		s := 0.0
		for b := range t {
			s += nibbleMass(&t[b].lo0, &t[b].hi0) * nibbleMass(&t[b].lo1, &t[b].hi1)
		}
		return s
	}
	for k := range pairs {
		bucket[k] = -1
	}
	best := 0.0
	for k := range pairs {
		bestB, bestC := 0, -1.0
		for b := 0; b < nb; b++ {
			bucket[k] = b
			if c := cost(); bestC < 0 || c < bestC {
				bestB, bestC = b, c
			}
		}
		bucket[k], best = bestB, bestC
	}
	for round := 0; round < 4; round++ {
		moved := false
		for k := range pairs {
			was := bucket[k]
			for b := 0; b < nb; b++ {
				if b == was {
					continue
				}
				bucket[k] = b
				if c := cost(); c < best {
					best, was, moved = c, b, true
				}
			}
			bucket[k] = was
		}
		if !moved {
			break
		}
	}
	for k, p := range pairs {
		bit := uint8(1) << bucket[k]
		f.lo0[p[0]&15] |= bit
		f.hi0[p[0]>>4] |= bit
		f.lo1[p[1]&15] |= bit
		f.hi1[p[1]>>4] |= bit
	}
	rate = best
	return f, rate, rate <= maxPairFilterRate
}

// nibbleMass is the estimated share of bytes of source text whose low
// nibble is flagged in lo and high nibble in hi.
func nibbleMass(lo, hi *[16]uint8) float64 {
	s := 0
	for h := 0; h < 16; h++ {
		if hi[h] == 0 {
			continue
		}
		for l := 0; l < 16; l++ {
			if lo[l] != 0 {
				s += int(byteFreq[h<<4|l])
			}
		}
	}
	return float64(s) / byteFreqTotal
}

// byteFreq is how often each byte occurs in source text, per 2^18 bytes
// (at least 1): measured on Go's source tree and AWS SDK docs, examples
// and infrastructure code (the bench corpus).
var byteFreq = [256]uint16{
	20037, 781, 654, 462, 410, 228, 154, 152, 285, 5319, 5142, 69, 143, 56, 219, 433,
	291, 87, 83, 107, 132, 125, 50, 83, 126, 26, 56, 50, 63, 55, 35, 108,
	30226, 537, 1950, 80, 261, 444, 494, 125, 2729, 2688, 237, 124, 2744, 226, 3464, 1777,
	1488, 1001, 623, 523, 423, 304, 381, 190, 386, 269, 1817, 151, 135, 2078, 85, 51,
	292, 950, 660, 1640, 692, 1524, 853, 306, 976, 1391, 169, 139, 942, 663, 914, 791,
	901, 137, 970, 1827, 1379, 254, 354, 259, 185, 190, 96, 158, 115, 155, 37, 1320,
	164, 8614, 1578, 6335, 3837, 16550, 4073, 3271, 2216, 8487, 69, 1566, 5843, 4351, 9270, 8942,
	3256, 531, 14610, 7517, 12306, 5368, 1194, 2158, 1613, 1219, 194, 1206, 158, 1214, 35, 68,
	217, 86, 73, 183, 142, 150, 51, 40, 70, 313, 27, 201, 57, 161, 36, 36,
	92, 76, 29, 44, 80, 30, 21, 52, 44, 23, 25, 21, 31, 17, 21, 32,
	92, 26, 26, 14, 32, 25, 25, 69, 43, 56, 70, 11, 31, 36, 16, 18,
	57, 30, 28, 26, 33, 23, 38, 89, 56, 94, 28, 22, 27, 20, 45, 53,
	246, 136, 126, 56, 50, 27, 88, 60, 76, 57, 37, 27, 99, 27, 36, 24,
	60, 36, 56, 38, 27, 26, 42, 30, 47, 45, 25, 25, 30, 17, 29, 33,
	99, 58, 46, 75, 42, 42, 29, 51, 152, 97, 33, 107, 79, 28, 31, 34,
	111, 35, 39, 75, 50, 27, 55, 47, 89, 104, 41, 50, 179, 72, 84, 1517,
}

var byteFreqTotal = func() float64 {
	s := 0
	for _, v := range byteFreq {
		s += int(v)
	}
	return float64(s)
}()

// pairBlocksGo returns the first block of 32 positions data[off:off+32]
// (off a multiple of 32, off+33 <= len(data)) where some position passes
// f, with blockMask of it, or the first off past the last whole block and
// mask 0.
func pairBlocksGo(data []byte, f *pairFilter) (off int, mask uint32) {
	for ; off+33 <= len(data); off += 32 {
		if m := f.blockMask(data[off:]); m != 0 {
			return off, m
		}
	}
	return off, 0
}
