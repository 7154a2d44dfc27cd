// Package scan runs sources through the detector engine: it cuts every blob
// a source yields into chunks that overlap by the engine's longest match,
// scans each chunk, and turns each match into a finding at its line and
// column, with the place the source gave for the blob.
//
// It is the one place that knows how chunks must overlap: sources take
// their Chunker from here (Source.Chunks), so no caller passes an overlap.
// It is a package of its own so that findings holds only the finding type
// (it imports neither sources nor the scan loop) and sources know nothing
// of keys.
package scan

import (
	"bytes"
	"context"
	"sync"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/sources"
)

// Handler receives findings as they are found. It may be called from
// several goroutines at once when the source yields concurrently.
type Handler func(findings.Finding) error

// Filter decides about a finding with the text of the line it is on (both
// valid only during the call): true keeps it; false with f.Suppressed set
// keeps it as suppressed; false with f.Suppressed empty drops it.
type Filter func(f *findings.Finding, line []byte) (keep bool)

// Scanner scans sources with one engine.
type Scanner struct {
	Engine *detectors.Engine
	// Filter, when set, decides about every finding before the handler
	// (allowlists, baseline, inline ignores).
	Filter Filter
	// ChunkSize is the size of a chunk's own bytes; sources.DefaultChunkSize
	// if 0. Tests make it small to put keys across chunk boundaries.
	ChunkSize int
	// Transient says that the handler keeps nothing of a finding once it
	// returns, not even its Key: a report written line by line. The
	// findings of a chunk then share one Key (findings.Keys.Reuse).
	Transient bool
}

// Run scans src with eng and calls h for every finding. It returns the
// source's error or the first error of h.
func Run(ctx context.Context, src sources.Source, eng *detectors.Engine, h Handler) error {
	return Scanner{Engine: eng}.Run(ctx, src, h)
}

// Run scans src and calls h for every finding the filter keeps. It returns
// the source's error or the first error of h.
func (s Scanner) Run(ctx context.Context, src sources.Source, h Handler) error {
	return src.Chunks(ctx, s.Chunker(), func(c sources.Chunk) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return s.Chunk(c, h)
	})
}

// Chunker is how the scan cuts blobs: chunks of ChunkSize own bytes that
// overlap by the longest match the engine can make, so that a key across a
// boundary is seen whole by exactly one chunk.
func (s Scanner) Chunker() sources.Chunker {
	return sources.Chunker{Size: s.ChunkSize, Overlap: s.Engine.MaxMatchLen(), LookBack: s.Engine.LookBack()}
}

// LineContext bounds how much of a line around a match LineAt returns.
const LineContext = 4096

// LineAt returns the line of data holding the match data[start:end], without
// its line ending, cut to LineContext bytes either side of the match
// (minified files have lines of megabytes).
func LineAt(data []byte, start, end int) []byte {
	start = min(max(start, 0), len(data))
	end = min(max(end, start), len(data))
	lo := max(0, start-LineContext)
	i := bytes.LastIndexByte(data[lo:start], '\n') + 1 + lo
	hi := min(len(data), end+LineContext)
	j := bytes.IndexByte(data[end:hi], '\n')
	if j < 0 {
		j = hi
	} else {
		j += end
	}
	return bytes.TrimSuffix(data[i:j], []byte{'\r'})
}

// Chunk scans one chunk, passing each finding through the filter (when
// set) before h.
func (s Scanner) Chunk(c sources.Chunk, h Handler) error {
	if allZero(c.Data) && !s.Engine.HasAnchor(zeros[:min(len(zeros), s.Engine.MaxAnchorLen()+8)]) {
		return nil // no literal that triggers a check: nothing to find
	}
	var err error
	lineAt, line, col := c.Start, c.Line, c.Column
	// One finding per chunk, reused: the filter takes its address, which
	// would otherwise put every finding on the heap (h gets a copy). It
	// comes from a pool, taken at the chunk's first match: a finding of
	// its own would be a heap allocation of ~450 bytes per chunk, that is
	// per file of a tree (19,833 on the AWS-dense bench corpus).
	// The keys of its findings are allocated in blocks, from the same pool.
	var st *chunkState
	var f *findings.Finding
	s.Engine.ScanChunk(c.Data, c.Start, c.Limit, func(m detectors.Match) {
		if err != nil {
			return
		}
		if st == nil {
			st = chunkPool.Get().(*chunkState)
			st.keys.Reuse = s.Transient
			f = &st.f
		}
		// Advance the line counter incrementally: matches come in order.
		seg := c.Data[lineAt:m.Start]
		if nl := bytes.Count(seg, []byte{'\n'}); nl > 0 {
			line += nl
			col = len(seg) - bytes.LastIndexByte(seg, '\n')
		} else {
			col += len(seg)
		}
		lineAt = m.Start
		var loc findings.Location
		if c.Origin != nil {
			loc = *c.Origin
		}
		loc.Line, loc.Column = line, col
		*f = st.keys.New(m, loc)
		if s.Filter != nil && !s.Filter(f, LineAt(c.Data, m.Start, m.End)) && f.Suppressed == "" {
			return
		}
		err = h(*f)
	})
	if st != nil {
		*f = findings.Finding{} // keeps nothing of this chunk alive
		st.keys.Forget()
		chunkPool.Put(st)
	}
	return err
}

// chunkState is what Chunk reuses from one chunk to the next.
type chunkState struct {
	f    findings.Finding
	keys findings.Keys
}

var chunkPool = sync.Pool{New: func() any { return new(chunkState) }}

// zeros is a block of zero bytes to compare with.
var zeros [4096]byte

// allZero says whether b holds only zero bytes: the holes of sparse archive
// members and of disk images, which compare at memory speed and which the
// engine would walk at a few GB/s for nothing.
func allZero(b []byte) bool {
	if len(b) == 0 || b[0] != 0 {
		return len(b) == 0
	}
	for len(b) > len(zeros) {
		if !bytes.Equal(b[:len(zeros)], zeros[:]) {
			return false
		}
		b = b[len(zeros):]
	}
	return bytes.Equal(b, zeros[:len(b)])
}
