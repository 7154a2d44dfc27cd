package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bks-dev/bks/findings"
)

// FindingError is a finding a reporter could not write as it was. With
// Written the finding is in the report all the same, without the fields
// Omitted names; without it the finding is missing. Either way the report
// stays well-formed and the reporter takes the findings that follow: one
// crafted finding never hides the others.
type FindingError struct {
	Fingerprint string
	Written     bool
	Omitted     []string // JSON field names left out
	Err         error
}

func (e *FindingError) Error() string {
	if e.Written {
		return fmt.Sprintf("report: finding %s written without %s: %v", e.Fingerprint, strings.Join(e.Omitted, ", "), e.Err)
	}
	return fmt.Sprintf("report: finding %s not written: %v", e.Fingerprint, e.Err)
}

func (e *FindingError) Unwrap() error { return e.Err }

// writtenAnyway reports whether err leaves the finding in the report: no
// error, or a FindingError with Written.
func writtenAnyway(err error) bool {
	if err == nil {
		return true // before fe, which errors.As puts on the heap: once per finding
	}
	var fe *FindingError
	return errors.As(err, &fe) && fe.Written
}

// writable reports whether JSON can write t: RFC 3339 has four-digit years.
func writable(t *time.Time) bool {
	return t == nil || t.Year() >= 0 && t.Year() <= 9999
}

// representable returns a copy of f without the times JSON cannot write,
// and the names of the fields it left out. f is not changed.
func representable(f *findings.Finding) (findings.Finding, []string) {
	g := *f
	var omitted []string
	if g.Key != nil && (!writable(g.Key.IssuedAt) || !writable(g.Key.ExpiresAt)) {
		k := *g.Key
		if !writable(k.IssuedAt) {
			k.IssuedAt = nil
			omitted = append(omitted, "key.issued_at")
		}
		if !writable(k.ExpiresAt) {
			k.ExpiresAt = nil
			omitted = append(omitted, "key.expires_at")
		}
		if k.TimeError == "" {
			k.TimeError = "a time outside years 0000-9999, which RFC 3339 can write, was omitted"
		}
		g.Key = &k
	}
	if !writable(g.Date) {
		g.Date = nil
		omitted = append(omitted, "date")
	}
	if len(g.Locations) > 0 {
		g.Locations = append([]findings.Location(nil), g.Locations...)
		for i := range g.Locations {
			if !writable(g.Locations[i].Date) {
				g.Locations[i].Date = nil
				omitted = append(omitted, fmt.Sprintf("locations[%d].date", i))
			}
		}
	}
	return g, omitted
}

// encodeResilient appends the JSON of build(f) to buf, without Encode's
// newline, and scrubs it of the key. When f cannot be encoded it tries
// again with representable(f) and returns a *FindingError; on failure buf
// is as it was.
func encodeResilient(buf *bytes.Buffer, f *findings.Finding, opts Options, prefix string, indent bool, build func(*findings.Finding) any) error {
	start := buf.Len()
	enc := func(v any) error {
		if err := appendJSON(buf, v, prefix, indent); err != nil {
			return err
		}
		scrubTail(buf, start, f, opts)
		return nil
	}
	err := enc(build(f))
	if err == nil {
		return nil
	}
	fe := &FindingError{Fingerprint: f.Fingerprint, Err: err}
	if g, omitted := representable(f); len(omitted) > 0 && enc(build(&g)) == nil {
		fe.Written, fe.Omitted = true, omitted
	}
	return fe
}

// appendJSON appends v's JSON to buf without Encode's trailing newline,
// indented with prefix when indent is set. On error buf is as it was.
func appendJSON(buf *bytes.Buffer, v any, prefix string, indent bool) error {
	if f, ok := v.(*findings.Finding); ok && !indent {
		if b, ok := appendFindingJSON(buf.AvailableBuffer(), f); ok {
			buf.Write(b)
			return nil
		}
	}
	start := buf.Len()
	e := json.NewEncoder(buf)
	e.SetEscapeHTML(false)
	if indent {
		e.SetIndent(prefix, "  ")
	}
	if err := e.Encode(v); err != nil {
		buf.Truncate(start)
		return err
	}
	buf.Truncate(buf.Len() - 1)
	return nil
}
