package report

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/bks-dev/bks/findings"
)

// jsonReporter streams a JSON array: "[" before the first finding, one
// indented element per finding, "]" at Close. With no finding it writes
// "[]", so the output is always one valid JSON document.
type jsonReporter struct {
	w      io.Writer
	opts   Options
	n      int
	buf    bytes.Buffer
	closed bool
}

var _ Reporter = (*jsonReporter)(nil)

func newJSON(w io.Writer, opts Options) *jsonReporter { return &jsonReporter{w: w, opts: opts} }

// encodeFinding appends f's JSON (no trailing newline) to buf. Its error
// is a *FindingError: see encodeResilient.
func encodeFinding(buf *bytes.Buffer, f *findings.Finding, opts Options, indent string) error {
	return encodeResilient(buf, f, opts, indent, indent != "", func(f *findings.Finding) any {
		if !opts.ShowSecrets && f.Secret == "" {
			return f // prepare would return a copy of f as it is
		}
		p := prepare(*f, opts)
		return &p
	})
}

func (r *jsonReporter) Finding(f findings.Finding) error {
	if !shown(&f, r.opts) {
		return nil
	}
	r.buf.Reset()
	if r.n == 0 {
		r.buf.WriteString("[\n  ")
	} else {
		r.buf.WriteString(",\n  ")
	}
	ferr := encodeFinding(&r.buf, &f, r.opts, "  ")
	if !writtenAnyway(ferr) {
		return ferr
	}
	r.n++
	if _, err := r.w.Write(r.buf.Bytes()); err != nil {
		return fmt.Errorf("report: write json: %w", err)
	}
	return ferr
}

func (r *jsonReporter) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	end := "\n]\n"
	if r.n == 0 {
		end = "[]\n"
	}
	if _, err := io.WriteString(r.w, end); err != nil {
		return fmt.Errorf("report: write json: %w", err)
	}
	return nil
}

// jsonlReporter writes one compact JSON object per line (JSON Lines). Its
// Finding may be called from several goroutines at once (Concurrent): each
// line is encoded in a scratch of its own, then handed whole to w, whose
// Write takes a lock. The scan's workers so encode in parallel, and one of
// them writing a full buffer to the output does not stop the other.
type jsonlReporter struct {
	w       *flusher
	opts    Options
	scratch sync.Pool // of *jsonlScratch
}

// jsonlScratch is where one finding's line is built.
type jsonlScratch struct {
	buf bytes.Buffer
	cur findings.Finding // the finding being written: Finding's f would escape
}

var _ Reporter = (*jsonlReporter)(nil)

func newJSONL(w *flusher, opts Options) *jsonlReporter { return &jsonlReporter{w: w, opts: opts} }

func (r *jsonlReporter) Finding(f findings.Finding) error {
	if !shown(&f, r.opts) {
		return nil
	}
	sc, _ := r.scratch.Get().(*jsonlScratch)
	if sc == nil {
		sc = new(jsonlScratch)
	}
	defer r.scratch.Put(sc)
	sc.buf.Reset()
	sc.cur = f
	ferr := encodeFinding(&sc.buf, &sc.cur, r.opts, "")
	sc.cur = findings.Finding{} // keeps nothing of f alive in the pool
	if !writtenAnyway(ferr) {
		return ferr
	}
	sc.buf.WriteByte('\n')
	if _, err := r.w.Write(sc.buf.Bytes()); err != nil {
		return fmt.Errorf("report: write jsonl: %w", err)
	}
	return ferr
}

func (r *jsonlReporter) Close() error { return nil }
