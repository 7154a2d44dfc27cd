package pack

// Reading single objects by id (commits and trees while Blobs reads the
// blobs).

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
)

// ErrNotFound means the object is in no pack and not loose.
var ErrNotFound = errors.New("object not found")

// Reader reads single objects by id (commits while Blobs reads the
// blobs). It is not safe for concurrent use; the Store it reads may be
// used by other Readers and by Blobs meanwhile.
type Reader struct {
	s  *Store
	z  inflater
	br *bufio.Reader
	// cache, when set (SetCache), keeps delta bases read before.
	cache *baseCache
}

// NewReader returns a Reader of s.
func (s *Store) NewReader() *Reader { return &Reader{s: s} }

// Object returns the type ("commit", "tree", "blob" or "tag") and content
// of object id; the content may use buf's memory.
func (r *Reader) Object(id ID, buf []byte) (typ string, data []byte, err error) {
	defer r.s.guard(debug.SetPanicOnFault(true), &err)
	return r.object(id, buf)
}

func (r *Reader) object(id ID, buf []byte) (string, []byte, error) {
	for _, p := range r.s.packs {
		if i := p.lookup(id[:]); i >= 0 {
			typ, data, err := r.at(p, p.offs[i], buf, 0)
			if err != nil {
				return "", nil, fmt.Errorf("%s: object %s: %w", p.name, id, err)
			}
			return typeNames[typ], data, nil
		}
	}
	hexID := id.String()
	for _, dir := range r.s.loose {
		raw, err := os.ReadFile(filepath.Join(dir, hexID[:2], hexID[2:]))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		return r.loose(id, raw, buf)
	}
	return "", nil, fmt.Errorf("object %s: %w", id, ErrNotFound)
}

var typeNames = [8]string{objCommit: "commit", objTree: "tree", objBlob: "blob", objTag: "tag"}

// maxChain bounds delta chains (git's own limit is 4095).
const maxChain = 10000

// at reads the object at offset off of p, resolving its delta chain.
func (r *Reader) at(p *packFile, off int64, buf []byte, depth int) (byte, []byte, error) {
	if depth > maxChain {
		return 0, nil, errors.New("delta chain too long (a loop?)")
	}
	if off < 12 || off >= p.size-20 {
		return 0, nil, fmt.Errorf("offset %d outside the pack", off)
	}
	if r.cache != nil {
		if typ, data, ok := r.cache.get(p, off); ok {
			if depth == 0 {
				// The caller may reuse what it gets as buf.
				data = append(buf[:0], data...)
			}
			return typ, data, nil
		}
	}
	// The header and the zlib data after it: mapped, or through one
	// buffered reader, one read of the file for a small object (a tree's
	// delta).
	var h []byte
	if p.data != nil {
		h = p.data[off:min(off+32, p.size-20)]
	} else {
		if r.br == nil {
			r.br = bufio.NewReaderSize(nil, 4096)
		}
		r.br.Reset(io.NewSectionReader(p.f, off, p.size-20-off))
		var err error
		h, err = r.br.Peek(32)
		if len(h) == 0 {
			return 0, nil, fmt.Errorf("read at %d: %v", off, err)
		}
	}
	i := 0
	c := h[i]
	i++
	typ := c >> 4 & 7
	size := int64(c & 15)
	for shift := 4; c&0x80 != 0; shift += 7 {
		if i >= len(h) || shift > 56 {
			return 0, nil, errors.New("bad object header")
		}
		c = h[i]
		i++
		size |= int64(c&0x7f) << shift
	}
	var baseOff int64 // an ofs-delta's base
	var bid ID        // a ref-delta's base
	switch typ {
	case objCommit, objTree, objBlob, objTag:
	case objOfsDelta:
		if i >= len(h) {
			return 0, nil, errors.New("bad delta header")
		}
		c = h[i]
		i++
		d := int64(c & 0x7f)
		for c&0x80 != 0 {
			if i >= len(h) || d > 1<<50 {
				return 0, nil, errors.New("bad delta header")
			}
			c = h[i]
			i++
			d = (d+1)<<7 | int64(c&0x7f)
		}
		if d <= 0 || d > off {
			return 0, nil, errors.New("bad delta base offset")
		}
		baseOff = off - d
	case objRefDelta:
		if i+20 > len(h) {
			return 0, nil, errors.New("bad delta header")
		}
		copy(bid[:], h[i:i+20])
		i += 20
	default:
		return 0, nil, fmt.Errorf("unknown type %d", typ)
	}
	// What follows the header is all its zlib data can be: a size over
	// what that inflates to is refused before it is allocated.
	if size < 0 || size > maxInflated(p.size-20-off-int64(i)) {
		return 0, nil, errors.New("bad object size")
	}
	// This object's data first: reading the base resets r.br.
	var data []byte
	var err error
	if p.data != nil {
		data, _, err = r.z.exactBytes(p.data[off+int64(i):p.size-20], size, buf)
	} else {
		data, err = r.buffered(i, size, buf)
	}
	if err != nil {
		return 0, nil, err
	}
	var baseTyp byte
	var base []byte
	switch {
	case typ == objOfsDelta:
		baseTyp, base, err = r.at(p, baseOff, nil, depth+1)
	case typ == objRefDelta:
		if j := p.lookup(bid[:]); j >= 0 {
			baseTyp, base, err = r.at(p, p.offs[j], nil, depth+1)
			break
		}
		var name string
		name, base, err = r.object(bid, nil)
		for t, n := range typeNames {
			if n == name && n != "" {
				baseTyp = byte(t)
			}
		}
	}
	if err != nil {
		return 0, nil, err
	}
	if typ != objOfsDelta && typ != objRefDelta {
		if depth > 0 && r.cache != nil {
			r.cache.put(p, off, typ, data) // read into no buf: its own
		}
		return typ, data, nil
	}
	out, _, err := applyDelta(base, data, nil, nil)
	if err != nil {
		return 0, nil, err
	}
	if depth > 0 && r.cache != nil {
		r.cache.put(p, off, baseTyp, out)
	}
	return baseTyp, out, nil
}

// buffered inflates the object whose header (i bytes) r.br has just
// peeked at: from the bytes its one read of the file brought when the
// whole stream is among them (a commit, a small tree: the whole-buffer
// decoder, 1.6 to 1.8 times klauspost's speed on them), else streamed. The
// decoder succeeds only on a whole stream within those bytes (checksum
// included); on any error the streamed read decides.
func (r *Reader) buffered(i int, size int64, buf []byte) ([]byte, error) {
	if int64(cap(buf)) < size { // once, for both tries
		buf = make([]byte, size)
	}
	if b, _ := r.br.Peek(r.br.Buffered()); len(b) > i {
		if data, _, err := r.z.exactBytes(b[i:], size, buf); err == nil {
			return data, nil
		}
	}
	if _, err := r.br.Discard(i); err != nil {
		return nil, err
	}
	return r.z.exact(r.br, size, buf)
}
