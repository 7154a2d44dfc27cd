package pack

// Applying a git delta, recording which bytes it inserted (Blob.Fresh).

import (
	"errors"
	"fmt"
)

// applyDelta applies git delta d to base, into dst, and lists the spans of
// the result not copied from base in one piece.
func applyDelta(base, d, dst []byte, fresh []Span) ([]byte, []Span, error) {
	out, fresh, _, err := patch(base, d, dst, fresh, nil, false)
	return out, fresh, err
}

// Copy is one copy op of a delta: Len bytes of the base from From, at At
// in the result.
type Copy struct{ At, From, Len int }

// patch is applyDelta that also lists the delta's copy ops, in order, in
// copies when rec is set.
func patch(base, d, dst []byte, fresh []Span, copies []Copy, rec bool) ([]byte, []Span, []Copy, error) {
	src, d, ok := deltaSize(d)
	if !ok || src != uint64(len(base)) {
		return nil, nil, nil, fmt.Errorf("delta for a base of %d bytes, applied to %d", src, len(base))
	}
	size, d, ok := deltaSize(d)
	// Each op takes a byte at least and gives at most a copy of the base
	// or 127 inserted bytes: a larger size is a lie, not to be allocated.
	if !ok || size > uint64(len(d))*uint64(max(len(base), 127)) {
		return nil, nil, nil, errors.New("bad delta size")
	}
	if uint64(cap(dst)) < size {
		dst = make([]byte, size)
	}
	dst = dst[:size]
	o := 0
	prevEnd := -1 // end in base of the previous copy, -1 after an insert
	for len(d) > 0 {
		c := d[0]
		d = d[1:]
		switch {
		case c&0x80 != 0:
			var off, n uint32
			var ok1, ok2 bool
			off, d, ok1 = copyArg(c, 0, 4, d)
			n, d, ok2 = copyArg(c, 4, 3, d)
			if !ok1 || !ok2 {
				return nil, nil, nil, errors.New("truncated delta")
			}
			if n == 0 {
				n = 0x10000
			}
			if uint64(off)+uint64(n) > uint64(len(base)) || o+int(n) > len(dst) {
				return nil, nil, nil, errors.New("delta copies outside its base or result")
			}
			if o > 0 && prevEnd != int(off) && prevEnd >= 0 {
				fresh = append(fresh, Span{o, o})
			}
			copy(dst[o:], base[off:off+n])
			if rec {
				copies = append(copies, Copy{At: o, From: int(off), Len: int(n)})
			}
			o += int(n)
			prevEnd = int(off + n)
		case c != 0:
			n := int(c)
			if n > len(d) || o+n > len(dst) {
				return nil, nil, nil, errors.New("truncated delta")
			}
			copy(dst[o:], d[:n])
			d = d[n:]
			if l := len(fresh); l > 0 && fresh[l-1].End == o {
				fresh[l-1].End = o + n
			} else {
				fresh = append(fresh, Span{o, o + n})
			}
			o += n
			prevEnd = -1
		default:
			return nil, nil, nil, errors.New("delta opcode 0")
		}
	}
	if o != len(dst) {
		return nil, nil, nil, fmt.Errorf("delta wrote %d of %d bytes", o, len(dst))
	}
	return dst, fresh, copies, nil
}

// copyArg reads the little-endian bytes of a copy op's offset (bits 0-3
// of c say which are present) or size (bits 4-6).
func copyArg(c byte, shift, count int, d []byte) (uint32, []byte, bool) {
	var v uint32
	for i := range count {
		if c&(1<<(shift+i)) != 0 {
			if len(d) == 0 {
				return 0, nil, false
			}
			v |= uint32(d[0]) << (8 * i)
			d = d[1:]
		}
	}
	return v, d, true
}

func deltaSize(d []byte) (uint64, []byte, bool) {
	var v uint64
	for i := 0; i < len(d) && i < 10; i++ {
		v |= uint64(d[i]&0x7f) << (7 * i)
		if d[i]&0x80 == 0 {
			return v, d[i+1:], true
		}
	}
	return 0, nil, false
}
