package detectors

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// Joining a key written in pieces.
//
// Code and configuration often split a long token: adjacent string
// literals ("abc" "def"), literals joined with + or . ('abc' + 'def'), a
// backslash-newline, a YAML block scalar, or a block wrapped at a fixed
// width (PEM at 64 columns, MIME and GNU base64 at 76). The first piece
// alone is not a whole key: reported as found it would be a made-up key
// with its own fingerprint. The engine joins the pieces when the first one
// is not whole and the syntax between them makes the continuation certain,
// and keeps the join only when the joined key is whole; otherwise the first
// piece is reported as partial, as before. The joined key is reported at
// the first piece's location, with Match.Pieces saying how many were
// joined.
//
// A key whose prefix a line break cuts in a wrapped block is found by its
// body's start instead (wrapped.go). Not joined: pieces built at run time
// (format strings, variables).
//
// Crafted input cannot make joining superlinear: a join stops as soon as
// no continuation can make the key whole (tryWhole), and what is read back
// from a piece is bounded (maxReadBack) and, for YAML blocks, remembered
// (yamlMemo). TestHostileInputLinearWork counts the work.

const (
	// maxPieces bounds the pieces joined into one key: a whole match's
	// length of the narrowest wrapped lines.
	maxPieces = MaxMatchLen/minWrapWidth + 2
	// maxJoinGap bounds the syntax between two literal pieces.
	maxJoinGap = 256
	// maxReadBack bounds how far before a key's first piece the checks
	// read: its line's start and the line before (MaxMatchLen each, a
	// longer line is no wrapped line), a YAML block's header (within
	// MaxMatchLen more). Engine.LookBack follows from it.
	maxReadBack = 3*MaxMatchLen + 1024
)

// Wrap widths that mark a fixed-width block on their own: RFC 7468 (PEM)
// wraps at 64 columns, RFC 2045 (MIME) and GNU base64 at 76. Other widths
// count when two lines of the block share them.
var wrapWidths = [...]int{64, 76}

// minWrapWidth is the narrowest line taken as part of a wrapped block.
const minWrapWidth = 40

// nextPiece returns where the piece after data[:pos] starts, or -1. pos is
// the first byte after a piece (not a byte of class): the key continues
// only through a closing quote and a literal join, a backslash-newline, or
// a line break inside a YAML block scalar or a fixed-width block.
func (st *scanState) nextPiece(data []byte, pos int, class func(byte) bool) int {
	if pos >= len(data) {
		return -1
	}
	switch data[pos] {
	case '"', '\'', '`':
		return afterLiteralJoin(data, pos+1, class)
	case '\\':
		return afterBackslashNewline(data, pos, class)
	case '\n', '\r':
		return st.afterLineBreak(data, pos, class)
	}
	return -1
}

// afterLiteralJoin: data[k-1] closed a string literal. The next literal
// follows after white space (line breaks, backslash-newlines and line
// comments included) and at most one join operator: + (Python, JavaScript,
// Go, Java, C#) or . (PHP, Perl). No operator is C's and Python's adjacent
// literals. The next literal may have a prefix: Python's r, b, u, f (or
// two of them), C#'s @ or $.
func afterLiteralJoin(data []byte, k int, class func(byte) bool) int {
	lim := min(len(data), k+maxJoinGap)
	k = skipBlank(data, k, lim)
	if k < lim && (data[k] == '+' || data[k] == '.') {
		k = skipBlank(data, k+1, lim)
	}
	for n := 0; n < 2 && k < lim && strings.IndexByte("rRbBuUfF@$", data[k]) >= 0; n++ {
		k++
	}
	if k+1 < lim && isQuote(data[k]) && class(data[k+1]) {
		return k + 1
	}
	return -1
}

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

// skipBlank skips spaces, tabs, line breaks, backslash-newlines and line
// comments (# and //: between two literals they can only be comments).
func skipBlank(data []byte, k, lim int) int {
	for k < lim {
		switch data[k] {
		case ' ', '\t', '\r', '\n':
			k++
		case '#', '/':
			if data[k] == '/' && (k+1 >= lim || data[k+1] != '/') {
				return k
			}
			for k < lim && data[k] != '\n' {
				k++
			}
		case '\\':
			n := lineBreakLen(data, k+1)
			if n == 0 {
				return k
			}
			k += 1 + n
		default:
			return k
		}
	}
	return k
}

