package detectors

import "bytes"

// Keys whose prefix a line break cuts, in a block wrapped at a fixed width
// or a YAML block scalar. The engine finds keys by their prefix; for these
// it also looks for the start of their body (Family.bodyStart: a console
// user name, a short-term key's host), the deep anchors, and on a hit
// scans the block with its line breaks removed.

// maxWrapIndent bounds the indentation of a wrapped block's lines that the
// engine's chunk lookahead allows for (see deepAnchors).
const maxWrapIndent = 64

// isWrapChar is a byte of a wrapped line holding a key or its base64 form
// (a prefix's "-" included).
func isWrapChar(c byte) bool { return isB64Char(c) || c == '-' || c == '_' }

// segment is one line's text in an unwrapped block: data[from:to] at
// offset at of the unwrapped text.
type segment struct{ from, to, at int }

// unwrappedBlock is a wrapped block checkWrapped scanned without its line
// breaks, and the keys found in it (spans in data): the deep anchors of
// its later lines are answered from it, so that a block is unwrapped and
// scanned about once, not once per line.
type unwrappedBlock struct {
	second int // the text start of its second line: hits from there on
	to     int // hits before it: its end, less a whole match unless the block ended
	found  []Match
}

// checkWrapped is the check of a deep anchor at data[p:]: a key whose
// prefix a line break cuts in a wrapped block. When p's line continues the
// line before it (a fixed-width block or a YAML block scalar) and a prefix
// lies across that line break, it scans the block unwrapped and returns
// the key that starts on an earlier line and covers p, with its span in
// data. A key that starts on p's line has its prefix whole: the prefix's
// own anchor finds it.
func (e *Engine) checkWrapped(st *scanState, data []byte, p int, a *anchor) (Match, bool) {
	// A cut prefix lies just before the anchor: its line starts at most
	// a.back bytes back.
	lo := max(0, p-a.back)
	ls := bytes.LastIndexByte(data[lo:p], '\n') + 1
	if ls == 0 {
		return Match{}, false
	}
	ls += lo
	cur := ls + blankPrefix(data[ls:p])
	if p-cur > a.tail || !isWrapLine(data[cur:p]) {
		return Match{}, false
	}
	if b := &st.unwrapped; cur >= b.second && p < b.to {
		return b.answer(cur, p)
	}
	segs := st.wrappedLinesBefore(data, ls)
	if len(segs) == 0 {
		return Match{}, false
	}
	st.work += (a.back + p + len(a.pat) - cur) * 3
	if !e.prefixAcross(data, segs[len(segs)-1], cur, p+len(a.pat), a) {
		return Match{}, false
	}
	st.unwrapped = e.unwrap(st, data, segs, cur)
	return st.unwrapped.answer(cur, p)
}

// unwrap scans the block made of the lines segs and the lines from the one
// whose text starts at cur, without its line breaks.
func (e *Engine) unwrap(st *scanState, data []byte, segs []segment, cur int) unwrappedBlock {
	after, ended := st.wrappedLinesFrom(data, cur)
	segs = append(segs, after...)
	var u []byte
	for i := range segs {
		segs[i].at = len(u)
		u = append(u, data[segs[i].from:segs[i].to]...)
	}
	b := unwrappedBlock{second: segs[1].from, to: segs[len(segs)-1].to + 1}
	if !ended {
		b.to -= MaxMatchLen // a key starting later may run past u
	}
	// u is another buffer: its scan has its own memory of runs and lines.
	inner := pooledState()
	e.scanWith(inner, u, 0, len(u), func(m Match) bool {
		m.Start, m.End, m.Pieces = mapSpan(segs, m.Start, m.End)
		b.found = append(b.found, m)
		return true
	})
	st.work += 2*len(u) + inner.work
	inner.release()
	return b
}

// answer returns the key of b that starts before the line whose text
// starts at cur and covers p.
func (b *unwrappedBlock) answer(cur, p int) (Match, bool) {
	for _, m := range b.found {
		if m.Start < cur && m.End > p {
			return m, true
		}
	}
	return Match{}, false
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
// flow into it, oldest first, as far back as a key's prefix can reach (4
// lines, MaxMatchLen bytes); nil when the line before does not flow into
// it.
func (st *scanState) wrappedLinesBefore(data []byte, ls int) []segment {
	var segs []segment
	start := ls
	for n := 0; ls > 0 && n < 4 && start-ls < MaxMatchLen; n++ {
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
// that continue it, up to two whole matches' length, and whether the block
// ended there.
func (st *scanState) wrappedLinesFrom(data []byte, from int) ([]segment, bool) {
	var segs []segment
	total := 0
	for from >= 0 && total < 2*MaxMatchLen {
		to := from
		for to < len(data) && data[to] != '\n' && data[to] != '\r' {
			to++
		}
		st.work += to - from
		segs = append(segs, segment{from: from, to: to})
		total += to - from
		from = st.afterLineBreak(data, to, isWrapChar)
	}
	return segs, from < 0
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
