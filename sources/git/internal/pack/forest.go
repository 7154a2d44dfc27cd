package pack

// Workers walk the delta forest of a pack: every object inflated once and
// every delta applied once, onto its base still in memory.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zlib"

	"github.com/bks-dev/bks/sources/git/internal/inflate"
)

// worker holds one goroutine's buffers.
type worker struct {
	id      int
	visit   Visitor
	st      *Stats
	tasks   chan task
	pending *sync.WaitGroup
	z       inflater
	delta   []byte
	bufs    [][]byte // content by depth
	fresh   []Span
	blob    Blob
	// skipOver is Store.SkipOver.
	skipOver int64
	// window reads the pack in windows when it is not mapped: the objects
	// of a delta tree lie near one another (on git/git, 262,000 reads of
	// the file became 20,000, a tenth of the scan's CPU).
	window window
	// lazy is Store.Lazy; ops, leaf and scratch are lazyLeaf's.
	lazy    bool
	ops     []deltaOp
	leaf    lazyDelta
	scratch []byte
}

// inflate reads object k's zlib data into dst (resized to want bytes).
func (w *worker) inflate(p *packFile, k int32, want int64, dst []byte) ([]byte, error) {
	start, end := p.off[k]+int64(p.hdr[k]), p.end(k)
	if end < start || want < 0 || want > maxInflated(end-start) {
		return nil, fmt.Errorf("object %s: size %d does not fit its %d bytes of data", p.id(k), want, end-start)
	}
	if p.data != nil {
		cb, err := p.span(start, end)
		if err != nil {
			return nil, fmt.Errorf("object %s: %v", p.id(k), err)
		}
		return w.inflateBytes(cb, want, dst, func() string { return p.id(k).String() })
	}
	return w.window.inflate(w, p, start, end, want, dst, func() string { return p.id(k).String() })
}

func (w *worker) inflateBytes(cb []byte, want int64, dst []byte, name func() string) ([]byte, error) {
	data, _, err := w.z.exactBytes(cb, want, dst)
	if err != nil {
		return nil, fmt.Errorf("object %s: %v", name(), err)
	}
	return data, nil
}

// maxInflated is the most a zlib stream of n bytes can inflate to
// (deflate expands 1032 times at most): an object declaring more is
// corrupt, and is refused before its size is allocated.
func maxInflated(n int64) int64 { return n*1032 + 64 }

// inflater inflates zlib streams: one whole in memory with the
// whole-buffer decoder (package inflate, 1.6 to 1.8 times klauspost's
// speed on pack objects, which are mostly small), one read through an
// io.Reader with klauspost's reused decompressor.
type inflater struct {
	zr io.ReadCloser
	d  *inflate.Decoder
}

// exactBytes is exact with the whole stream at the start of src (what
// follows it is not looked at); it also returns how many bytes of src
// the stream took.
func (z *inflater) exactBytes(src []byte, size int64, dst []byte) ([]byte, int, error) {
	if z.d == nil {
		z.d = new(inflate.Decoder)
	}
	if int64(cap(dst)) < size {
		dst = make([]byte, size)
	}
	out, n, err := z.d.Zlib(dst[:size], src)
	if err != nil {
		return nil, 0, err // its text says "inflate: ..."
	}
	return out, n, nil
}

func (z *inflater) reset(src io.Reader) error {
	if z.zr == nil {
		var err error
		z.zr, err = zlib.NewReader(src)
		return err
	}
	return z.zr.(zlib.Resetter).Reset(src, nil)
}

// exact inflates src, a stream of exactly size bytes, into dst.
func (z *inflater) exact(src io.Reader, size int64, dst []byte) ([]byte, error) {
	if err := z.reset(src); err != nil {
		return nil, err
	}
	if int64(cap(dst)) < size {
		dst = make([]byte, size)
	}
	dst = dst[:size]
	if _, err := io.ReadFull(z.zr, dst); err != nil {
		return nil, fmt.Errorf("inflate: %v", err)
	}
	var one [1]byte
	if n, err := z.zr.Read(one[:]); n != 0 || err != io.EOF {
		return nil, errors.New("inflate: more data than its size says (or a bad checksum)")
	}
	return dst, nil
}

func (w *worker) buf(depth int) []byte {
	for len(w.bufs) <= depth {
		w.bufs = append(w.bufs, nil)
	}
	return w.bufs[depth]
}

// maxKeep is the largest buffer a worker keeps between tasks: one huge
// blob must not hold its memory for the rest of the scan.
const maxKeep = 64 << 20