// lineBreakLen is the length of the line break at data[k:] ("\n" or
// "\r\n"), or 0.
func lineBreakLen(data []byte, k int) int {
	switch {
	case k < len(data) && data[k] == '\n':
		return 1
	case k+1 < len(data) && data[k] == '\r' && data[k+1] == '\n':
		return 2
	}
	return 0
}

// afterBackslashNewline: a backslash ends the line inside the key (shell,
// Dockerfile, C, Python, a YAML double-quoted scalar). The key goes on
// after the leading blanks of the next line, which YAML drops (shell
// keeps them, and no key holds a blank).
func afterBackslashNewline(data []byte, pos int, class func(byte) bool) int {
	n := lineBreakLen(data, pos+1)
	if n == 0 {
		return -1
	}
	k := pos + 1 + n
	lim := min(len(data), k+maxJoinGap)
	for k < lim && (data[k] == ' ' || data[k] == '\t') {
		k++
	}
	if k < len(data) && class(data[k]) {
		return k
	}
	return -1
}

// afterLineBreak: the piece ends its line. The next line continues it when
// it has the same indentation and starts with the class, and either the
// piece's line is in a YAML block scalar (| or >) or it is a full line of
// a fixed-width block.
func (st *scanState) afterLineBreak(data []byte, pos int, class func(byte) bool) int {
	n := lineBreakLen(data, pos)
	if n == 0 {
		return -1
	}
	ls := lineStart(data, pos)
	if ls < 0 {
		st.work += MaxMatchLen
		return -1
	}
	st.work += pos - ls
	indent := blankPrefix(data[ls:pos])
	next := pos + n
	if !bytes.HasPrefix(data[next:], data[ls:ls+indent]) {
		return -1
	}
	start := next + indent
	if start >= len(data) || !class(data[start]) {
		return -1
	}
	if indent > 0 && st.inYAMLBlock(data, ls, indent) {
		return start
	}
	if wrapped(data, ls+indent, pos, start, class) {
		return start
	}
	return -1
}

// wrapped says whether line data[from:to] is a full line of a fixed-width
// block whose next line's text starts at next: the line has no blanks, and
// the next line's run of class characters is no wider than it; and its
// width is a wrap width, or that run is as wide, or the previous line
// (without blanks) is as wide.
func wrapped(data []byte, from, to, next int, class func(byte) bool) bool {
	w := to - from
	if w < minWrapWidth || bytes.ContainsAny(data[from:to], " \t") {
		return false
	}
	run := next
	for run < len(data) && run-next <= w && class(data[run]) {
		run++
	}
	if run-next > w {
		return false
	}
	for _, ww := range wrapWidths {
		if w == ww {
			return true
		}
	}
	if run-next == w {
		return true
	}
	// The previous line, if it is the same width and has no blanks.
	ls := lineStart(data, from)
	if ls < 2 {
		return false
	}
	pe := ls - 1
	if data[pe-1] == '\r' {
		pe--
	}
	ps := lineStart(data, pe)
	if ps < 0 {
		return false
	}
	prev := data[ps:pe]
	prev = prev[blankPrefix(prev):]
	return len(prev) == w && !bytes.ContainsAny(prev, " \t")
}

// lineStart returns the start of the line holding data[pos]: 0 when no
// line break precedes it in data, -1 when the line is longer than any
// wrapped line or key (so that a hit in a long line does not scan it back).
func lineStart(data []byte, pos int) int {
	lo := max(0, pos-MaxMatchLen)
	i := bytes.LastIndexByte(data[lo:pos], '\n')
	if i < 0 && lo > 0 {
		return -1
	}
	return lo + i + 1
}

// blankPrefix is the number of leading spaces and tabs of line.
func blankPrefix(line []byte) int {
	i := 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return i
}

// yamlMemo is the YAML block scalar inYAMLBlock last found for one
// indentation: the lines after hdr up to last (line starts) are its
// content lines, and block says whether hdr is a block scalar header.
type yamlMemo struct {
	hdr, last int
	block     bool
}

