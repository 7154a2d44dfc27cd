package findings

import (
	"bytes"
	"context"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/sources"
)

// Handler receives findings as they are found. It may be called from several
// goroutines at once when the source yields concurrently; Sink serializes.
type Handler func(Finding) error

// Filter decides about a finding with the text of the line it is on (valid
// only during the call): true keeps it; false with f.Suppressed set keeps it
// as suppressed; false with f.Suppressed empty drops it.
type Filter func(f *Finding, line []byte) (keep bool)

// Scan runs src through eng and calls h for every finding. It returns the
// source's error or the first error of h.
func Scan(ctx context.Context, src sources.Source, eng *detectors.Engine, h Handler) error {
	return ScanFiltered(ctx, src, eng, nil, h)
}

// ScanFiltered is Scan with a filter (allowlists, baseline, inline ignores).
func ScanFiltered(ctx context.Context, src sources.Source, eng *detectors.Engine, filter Filter, h Handler) error {
	return src.Chunks(ctx, func(c sources.Chunk) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return ScanChunkFiltered(c, eng, filter, h)
	})
}

// ScanChunk scans one chunk.
func ScanChunk(c sources.Chunk, eng *detectors.Engine, h Handler) error {
	return ScanChunkFiltered(c, eng, nil, h)
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

// ScanChunkFiltered scans one chunk, passing each finding through filter
// (when not nil) before h.
func ScanChunkFiltered(c sources.Chunk, eng *detectors.Engine, filter Filter, h Handler) error {
	var err error
	lineAt, line, col := 0, c.Line, c.Column
	eng.Scan(c.Data, c.Limit, func(m detectors.Match) {
		if err != nil {
			return
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
		loc := Location{Line: line, Column: col}
		if o := c.Origin; o != nil {
			loc.Path, loc.Repo, loc.Commit = o.Path, o.Repo, o.Commit
			loc.Author, loc.Email, loc.Message = o.Author, o.Email, o.Message
			loc.InHead, loc.HTMLURL, loc.Kind, loc.Transcoded = o.InHead, o.HTMLURL, o.Kind, o.Transcoded
			if !o.Date.IsZero() {
				d := o.Date.UTC()
				loc.Date = &d
			}
		}
		f := New(m, loc)
		if filter != nil && !filter(&f, LineAt(c.Data, m.Start, m.End)) && f.Suppressed == "" {
			return
		}
		err = h(f)
	})
	return err
}
