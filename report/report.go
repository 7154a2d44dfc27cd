// Package report writes findings in the output formats of `bks detect`:
// text for people, json, jsonl and csv for scripts, and SARIF 2.1.0 for code
// scanning. Every format streams: a finding is written when it arrives, and
// only what a format must emit at the end (the text summary, SARIF's rule
// table) is kept.
//
// No format ever writes a key's secret unless Options.ShowSecrets is set.
package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/bks-dev/bks/findings"
)

// Options tune every format.
type Options struct {
	// ShowSecrets writes the whole key (the finding's `secret`). Without
	// it no output contains the key, only its redacted form.
	ShowSecrets bool
	// Color adds ANSI colour to the text format. Callers set it only when
	// writing to a terminal.
	Color bool
	// ShowSuppressed also writes suppressed findings (f.Suppressed != "")
	// in the text, json, jsonl and csv formats, which skip them otherwise.
	// SARIF always carries them, marked with `suppressions`, so that code
	// scanning closes the alert instead of losing track of it.
	ShowSuppressed bool
	// ToolVersion is bks's version, written in SARIF's tool.driver.
	ToolVersion string
}

// Reporter writes one report. Finding is called once per finding, in order,
// from one goroutine; Close finishes the document (and, for text, prints the
// summary). A Reporter does not close the writer it was given.
type Reporter interface {
	Finding(f findings.Finding) error
	Close() error
}

// MarkIncomplete tells rep, before Close, that the run did not scan
// everything, and why. SARIF says so in its run (an invocation with
// executionSuccessful false and the reason as a notification); the other
// formats have no place for it and ignore it (bks -o keeps their partial
// report under a name that says so).
func MarkIncomplete(rep Reporter, reason string) {
	if m, ok := rep.(interface{ markIncomplete(string) }); ok {
		m.markIncomplete(reason)
	}
}

// Concurrent says whether rep's Finding may be called from several
// goroutines at once (JSON Lines); otherwise its caller serializes the
// calls. Close must still come after every Finding has returned.
func Concurrent(rep Reporter) bool {
	_, ok := unbuffered(rep).(*jsonlReporter)
	return ok
}

// Transient says whether rep keeps nothing of a finding once Finding has
// returned: JSON Lines and CSV write each one whole at once. A scan may
// then reuse a finding's memory for the next (scan.Scanner.Transient).
func Transient(rep Reporter) bool {
	switch unbuffered(rep).(type) {
	case *jsonlReporter, *csvReporter:
		return true
	}
	return false
}

// unbuffered is rep without the flusher New put around it, if any.
func unbuffered(rep Reporter) Reporter {
	if b, ok := rep.(buffered); ok {
		return b.Reporter
	}
	return rep
}

// ConfigNote tells rep, before Close, one thing about the configuration
// the run used: which file ("config: PATH"), a warning about it, or an
// error (a change the run refused). SARIF lists them in its invocation's
// toolConfigurationNotifications at level ("note", "warning", "error"); the
// other formats ignore them (bks prints them on stderr).
func ConfigNote(rep Reporter, level, text string) {
	if m, ok := rep.(interface{ configNote(string, string) }); ok {
		m.configNote(level, text)
	}
}

// Format names.
const (
	FormatText  = "text"
	FormatJSON  = "json"
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
	FormatSARIF = "sarif"
)

// Formats lists the valid format names, in the order help text shows them.
func Formats() []string {
	return []string{FormatText, FormatJSON, FormatJSONL, FormatCSV, FormatSARIF}
}

// New returns the reporter for format writing to w. An unknown format is an
// error that lists the valid ones.
func New(format string, w io.Writer, opts Options) (Reporter, error) {
	switch format {
	case FormatText:
		return newText(w, opts), nil
	case FormatJSON:
		out := newFlusher(w)
		return buffered{newJSON(out, opts), out}, nil
	case FormatJSONL:
		out := newFlusher(w)
		return buffered{newJSONL(out, opts), out}, nil
	case FormatCSV:
		out := newFlusher(w)
		return buffered{newCSV(out, opts), out}, nil
	case FormatSARIF:
		return newSARIF(w, opts), nil
	}
	return nil, fmt.Errorf("report: unknown format %q (valid: %s)", format, strings.Join(Formats(), ", "))
}

// prepare returns the finding as a format should write it: Secret filled
// only with ShowSecrets, and cleared otherwise whatever the caller left in
// it.
func prepare(f findings.Finding, opts Options) findings.Finding {
	if opts.ShowSecrets {
		return f.WithSecret()
	}
	f.Secret = ""
	return f
}

// shown reports whether a non-SARIF format writes f.
func shown(f *findings.Finding, opts Options) bool {
	return f.Suppressed == "" || opts.ShowSuppressed
}

// scrub replaces every occurrence of the finding's whole key in out by its
// redacted form, unless secrets were asked for. Formats build each finding's
// bytes from fields that should never hold the key, but some carry text
// bks did not write (a commit message, a file name); this is the last guard.
func scrub(out []byte, f *findings.Finding, opts Options) []byte {
	if opts.ShowSecrets {
		return out
	}
	raw := f.RawKey()
	if len(raw) < 8 || !containsString(out, raw) {
		return out
	}
	return bytes.ReplaceAll(out, []byte(raw), []byte(f.Redacted))
}

// containsString is bytes.Contains(b, []byte(s)) without the copy of s
// the conversion makes: scrub runs once per finding written, and that
// copy was one allocation per finding (about 2% of the CPU time of a
// scan of AWS-dense text, where most lines' findings are written).
func containsString(b []byte, s string) bool {
	if s == "" {
		return true
	}
	for {
		i := bytes.IndexByte(b, s[0])
		if i < 0 || len(b)-i < len(s) {
			return false
		}
		if string(b[i:i+len(s)]) == s {
			return true
		}
		b = b[i+1:]
	}
}

// places returns every location of f: its Locations when deduplicated,
// else its own Location.
func places(f *findings.Finding) []findings.Location {
	if len(f.Locations) > 0 {
		return f.Locations
	}
	return []findings.Location{f.Location}
}

// scrubTail scrubs buf's bytes from start on, in place.
func scrubTail(buf *bytes.Buffer, start int, f *findings.Finding, opts Options) {
	tail := buf.Bytes()[start:]
	out := scrub(tail, f, opts)
	if len(out) == len(tail) && (len(out) == 0 || &out[0] == &tail[0]) {
		return
	}
	clean := append([]byte(nil), out...)
	buf.Truncate(start)
	buf.Write(clean)
}