// inYAMLBlock says whether the line starting at ls, indented by indent, is
// inside a YAML block scalar: going up, past blank lines and lines indented
// at least as much, the first less indented line ends with a block scalar
// header ("key: |", "- >-", "key: |2+ # comment"). It reads back at most
// MaxMatchLen bytes, and reads each line of a block once: a line already
// known to be in the last block found for its indentation answers at once.
func (st *scanState) inYAMLBlock(data []byte, ls, indent int) bool {
	var memo *yamlMemo
	if indent < maxYAMLMemoIndent {
		memo = &st.yaml[indent]
		if memo.hdr < ls && ls <= memo.last {
			return memo.block
		}
	}
	end := ls - 1 // the line break ending the previous line
	for end >= 0 && ls-end <= MaxMatchLen {
		s := lineStart(data, end)
		if s < 0 {
			return false
		}
		st.work += end - s
		if memo != nil && memo.hdr < s && s <= memo.last {
			memo.last = ls // the lines between are content lines too
			return memo.block
		}
		line := bytes.TrimRight(data[s:end], "\r")
		end = s - 1
		if len(bytes.TrimSpace(line)) == 0 || blankPrefix(line) >= indent {
			continue
		}
		found := isBlockHeader(line)
		if memo != nil {
			*memo = yamlMemo{hdr: s, last: ls, block: found}
		}
		return found
	}
	return false
}

// isBlockHeader says whether a YAML line ends with a block scalar
// indicator: | or >, then at most a chomping (+ or -) and an indentation
// digit in either order, then an optional comment.
func isBlockHeader(line []byte) bool {
	if i := bytes.Index(line, []byte(" #")); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	i := len(line)
	for k := 0; k < 2 && i > 0 && (line[i-1] == '+' || line[i-1] == '-' || line[i-1] >= '1' && line[i-1] <= '9'); k++ {
		i--
	}
	if i == 0 || line[i-1] != '|' && line[i-1] != '>' {
		return false
	}
	return i == 1 || line[i-2] == ' '
}

// joinPlain joins the pieces of a key whose first piece is data[p:end]. It
// returns the joined key only when it is whole.
func (e *Engine) joinPlain(st *scanState, data []byte, p, end int, f *Family) (Match, bool) {
	lim := min(len(data), p+MaxMatchLen)
	var key []byte
	for pieces := 2; pieces <= maxPieces; pieces++ {
		s := st.nextPiece(data, end, isKeyChar)
		if s < 0 || s >= lim {
			return Match{}, false
		}
		if key == nil {
			key = append(key, data[p:end]...)
		}
		end = s
		for end < lim && isKeyChar(data[end]) {
			end++
		}
		key = append(key, data[s:end]...)
		st.work += end - s
		if len(key) > MaxKeyLen {
			return Match{}, false
		}
		stop := padEnd(data, end)
		whole := append(key[:len(key):len(key)], "=="[:stop-end]...)
		m, ok, more := e.tryWhole(st, whole, p, stop, EncodingPlain, f)
		if ok && !followedByEllipsis(data[stop:]) {
			m.Pieces = pieces
			return m, true
		}
		if !more || stop > end {
			return Match{}, false // padding ends a key
		}
	}
	return Match{}, false
}

// tryWhole decodes a joined key, key, written at data[start:end], and
// returns it when it is whole (ok); otherwise more says whether a longer
// key starting with it could be. It decodes only what can be whole: a
// long-term key showing "-at-<account>:", a short-term one ending in
// "&Version=1". So a join stops at the first piece that rules the key out
// (a long-term secret past its issued length, a decoding error), and
// costs about a key's length, whatever follows.
func (e *Engine) tryWhole(st *scanState, key []byte, start, end int, enc string, f *Family) (m Match, ok, more bool) {
	body := key[len(f.Prefix):]
	if f.Long {
		plausible, could := longTermStart(body)
		if !plausible {
			return Match{}, false, could
		}
	} else if !endsWithVersion(body) {
		return Match{}, false, true
	}
	st.work += len(key)
	m, ok = e.finish(key, start, end, enc, f)
	switch {
	case !ok || m.Err != nil:
		return Match{}, false, false
	case isWhole(m):
		return m, true, false
	case f.Long && f.SecretLen > 0 && m.Decoded.SecretLength > f.SecretLen:
		return Match{}, false, false
	}
	return Match{}, false, true
}

// endsWithVersion says whether the base64 body of a short-term key
// decodes to text ending in "&Version=1", decoding only its last groups.
func endsWithVersion(body []byte) bool {
	b := bytes.TrimRight(body, "=")
	from := max(0, len(b)-20) &^ 3
	var buf [24]byte
	n, err := base64.RawStdEncoding.Decode(buf[:], b[from:])
	return err == nil && bytes.HasSuffix(buf[:n], []byte(versionTail))
}