func (w *worker) do(t task) error {
	defer func() {
		for i, b := range w.bufs {
			if cap(b) > maxKeep {
				w.bufs[i] = nil
			}
		}
		if cap(w.delta) > maxKeep {
			w.delta = nil
		}
		if cap(w.ops) > maxKeep/32 {
			w.ops = nil
		}
		w.leaf = lazyDelta{}
		if cap(w.window.buf) > maxKeep {
			w.window = window{}
		}
	}()
	switch {
	case t.pack == nil:
		return w.looseObject(t.loose)
	case t.base != nil:
		if err := w.delta1(t.pack, t.root, t.base, t.state, 1); err != nil {
			return fmt.Errorf("%s: %w", t.pack.name, err)
		}
		return nil
	}
	return w.tree(t.pack, t.root)
}

// tree visits root and every delta under it, depth first, each delta
// applied to its base while the base is in memory.
func (w *worker) tree(p *packFile, root int32) error {
	if w.skipOver > 0 && p.size64[root] > w.skipOver && p.first[root+1] == p.first[root] {
		// Over the cap, and no delta needs it as a base: not read.
		w.blob = Blob{ID: p.id(root), Skipped: true, Size: p.size64[root]}
		w.visit(w.id, &w.blob)
		w.st.Blobs++
		w.st.Bytes += p.size64[root]
		return nil
	}
	data, err := w.inflate(p, root, p.size64[root], w.buf(0))
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	w.bufs[0] = data
	w.blob = Blob{ID: p.id(root), Data: data, Size: int64(len(data))}
	state := w.visit(w.id, &w.blob)
	w.st.Blobs++
	w.st.Bytes += int64(len(data))
	if err := w.children(p, root, data, state, 1); err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	return nil
}

func (w *worker) children(p *packFile, k int32, base []byte, state uint8, depth int) error {
	for _, c := range p.kids[p.first[k]:p.first[k+1]] {
		// A delta with deltas of its own goes to an idle worker, with a
		// copy of its base, when there is room for it: one long history
		// of one file is one tree, which would keep one core busy alone.
		if p.first[c+1] > p.first[c] && len(w.tasks) == 0 {
			w.pending.Add(1)
			select {
			case w.tasks <- task{pack: p, root: c, base: bytes.Clone(base), state: state}:
				continue
			default:
				w.pending.Done()
			}
		}
		if err := w.delta1(p, c, base, state, depth); err != nil {
			return err
		}
	}
	return nil
}

// delta1 visits delta c of base, then the deltas under it.
func (w *worker) delta1(p *packFile, c int32, base []byte, state uint8, depth int) error {
	d, err := w.inflate(p, c, p.size64[c], w.delta)
	if err != nil {
		return err
	}
	w.delta = d
	if w.lazy && p.first[c+1] == p.first[c] {
		return w.lazyLeaf(p, c, base, d, state, depth)
	}
	out, fresh, err := applyDelta(base, d, w.buf(depth), w.fresh[:0])
	if err != nil {
		return fmt.Errorf("object %s: %v", p.id(c), err)
	}
	w.bufs[depth], w.fresh = out, fresh
	w.blob = Blob{ID: p.id(c), Data: out, Delta: true, Base: state, Fresh: fresh, Size: int64(len(out))}
	s := w.visit(w.id, &w.blob)
	w.st.Blobs++
	w.st.Bytes += int64(len(out))
	if p.first[c+1] > p.first[c] {
		return w.children(p, c, out, s, depth+1)
	}
	return nil
}

// lazyLeaf visits delta c, which no delta has as its base, without
// writing its content unless the visitor asks for it (Store.Lazy).
func (w *worker) lazyLeaf(p *packFile, c int32, base, d []byte, state uint8, depth int) error {
	size, ops, fresh, err := parseDelta(base, d, w.ops[:0], w.fresh[:0])
	if err != nil {
		return fmt.Errorf("object %s: %v", p.id(c), err)
	}
	w.ops, w.fresh = ops, fresh
	w.buf(depth)
	w.leaf = lazyDelta{base: base, d: d, ops: ops, size: size, buf: &w.bufs[depth], scratch: &w.scratch}
	w.blob = Blob{ID: p.id(c), Delta: true, Base: state, Fresh: fresh, Size: int64(size), lazy: &w.leaf}
	w.visit(w.id, &w.blob)
	w.st.Blobs++
	w.st.Bytes += int64(size)
	return nil
}
