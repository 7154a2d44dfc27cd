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

// deltaOp is one op of a parsed delta: n bytes at at in the result, copied
// from base[from:] or, for an insert, from the delta's own d[from:].
type deltaOp struct {
	at, from, n int
	insert      bool
}

// parseDelta checks delta d against base as patch does (an error for the
// same deltas) and lists its ops and its fresh spans, without writing the
// result: a delta no other delta has as its base, of a base holding no
// anchor, is then read only near its fresh spans (Blob.Near). On git/git
// those are 121,000 of 262,000 blobs, 4.4 of the 8.1 GB once resolved.
func parseDelta(base, d []byte, ops []deltaOp, fresh []Span) (int, []deltaOp, []Span, error) {
	all := d
	src, d, ok := deltaSize(d)
	if !ok || src != uint64(len(base)) {
		return 0, nil, nil, fmt.Errorf("delta for a base of %d bytes, applied to %d", src, len(base))
	}
	size, d, ok := deltaSize(d)
	if !ok || size > uint64(len(d))*uint64(max(len(base), 127)) {
		return 0, nil, nil, errors.New("bad delta size")
	}
	o := 0
	prevEnd := -1
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
				return 0, nil, nil, errors.New("truncated delta")
			}
			if n == 0 {
				n = 0x10000
			}
			if uint64(off)+uint64(n) > uint64(len(base)) || uint64(o)+uint64(n) > size {
				return 0, nil, nil, errors.New("delta copies outside its base or result")
			}
			if o > 0 && prevEnd != int(off) && prevEnd >= 0 {
				fresh = append(fresh, Span{o, o})
			}
			ops = append(ops, deltaOp{at: o, from: int(off), n: int(n)})
			o += int(n)
			prevEnd = int(off + n)
		case c != 0:
			n := int(c)
			if n > len(d) || uint64(o)+uint64(n) > size {
				return 0, nil, nil, errors.New("truncated delta")
			}
			ops = append(ops, deltaOp{at: o, from: len(all) - len(d), n: n, insert: true})
			d = d[n:]
			if l := len(fresh); l > 0 && fresh[l-1].End == o {
				fresh[l-1].End = o + n
			} else {
				fresh = append(fresh, Span{o, o + n})
			}
			o += n
			prevEnd = -1
		default:
			return 0, nil, nil, errors.New("delta opcode 0")
		}
	}
	if uint64(o) != size {
		return 0, nil, nil, fmt.Errorf("delta wrote %d of %d bytes", o, size)
	}
	return o, ops, fresh, nil
}

// lazyDelta is a parsed delta whose result is written only when asked.
type lazyDelta struct {
	base, d []byte
	ops     []deltaOp
	size    int
	buf     *[]byte // where the result goes (a worker's buffer)
	scratch *[]byte // windows that span ops are assembled here
}

// write writes the whole result into *l.buf.
func (l *lazyDelta) write() []byte {
	dst := *l.buf
	if cap(dst) < l.size {
		dst = make([]byte, l.size)
	}
	dst = dst[:l.size]
	for _, op := range l.ops {
		if op.insert {
			copy(dst[op.at:], l.d[op.from:op.from+op.n])
		} else {
			copy(dst[op.at:], l.base[op.from:op.from+op.n])
		}
	}
	*l.buf = dst
	return dst
}

// window returns bytes [lo, hi) of the result, ops[*i:] holding lo (and
// *i moved there): a slice of the base or the delta when one op holds it
// all, else assembled in the scratch buffer.
func (l *lazyDelta) window(lo, hi int, i *int) []byte {
	if lo >= hi {
		return (*l.scratch)[:0]
	}
	for *i < len(l.ops) && l.ops[*i].at+l.ops[*i].n <= lo {
		*i++
	}
	src := func(op deltaOp) []byte {
		if op.insert {
			return l.d[op.from : op.from+op.n]
		}
		return l.base[op.from : op.from+op.n]
	}
	if op := l.ops[*i]; hi <= op.at+op.n {
		return src(op)[lo-op.at : hi-op.at]
	}
	out := (*l.scratch)[:0]
	for j := *i; lo < hi; j++ {
		op := l.ops[j]
		b := src(op)[lo-op.at : min(hi, op.at+op.n)-op.at]
		out = append(out, b...)
		lo += len(b)
	}
	*l.scratch = out
	return out
}
