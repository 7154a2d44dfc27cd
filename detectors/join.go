package detectors

import "bytes"

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
// Not joined: pieces built at run time (format strings, variables), and a
// wrapped block in which the key's prefix itself straddles a line break
// (the engine finds keys by their prefix).

const (
	// maxPieces bounds the pieces joined into one key.
	maxPieces = 64
	// maxJoinGap bounds the syntax between two literal pieces.
	maxJoinGap = 256
	// maxBlockLookback bounds the lines read back to find the header of a
	// YAML block scalar.
	maxBlockLookback = 256
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
// follows after white space (line breaks and backslash-newlines included)
// and at most one join operator: + (Python, JavaScript, Go, Java, C#) or
// . (PHP, Perl). No operator is C's and Python's adjacent literals.
func afterLiteralJoin(data []byte, k int, class func(byte) bool) int {
	lim := min(len(data), k+maxJoinGap)
	k = skipBlank(data, k, lim)
	if k < lim && (data[k] == '+' || data[k] == '.') {
		k = skipBlank(data, k+1, lim)
	}
	if k+1 < lim && isQuote(data[k]) && class(data[k+1]) {
		return k + 1
	}
	return -1
}

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

// skipBlank skips spaces, tabs, line breaks and backslash-newlines.
func skipBlank(data []byte, k, lim int) int {
	for k < lim {
		switch data[k] {
		case ' ', '\t', '\r', '\n':
			k++
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
	for k < len(data) && (data[k] == ' ' || data[k] == '\t') {
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
// block whose next line's text starts at next: the line has no blanks, its
// width is a wrap width (or the next or previous line has the same width),
// and the next line's run of class is no wider.
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

// inYAMLBlock says whether the line starting at ls, indented by indent, is
// inside a YAML block scalar: going up, past blank lines and lines indented
// at least as much, the first less indented line ends with a block scalar
// header ("key: |", "- >-", "key: |2+ # comment"). The answer for the last
// line asked about is kept: a later line of the same block reads back only
// to it, so the lines of a block are read once, not once per line.
func (st *scanState) inYAMLBlock(data []byte, ls, indent int) bool {
	end := ls - 1 // the line break ending the previous line
	found := false
	for n := 0; n < maxBlockLookback && end >= 0; n++ {
		s := lineStart(data, end)
		if s < 0 {
			break
		}
		st.work += end - s
		if indent < maxYAMLMemoIndent && st.yaml[indent].line == s+1 {
			found = st.yaml[indent].block
			break
		}
		line := bytes.TrimRight(data[s:end], "\r")
		end = s - 1
		if len(bytes.TrimSpace(line)) == 0 || blankPrefix(line) >= indent {
			continue
		}
		found = isBlockHeader(line)
		break
	}
	if indent < maxYAMLMemoIndent {
		st.yaml[indent].line, st.yaml[indent].block = ls+1, found
	}
	return found
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

// maxWrapIndent bounds the indentation of a wrapped block's lines that the
// engine's chunk lookahead allows for (see deepAnchors).
const maxWrapIndent = 64

// isWrapChar is a byte of a wrapped line holding a key or its base64 form
// (a prefix's "-" included).
func isWrapChar(c byte) bool { return isB64Char(c) || c == '-' || c == '_' }

// segment is one line's text in an unwrapped block: data[from:to] at
// offset at of the unwrapped text.
type segment struct{ from, to, at int }

// checkWrapped is the check of a deep anchor at data[p:]: a key whose
// prefix a line break cuts in a wrapped block. When p's line continues the
// line before it (a fixed-width block or a YAML block scalar), it scans
// the block unwrapped and returns the key that starts on an earlier line
// and covers p, with its span in data. A key that starts on p's line has
// its prefix whole: the prefix's own anchor finds it.
func (e *Engine) checkWrapped(st *scanState, data []byte, p int, a *anchor) (Match, bool) {
	// A cut prefix lies just before the anchor: its line starts at most
	// a.back bytes back.
	ls := bytes.LastIndexByte(data[max(0, p-a.back):p], '\n') + 1
	if ls == 0 {
		return Match{}, false
	}
	ls += max(0, p-a.back)
	cur := ls + blankPrefix(data[ls:p])
	if p-cur > a.tail || !isWrapLine(data[cur:p]) {
		return Match{}, false
	}
	segs := st.wrappedLinesBefore(data, ls)
	if len(segs) == 0 {
		return Match{}, false
	}
	st.work += (a.back + p + len(a.pat) - cur) * 3
	if !e.prefixAcross(data, segs[len(segs)-1], cur, p+len(a.pat), a) {
		return Match{}, false
	}
	segs = append(segs, st.wrappedLinesFrom(data, cur)...)
	var u []byte
	for i := range segs {
		segs[i].at = len(u)
		u = append(u, data[segs[i].from:segs[i].to]...)
		if !st.spend(segs[i].to - segs[i].from) {
			return Match{}, false
		}
	}
	first := segs[len(segs)-1].at // where p's line starts in u
	for i := range segs {
		if segs[i].from == cur {
			first = segs[i].at
		}
	}
	up := first + p - cur
	var found Match
	ok := false
	// u is another buffer: its scan has its own memory of runs and lines,
	// and spends from the same budget.
	inner := &scanState{runFrom: -1, joinWork: st.joinWork}
	e.scanWith(inner, u, 0, len(u), func(m Match) bool {
		if m.Start < first && m.End > up {
			found, ok = m, true
			return false
		}
		return m.Start < up
	})
	st.joinWork, st.work = inner.joinWork, st.work+inner.work
	if !ok {
		return Match{}, false
	}
	found.Start, found.End, found.Pieces = mapSpan(segs, found.Start, found.End)
	return found, true
}

// isWrapLine says whether b holds only bytes of a wrapped key line.
func isWrapLine(b []byte) bool {
	for _, c := range b {
		if !isWrapChar(c) {
			return false
		}
	}
	return true
}

// prefixAcross says whether a key prefix (plain or in base64) lies across
// the line break between prev, the line before, and the line whose text
// data[cur:end] runs up to the end of the deep anchor: the cheap test
// before a block is unwrapped and scanned. Only the deep anchor's family's
// prefix anchors count, plain or base64 as it is.
func (e *Engine) prefixAcross(data []byte, prev segment, cur, end int, deep *anchor) bool {
	head := data[max(prev.from, prev.to-deep.back):prev.to]
	joined := append(append(make([]byte, 0, len(head)+end-cur), head...), data[cur:end]...)
	for i := range e.anchors {
		a := &e.anchors[i]
		if a.deep || a.extra > 0 || a.fam != deep.fam || a.b64 != deep.b64 {
			continue
		}
		// An occurrence crossing the junction starts in [lo, len(head)).
		lo := max(0, len(head)-len(a.pat)+1)
		if i := bytes.Index(joined[lo:], a.pat); i >= 0 && lo+i < len(head) {
			return true
		}
	}
	return false
}

// wrappedLinesBefore returns the lines before the one starting at ls that
// flow into it, oldest first, as far back as a key's prefix can reach; nil
// when the line before does not flow into it.
func (st *scanState) wrappedLinesBefore(data []byte, ls int) []segment {
	var segs []segment
	for n := 0; ls > 0 && n < 4; n++ {
		pe := ls - 1
		if pe > 0 && data[pe-1] == '\r' {
			pe--
		}
		if st.afterLineBreak(data, pe, isWrapChar) != ls+blankPrefix(data[ls:]) {
			break
		}
		ps := lineStart(data, pe)
		segs = append(segs, segment{from: ps + blankPrefix(data[ps:pe]), to: pe})
		ls = ps
	}
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return segs
}

// wrappedLinesFrom returns the line whose text starts at from and the lines
// that continue it, up to a whole match's length.
func (st *scanState) wrappedLinesFrom(data []byte, from int) []segment {
	var segs []segment
	total := 0
	for from >= 0 && total < MaxMatchLen && len(segs) < maxPieces {
		to := from
		for to < len(data) && data[to] != '\n' && data[to] != '\r' {
			to++
		}
		segs = append(segs, segment{from: from, to: to})
		total += to - from
		from = st.afterLineBreak(data, to, isWrapChar)
	}
	return segs
}

// mapSpan maps [start, end) of the unwrapped text back to data, and counts
// the lines it covers.
func mapSpan(segs []segment, start, end int) (int, int, int) {
	at := func(x int) (int, int) {
		for i := len(segs) - 1; i >= 0; i-- {
			if x >= segs[i].at {
				return segs[i].from + x - segs[i].at, i
			}
		}
		return segs[0].from, 0
	}
	s, i := at(start)
	e, j := at(end - 1)
	return s, e + 1, j - i + 1
}
