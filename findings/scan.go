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

// Scan runs src through eng and calls h for every finding. It returns the
// source's error or the first error of h.
func Scan(ctx context.Context, src sources.Source, eng *detectors.Engine, h Handler) error {
	return src.Chunks(ctx, func(c sources.Chunk) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return ScanChunk(c, eng, h)
	})
}

// ScanChunk scans one chunk.
func ScanChunk(c sources.Chunk, eng *detectors.Engine, h Handler) error {
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
		err = h(New(m, loc))
	})
	return err
}
