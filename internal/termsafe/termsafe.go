// Package termsafe escapes text bks did not write (file names, commit
// authors and messages, rule output) so that it cannot drive a terminal or
// a spreadsheet: control characters (C0, DEL, C1), invalid UTF-8 and
// bidirectional overrides are shown as Go escapes (\x1b, \a, \u202e, \xff)
// instead of interpreted. A file named "a\x1b[2J" must not clear the
// screen of whoever reads bks's output.
//
// String escapes one value (text reports, CSV cells); Writer escapes a
// stream (bks's stderr), keeping its line breaks and tabs.
package termsafe

import (
	"io"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// String returns s with every unsafe rune escaped, newlines and tabs too.
func String(s string) string {
	if clean(s, nil) {
		return s
	}
	return string(appendEscaped(nil, s, nil))
}

// Unsafe says whether a rune is escaped: a control character, invalid
// UTF-8 or a bidirectional override.
func Unsafe(c rune) bool {
	return c == utf8.RuneError || unicode.IsControl(c) || unicode.Is(unicode.Bidi_Control, c)
}

// keepLines keeps what a stream of messages writes itself: line breaks
// and tabs.
func keepLines(c rune) bool { return c == '\n' || c == '\t' }

func clean(s string, keep func(rune) bool) bool {
	for _, c := range s {
		if Unsafe(c) && (keep == nil || !keep(c)) {
			return false
		}
	}
	return true
}

func appendEscaped(dst []byte, s string, keep func(rune) bool) []byte {
	for i := 0; i < len(s); {
		c, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && n == 1:
			dst = append(dst, `\x`...)
			dst = append(dst, "0123456789abcdef"[s[i]>>4], "0123456789abcdef"[s[i]&15])
		case Unsafe(c) && (keep == nil || !keep(c)):
			q := strconv.QuoteRuneToASCII(c)
			dst = append(dst, q[1:len(q)-1]...)
		default:
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return dst
}

// writer escapes what is written to w, but line breaks and tabs.
type writer struct{ w io.Writer }

// Writer returns a writer that escapes everything written through it to
// w, keeping line breaks and tabs: what bks's stderr goes through, so that
// no warning can print a name raw. Raw gives w back, for the few sequences
// bks writes itself (redrawing a progress line).
func Writer(w io.Writer) io.Writer {
	if _, ok := w.(*writer); ok || w == nil {
		return w
	}
	return &writer{w: w}
}

// Raw returns the writer under a Writer, or w itself.
func Raw(w io.Writer) io.Writer {
	if sw, ok := w.(*writer); ok {
		return sw.w
	}
	return w
}

// Write writes p escaped; it returns len(p) once all of it is written.
func (s *writer) Write(p []byte) (int, error) {
	if clean(string(p), keepLines) {
		return s.w.Write(p)
	}
	if _, err := s.w.Write(appendEscaped(nil, string(p), keepLines)); err != nil {
		return 0, err
	}
	return len(p), nil
}
