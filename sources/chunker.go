package sources

import (
	"bytes"
	"errors"
	"io"

	"github.com/bks-dev/bks/location"
)

// DefaultChunkSize is the size of a chunk's own region.
const DefaultChunkSize = 1 << 20

// Chunker splits a stream into overlapping chunks. Overlap must be at least
// the longest match a detector can make: the consumer sets it (see
// Source.Chunks), sources only apply it.
type Chunker struct {
	Size    int // own bytes per chunk; DefaultChunkSize if 0
	Overlap int
	// LookBack is how many bytes before its own a chunk repeats from the
	// previous one (Chunk.Start); the consumer sets it too.
	LookBack int
}

func (c Chunker) size() int {
	if c.Size <= 0 {
		return DefaultChunkSize
	}
	return c.Size
}

// BufLen is the length of the read buffer Split needs: a chunk's own
// bytes, the look-back and the overlap.
func (c Chunker) BufLen() int { return c.LookBack + c.size() + c.Overlap }

// Split reads r to the end and yields its chunks. buf, if large enough, is
// reused as the read buffer, so callers can pool it.
func (c Chunker) Split(r io.Reader, origin *location.Location, buf []byte, yield func(Chunk) error) error {
	size := c.size()
	need := c.BufLen()
	if cap(buf) < need {
		buf = make([]byte, need)
	}
	buf = buf[:need]
	line, col := 1, 1
	var off int64
	have := 0  // bytes carried over at the start of buf
	start := 0 // look-back bytes at the start of buf
	for {
		n, err := io.ReadFull(r, buf[have:start+size+c.Overlap])
		have += n
		// A read error ends the blob like EOF does: what was read before
		// it is still scanned, then the error is returned.
		last := err != nil
		if have == start {
			return readErr(err)
		}
		limit := have
		if !last {
			limit = start + size
		}
		ch := Chunk{Data: buf[:have], Start: start, Limit: limit, Offset: off, Line: line, Column: col, Origin: origin}
		if yerr := yield(ch); yerr != nil {
			return yerr
		}
		if last {
			return readErr(err)
		}
		line, col = advance(buf[start:limit], line, col)
		off += int64(limit - start)
		keep := max(0, limit-c.LookBack)
		have = copy(buf, buf[keep:have])
		start = limit - keep
	}
}

// advance returns the line and column after own, which starts at line,
// col.
func advance(own []byte, line, col int) (int, int) {
	if nl := bytes.Count(own, []byte{'\n'}); nl > 0 {
		return line + nl, len(own) - bytes.LastIndexByte(own, '\n')
	}
	return line, col + len(own)
}

// readErr is nil for the ends of a reader (io.EOF, and io.ErrUnexpectedEOF
// from io.ReadFull), and err otherwise.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return err
}

// SplitBytes yields the chunks of an in-memory blob without copying.
func (c Chunker) SplitBytes(data []byte, origin *location.Location, yield func(Chunk) error) error {
	size := c.size()
	line, col := 1, 1
	for start := 0; ; {
		end := min(len(data), start+size+c.Overlap)
		back := max(0, start-c.LookBack)
		limit := end - back
		last := end == len(data)
		if !last {
			limit = start - back + size
		}
		if err := yield(Chunk{Data: data[back:end], Start: start - back, Limit: limit, Offset: int64(start), Line: line, Column: col, Origin: origin}); err != nil {
			return err
		}
		if last {
			return nil
		}
		line, col = advance(data[start:back+limit], line, col)
		start = back + limit
	}
}
