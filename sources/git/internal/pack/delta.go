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
	r, err := newDeltaReader(base, d)
	if err != nil {
		return nil, nil, nil, err
	}
	if uint64(cap(dst)) < r.size {
		dst = make([]byte, r.size)
	}
	dst = dst[:r.size]
	for {
		op, ok, err := r.next(&fresh)
		if err != nil {
			return nil, nil, nil, err
		}
		if !ok {
			break
		}
		if op.insert {
			copy(dst[op.at:], r.all[op.from:op.from+op.n])
			continue
		}
		copy(dst[op.at:], base[op.from:op.from+op.n])
		if rec {
			copies = append(copies, Copy{At: op.at, From: op.from, Len: op.n})
		}
	}
	return dst, fresh, copies, nil
}

// deltaReader reads a git delta's ops one by one, checking each against
// its base and its result's size as git does, and keeping the fresh spans
// (the result's bytes not copied from the base in one piece): patch and
// parseDelta read deltas through it, so both refuse the same ones.
type deltaReader struct {
	base, all, d []byte // d: what is left of all, the delta
	size         uint64 // the result's
	o            int    // the result's bytes so far
	prevEnd      int    // end in base of the previous copy, -1 after an insert
}

// newDeltaReader reads d's header: the base's size, which must be
// len(base), and the result's.
func newDeltaReader(base, d []byte) (deltaReader, error) {
	r := deltaReader{base: base, all: d, prevEnd: -1}
	src, d, ok := deltaSize(d)
	if !ok || src != uint64(len(base)) {
		return r, fmt.Errorf("delta for a base of %d bytes, applied to %d", src, len(base))
	}
	size, d, ok := deltaSize(d)
	// Each op takes a byte at least and gives at most a copy of the base
	// or 127 inserted bytes: a larger size is a lie, not to be allocated.
	if !ok || size > uint64(len(d))*uint64(max(len(base), 127)) {
		return r, errors.New("bad delta size")
	}
	r.d, r.size = d, size
	return r, nil
}

// next returns the next op (an insert's from is in r.all), adding the
// fresh spans it makes to *fresh; false once every op was read and they
// wrote the whole result.
func (r *deltaReader) next(fresh *[]Span) (deltaOp, bool, error) {
	if len(r.d) == 0 {
		if uint64(r.o) != r.size {
			return deltaOp{}, false, fmt.Errorf("delta wrote %d of %d bytes", r.o, r.size)
		}
		return deltaOp{}, false, nil
	}
	c := r.d[0]
	r.d = r.d[1:]
	o := r.o
	switch {
	case c&0x80 != 0:
		off, d, ok1 := copyArg(c, 0, 4, r.d)
		n, d, ok2 := copyArg(c, 4, 3, d)
		if !ok1 || !ok2 {
			return deltaOp{}, false, errors.New("truncated delta")
		}
		r.d = d
		if n == 0 {
			n = 0x10000
		}
		if uint64(off)+uint64(n) > uint64(len(r.base)) || uint64(o)+uint64(n) > r.size {
			return deltaOp{}, false, errors.New("delta copies outside its base or result")
		}
		if o > 0 && r.prevEnd != int(off) && r.prevEnd >= 0 {
			*fresh = append(*fresh, Span{o, o})
		}
		r.o += int(n)
		r.prevEnd = int(off + n)
		return deltaOp{at: o, from: int(off), n: int(n)}, true, nil
	case c != 0:
		n := int(c)
		if n > len(r.d) || uint64(o)+uint64(n) > r.size {
			return deltaOp{}, false, errors.New("truncated delta")
		}
		from := len(r.all) - len(r.d)
		r.d = r.d[n:]
		if l := len(*fresh); l > 0 && (*fresh)[l-1].End == o {
			(*fresh)[l-1].End = o + n
		} else {
			*fresh = append(*fresh, Span{o, o + n})
		}
		r.o += n
		r.prevEnd = -1
		return deltaOp{at: o, from: from, n: n, insert: true}, true, nil
	default:
		return deltaOp{}, false, errors.New("delta opcode 0")
	}
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
	r, err := newDeltaReader(base, d)
	if err != nil {
		return 0, nil, nil, err
	}
	for {
		op, ok, err := r.next(&fresh)
		if err != nil {
			return 0, nil, nil, err
		}
		if !ok {
			return r.o, ops, fresh, nil
		}
		ops = append(ops, op)
	}
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
