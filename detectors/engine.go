// Package detectors finds Bedrock and Claude Platform on AWS API keys in
// bytes and decodes them offline. It is pure: no I/O, no logging, no clock
// other than the one passed in DecodeOptions.
package detectors

import (
	"bytes"
	"encoding/base64"
)

// Rule ids of the built-in detectors.
const (
	RuleLongTerm        = "bedrock-long-term"
	RuleShortTerm       = "bedrock-short-term"
	RuleClaudeLongTerm  = "claude-platform-long-term"
	RuleClaudeShortTerm = "claude-platform-short-term"
)

// Encodings a key can be found in.
const (
	EncodingPlain   = ""
	EncodingPercent = "percent" // padding written as %3D
	EncodingBase64  = "base64"  // the key itself re-encoded in base64
)

// MaxKeyLen is the longest key (prefix, body and padding) the detectors
// capture. Short-term keys carrying an STS session token reach ~2.5 KB.
const MaxKeyLen = 8192

// MaxMatchLen is the longest span of input one match can cover (a key
// re-encoded in base64 is 4/3 longer). Sources overlap chunks by this much.
const MaxMatchLen = MaxKeyLen*4/3 + 16

// Match is one key found in a buffer.
type Match struct {
	Rule     string
	Start    int    // byte offset of the first byte of the match
	End      int    // byte offset after the last byte of the match
	Key      string // the key as AWS issued it: padding restored, base64 wrapper removed
	Encoding string // how it was written in the input
	Decoded  Key
	// Pieces is the number of pieces the key was joined from when it was
	// written split (see join.go); 0 for a key written whole.
	Pieces int
	// Err is set only for candidates that failed to decode; they are
	// emitted only with Options.IncludeInvalid. A key that decodes but is
	// not whole (cut short, or followed by an ellipsis) has no Err and
	// Decoded.PartialReason set: it is always emitted.
	Err error
}

// Options configure an Engine.
type Options struct {
	Decode DecodeOptions
	// IncludeInvalid also emits candidates that start like a key but do
	// not decode into the expected structure (low confidence).
	IncludeInvalid bool
	// Extra detectors (TOML rules, AWS access keys) run in the same single
	// pass as the built-in ones, triggered by their keywords.
	Extra []Detector
}

// Detector is an additional keyword-triggered detector. The built-in Bedrock
// detectors are hand-written inside the engine; a Detector extends them
// without a second pass over the input.
type Detector interface {
	ID() string
	// Keywords are literals (at least 2 bytes) whose occurrence triggers
	// Check. With FoldCase they match in any ASCII case.
	Keywords() []string
	FoldCase() bool
	// MaxLen is the longest span Check can return; chunk overlap covers it.
	MaxLen() int
	// Check is called for a keyword hit: data is the whole buffer, pos the
	// start of keyword kw in it. It returns the match (Start may precede
	// pos) and whether there is one. It must not retain data.
	Check(data []byte, pos int, kw int) (Match, bool)
}

// anchor is a literal whose occurrence triggers a check. pairOff is the
// offset inside pat of the first of the Engine.step consecutive byte pairs
// indexed in the pair filter: scanning only every step-th position still
// sees one of them.
type anchor struct {
	pat     []byte
	pairOff int
	fam     int
	// For base64-wrapped anchors: align is the number of bytes before the
	// key prefix in its 3-byte group; groupOff is how many encoded
	// characters lie between the group start and pat.
	b64      bool
	align    int
	groupOff int
	// extra is set for anchors of an Options.Extra detector: its index+1
	// and the keyword index.
	extra int
	kw    int
	fold  bool
	// deep is set for an anchor on a family's body start (see
	// Family.bodyStart), plain or in base64: it finds keys whose prefix a
	// line break cuts in a wrapped block (checkWrapped). back is how far
	// before it such a match can start.
	deep bool
	back int
	tail int
}

// at says whether the anchor occurs at data[p:] (which must be long
// enough).
func (a *anchor) at(data []byte, p int) bool {
	w := data[p : p+len(a.pat)]
	if a.fold {
		return bytes.EqualFold(w, a.pat)
	}
	return bytes.Equal(w, a.pat)
}

// Engine scans buffers for keys. It is safe for concurrent use.
type Engine struct {
	opts    Options
	anchors []anchor
	// hit flags the two-byte values some anchor is indexed under: one
	// byte load per checked position (measured 12% faster than a bitset).
	hit       [1 << 16]uint8
	pairIdx   []uint16    // two-byte value -> 1 + index into lists
	lists     [][]pairRef // anchors indexed under one pair, by offset descending
	step      int         // positions checked: every step-th
	lookahead int         // how far past limit an anchor's pair can lie
	maxMatch  int
	fams      []Family // Families() when New ran
}

// pairRef says that a pair at position i means anchor may start at i-off.
type pairRef struct {
	anchor int32
	off    int32
}

// New returns an Engine with the built-in detectors.
func New(opts Options) *Engine {
	e := &Engine{opts: opts, fams: Families(), pairIdx: make([]uint16, 1<<16)}
	var all []anchor
	for fi, f := range e.fams {
		all = append(all, anchor{pat: []byte(f.Prefix), pairOff: f.PairOffset, fam: fi})
		for align := 0; align < 3; align++ {
			pat, goff := stableBase64(f.Prefix, align)
			all = append(all, anchor{pat: []byte(pat), fam: fi, b64: true, align: align, groupOff: goff})
		}
	}
	all = append(all, deepAnchors(e.fams)...)
	e.maxMatch = MaxMatchLen
	for di, d := range opts.Extra {
		e.maxMatch = max(e.maxMatch, d.MaxLen())
		for ki, kw := range d.Keywords() {
			if len(kw) < 2 {
				continue
			}
			all = append(all, anchor{pat: []byte(kw), extra: di + 1, kw: ki, fold: d.FoldCase()})
		}
	}
	// The step is bounded by the shortest anchor: an anchor of length L
	// holds L-1 pairs, and step consecutive ones must fit after pairOff.
	e.step = 3
	for _, a := range all {
		e.step = min(e.step, len(a.pat)-1)
	}
	for _, a := range all {
		if a.pairOff+e.step > len(a.pat)-1 {
			a.pairOff = len(a.pat) - 1 - e.step
		}
		e.add(a)
	}
	return e
}

func (e *Engine) add(a anchor) {
	e.anchors = append(e.anchors, a)
	idx := int32(len(e.anchors) - 1)
	for off := a.pairOff; off < a.pairOff+e.step; off++ {
		e.lookahead = max(e.lookahead, off+8+a.back)
		c0, c1 := a.pat[off], a.pat[off+1]
		variants := [][2]byte{{c0, c1}}
		if a.fold {
			variants = nil
			for _, x := range caseVariants(c0) {
				for _, y := range caseVariants(c1) {
					variants = append(variants, [2]byte{x, y})
				}
			}
		}
		for _, v := range variants {
			w := uint16(v[0]) | uint16(v[1])<<8
			ref := pairRef{anchor: idx, off: int32(off)}
			if e.pairIdx[w] == 0 {
				e.lists = append(e.lists, nil)
				e.pairIdx[w] = uint16(len(e.lists))
				e.hit[w] = 1
			}
			l := &e.lists[e.pairIdx[w]-1]
			if containsRef(*l, ref) {
				continue
			}
			// Keep offsets descending so candidates come in position order.
			at := len(*l)
			for at > 0 && (*l)[at-1].off < ref.off {
				at--
			}
			*l = append(*l, pairRef{})
			copy((*l)[at+1:], (*l)[at:])
			(*l)[at] = ref
		}
	}
}

func caseVariants(c byte) []byte {
	switch {
	case c >= 'a' && c <= 'z':
		return []byte{c, c - 32}
	case c >= 'A' && c <= 'Z':
		return []byte{c, c + 32}
	}
	return []byte{c}
}

func containsRef(s []pairRef, v pairRef) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// stableBase64 returns the part of base64(x + prefix) that does not depend
// on the len(x) == align unknown bytes before prefix or on what follows it,
// and the number of encoded characters between the group start and it.
func stableBase64(prefix string, align int) (string, int) {
	a := make([]byte, align+len(prefix)+3)
	b := make([]byte, align+len(prefix)+3)
	copy(a[align:], prefix)
	copy(b[align:], prefix)
	for i := 0; i < align; i++ {
		a[i], b[i] = 0x00, 0xff
	}
	for i := align + len(prefix); i < len(a); i++ {
		a[i], b[i] = 0x00, 0xff
	}
	ea := base64.StdEncoding.EncodeToString(a)
	eb := base64.StdEncoding.EncodeToString(b)
	start := 0
	for start < len(ea) && ea[start] != eb[start] {
		start++
	}
	end := start
	for end < len(ea) && ea[end] == eb[end] {
		end++
	}
	return ea[start:end], start
}

// deepAnchors returns the anchors on the families' body starts: the first
// whole base64 groups of Family.bodyStart (at most 16 characters, so that
// the prefix before it and it fit in one line of any wrapped block), as
// written in a plain key and re-encoded in base64 at each alignment.
func deepAnchors(fams []Family) []anchor {
	var out []anchor
	seen := map[string]bool{}
	for fi, f := range fams {
		bs := f.bodyStart()
		if len(bs) < 6 {
			continue
		}
		plain := base64.StdEncoding.EncodeToString([]byte(bs))[:min(16, len(bs)/3*4)]
		// Before the anchor on its line lies at most the cut prefix's
		// tail (tail: in plain text, or in base64 with its group's other
		// bytes); the key starts on the line before (back bytes allow
		// for the line break and the indentation).
		tail := (len(f.Prefix)+2)/3*4 + 4
		back := tail + 2 + maxWrapIndent
		add := func(pat string, b64 bool, tail int) {
			if !seen[pat] {
				seen[pat] = true
				out = append(out, anchor{pat: []byte(pat), fam: fi, deep: true, b64: b64, back: back, tail: tail})
			}
		}
		add(plain, false, len(f.Prefix)-1)
		for align := 0; align < 3; align++ {
			pat, _ := stableBase64(plain, align)
			add(pat, true, tail)
		}
	}
	return out
}

// MaxMatchLen is how far a match can extend; chunks must overlap by it.
func (e *Engine) MaxMatchLen() int { return e.maxMatch }

// MaxAnchorLen is the length of the longest literal that triggers a check.
func (e *Engine) MaxAnchorLen() int {
	n := 0
	for i := range e.anchors {
		n = max(n, len(e.anchors[i].pat))
	}
	return n
}

// HasAnchor says whether data holds any literal that triggers a check (a
// key prefix, in plain text or base64, or a keyword of an extra detector).
// Scan finds nothing in data without one, and an anchor is at most
// MaxAnchorLen bytes, so a buffer made of pieces of anchor-free buffers
// can hold an anchor only across the seams: the git source uses this to
// check only what a delta changed.
func (e *Engine) HasAnchor(data []byte) bool {
	n := len(data)
	step := e.step
	for i := 0; i < n-1; i += step {
		w := uint16(data[i]) | uint16(data[i+1])<<8
		if e.hit[w] == 0 {
			continue
		}
		for _, r := range e.lists[e.pairIdx[w]-1] {
			a := &e.anchors[r.anchor]
			p := i - int(r.off)
			if p >= 0 && p+len(a.pat) <= n && a.at(data, p) {
				return true
			}
		}
	}
	return false
}

// HasMatch says whether Scan finds anything in the whole of data: the
// prefilter the git source runs on every blob (see sources/git.Matcher).
// It stops at the first match: the blob is scanned again for findings.
func (e *Engine) HasMatch(data []byte) bool {
	hit := false
	e.scan(data, 0, len(data), func(Match) bool { hit = true; return false })
	return hit
}

// Scan calls emit for every key in data whose match starts before limit,
// in order of position. Bytes of data past limit are context only: a match
// starting there belongs to the next, overlapping chunk. A limit <= 0 or
// > len(data) means len(data).
func (e *Engine) Scan(data []byte, limit int, emit func(Match)) {
	e.scan(data, 0, limit, func(m Match) bool { emit(m); return true })
}

// ScanChunk is Scan for a chunk whose first start bytes are look-back
// (sources.Chunk.Start): they are read only by checks that look back from
// a match (to its line's start), and matches starting there are not
// emitted: they belong to the previous chunk.
func (e *Engine) ScanChunk(data []byte, start, limit int, emit func(Match)) {
	e.scan(data, start, limit, func(m Match) bool { emit(m); return true })
}

// LookBack is how much of the previous chunk a chunk needs before its own
// bytes (sources.Chunker.LookBack): a key written in pieces over wrapped
// lines is joined only when its first line is seen from its start, and
// lines longer than this are never wrapped lines (see join.go).
func (e *Engine) LookBack() int { return MaxMatchLen }

// scanState is what one scan call remembers between anchor hits, so that
// crafted input cannot make the checks' work grow faster than the input.
type scanState struct {
	// runFrom, runEnd: the last run of key characters scanned to its end;
	// a hit inside it ends where it does (a run of "ABSKABSK…" is scanned
	// once, not once per hit).
	runFrom, runEnd int
	// joinWork is what joining pieces may still cost (bytes decoded or
	// copied); at zero, no more pieces are joined in this call: a split
	// key is then reported by its first piece, as partial.
	joinWork int
	// yaml holds, per indentation, the last line inYAMLBlock answered
	// for (+1, 0 for none) and its answer.
	yaml [maxYAMLMemoIndent]struct {
		line  int
		block bool
	}
	// work counts the bytes the checks read beyond the anchors: tests
	// bound it per input byte (TestHostileInputLinearWork).
	work int
}

// maxYAMLMemoIndent bounds the indentations inYAMLBlock remembers.
const maxYAMLMemoIndent = 64

// joinWorkPerByte and joinWorkBase size scanState.joinWork: far above what
// any real file's split keys need (one join costs about a key's length),
// and linear in the input whatever it holds.
const (
	joinWorkPerByte = 8
	joinWorkBase    = 4 << 20
)

func newScanState(n int) *scanState {
	return &scanState{runFrom: -1, joinWork: joinWorkBase + joinWorkPerByte*n}
}

// keyRun returns the end of the run of key characters starting at from, or
// lim if the run goes on past it. Each run is scanned once, to its end.
func (st *scanState) keyRun(data []byte, from, lim int) int {
	if st.runFrom < 0 || from < st.runFrom || from > st.runEnd {
		j := from
		for j < len(data) && isKeyChar(data[j]) {
			j++
		}
		st.work += j - from
		st.runFrom, st.runEnd = from, j
	}
	return min(st.runEnd, lim)
}

// spend takes n from the join work left, and says whether there was any.
func (st *scanState) spend(n int) bool {
	if st.joinWork <= 0 {
		return false
	}
	st.work += n
	st.joinWork -= n
	return true
}

// scan is ScanChunk, stopping when emit returns false.
func (e *Engine) scan(data []byte, start, limit int, emit func(Match) bool) {
	e.scanWith(newScanState(len(data)), data, start, limit, emit)
}

func (e *Engine) scanWith(st *scanState, data []byte, start, limit int, emit func(Match) bool) {
	if limit <= 0 || limit > len(data) {
		limit = len(data)
	}
	start = min(max(start, 0), limit)
	n := len(data)
	// An anchor belonging to this chunk may have its indexed pair a little
	// past limit (and base64-wrapped matches start before their anchor).
	stop := min(limit+e.lookahead, n-1)
	step := e.step
	minP := start // matches must not overlap the previous one
	for i := start - start%step; i < stop; i += step {
		w := uint16(data[i]) | uint16(data[i+1])<<8
		if e.hit[w] == 0 {
			continue
		}
		for _, r := range e.lists[e.pairIdx[w]-1] {
			a := &e.anchors[r.anchor]
			p := i - int(r.off)
			if p < minP || p+len(a.pat) > n || !a.at(data, p) {
				continue
			}
			var m Match
			var ok bool
			switch {
			case a.extra > 0:
				m, ok = e.opts.Extra[a.extra-1].Check(data, p, a.kw)
			case a.deep:
				m, ok = e.checkWrapped(st, data, p, a)
			default:
				m, ok = e.check(st, data, p, a)
			}
			if !ok || m.Start >= limit || m.Start < minP || m.End <= p {
				continue
			}
			if (m.Err == nil || e.opts.IncludeInvalid) && !emit(m) {
				return
			}
			minP = m.End
			// Resume at the first checked position that can see an
			// anchor starting at or after the match's end.
			i = m.End - m.End%step - step
			break
		}
	}
}

func (e *Engine) check(st *scanState, data []byte, p int, a *anchor) (Match, bool) {
	if a.b64 {
		return e.checkBase64(st, data, p, a)
	}
	f := &e.fams[a.fam]
	body := p + len(f.Prefix)
	// The prefilter drops most false long-term hits before their extent
	// is scanned; --include-invalid decodes them all, to list each with
	// its reason.
	plausible := !f.Long || plausibleLongTerm(data[body:])
	if !plausible && !e.opts.IncludeInvalid {
		// A first piece too short to show its "-at-<account>:" may
		// still be joined with the next; a longer one never shows it.
		lim := min(len(data), body+plausibleWindow)
		j := st.keyRun(data, body, lim)
		if j == lim {
			return Match{}, false
		}
		return e.joinPlain(st, data, p, j, f)
	}
	lim := min(len(data), p+MaxKeyLen)
	j := st.keyRun(data, body, lim)
	if j == lim && lim < len(data) && isKeyChar(data[j]) {
		return Match{}, false // a run longer than any key: not a key
	}
	keyEnd := j
	end := j
	enc := EncodingPlain
	pad := 0
	for pad < 2 && end < len(data) && data[end] == '=' {
		end++
		pad++
	}
	if pad == 0 {
		for pad < 2 && end+3 <= len(data) && data[end] == '%' && data[end+1] == '3' && (data[end+2] == 'D' || data[end+2] == 'd') {
			end += 3
			pad++
			enc = EncodingPercent
		}
	}
	key := make([]byte, 0, keyEnd-p+pad)
	key = append(key, data[p:keyEnd]...)
	for range pad {
		key = append(key, '=')
	}
	m, ok := e.finish(key, p, end, enc, f)
	if ok && m.Err == nil && !plausible {
		m, ok = Match{}, false // found only with --include-invalid: never
	}
	if ok && m.Err == nil && followedByEllipsis(data[end:]) {
		m.Decoded.markPartial(ellipsisReason)
	}
	if pad == 0 && !(ok && isWhole(m)) {
		if jm, jok := e.joinPlain(st, data, p, keyEnd, f); jok {
			return jm, true
		}
	}
	return m, ok
}

// isWhole says whether m is a whole, decoded key.
func isWhole(m Match) bool { return m.Err == nil && m.Decoded.PartialReason == "" }

// joinPlain joins the pieces of a key whose first piece is data[p:end]
// (see join.go). It returns the joined key only when it is whole.
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
		if len(key) > MaxKeyLen || !st.spend(len(key)) {
			return Match{}, false
		}
		stop := end
		pad := 0
		for pad < 2 && stop < len(data) && data[stop] == '=' {
			stop++
			pad++
		}
		if f.Long {
			if ok, more := longTermStart(key[len(f.Prefix):]); !ok {
				if pad > 0 || !more {
					return Match{}, false // it never will show "-at-<account>:"
				}
				continue
			}
		}
		whole := append(key[:len(key):len(key)], "=="[:pad]...)
		m, ok := e.finish(whole, p, stop, EncodingPlain, f)
		if ok && isWhole(m) && !followedByEllipsis(data[stop:]) {
			m.Pieces = pieces
			return m, true
		}
		if pad > 0 {
			return Match{}, false // padding ends a key
		}
	}
	return Match{}, false
}

// followedByEllipsis says whether rest starts with "..." or "…".
func followedByEllipsis(rest []byte) bool {
	for _, e := range ellipses {
		if bytes.HasPrefix(rest, e) {
			return true
		}
	}
	return false
}

// minBody is the shortest body for which a failed decode is still worth
// reporting as an invalid candidate.
func minBody(f *Family) int {
	if f.Long {
		return 24
	}
	return 40
}

func (e *Engine) finish(key []byte, start, end int, enc string, f *Family) (Match, bool) {
	k, err := decodeBody(key, f, e.opts.Decode)
	if err != nil && len(key)-len(f.Prefix) < minBody(f) {
		return Match{}, false
	}
	// Restore the padding the decoder accepts as missing, so the same key
	// written with and without it has one identity.
	if err == nil && (len(key)-len(f.Prefix))%4 != 1 {
		for (len(key)-len(f.Prefix))%4 != 0 {
			key = append(key, '=')
		}
	}
	return Match{Rule: f.Rule, Start: start, End: end, Key: string(key), Encoding: enc, Decoded: k, Err: err}, true
}

func decodeBody(key []byte, f *Family, opts DecodeOptions) (Key, error) {
	if f.Long {
		return decodeLongTerm(key, f, opts)
	}
	return decodeShortTerm(key, len(f.Prefix), f.Service, opts)
}

// plausibleLongTerm cheaply rejects most false "ABSK"/"AEAA" hits before the
// key's full extent is scanned: in the decoded payload the first byte that is
// not allowed in an IAM name must be the ':' of "-at-<12 digits>:".
// plausibleWindow is how much of a long-term key's body plausibleLongTerm
// reads: base64 of the longest IAM name and "-at-<12 digits>:".
const plausibleWindow = (128 + 17 + 2) / 3 * 4

func plausibleLongTerm(body []byte) bool {
	ok, _ := longTermStart(body)
	return ok
}

// longTermStart is plausibleLongTerm, and when body is not plausible,
// whether a longer body starting with it could be (more): base64 decodes
// a prefix to a prefix, so a byte that rules body out rules out every
// continuation too.
func longTermStart(body []byte) (ok, more bool) {
	const window = plausibleWindow
	j := 0
	for j < len(body) && j < window && isKeyChar(body[j]) {
		j++
	}
	if j%4 == 1 {
		j--
	}
	if j < 24 {
		return false, true
	}
	var buf [window/4*3 + 3]byte
	nd, err := base64.RawStdEncoding.Decode(buf[:], body[:j])
	if err != nil {
		return false, false
	}
	d := buf[:nd]
	for k, c := range d {
		if isIAMNameChar(c) {
			continue
		}
		return c == ':' && k >= 17 && bytes.Equal(d[k-16:k-12], []byte("-at-")) && allDigits(string(d[k-12:k])), false
	}
	return false, j < window
}

func isB64Char(c byte) bool { return isKeyChar(c) || c == '+' || c == '/' }

func (e *Engine) checkBase64(st *scanState, data []byte, p int, a *anchor) (Match, bool) {
	f := &e.fams[a.fam]
	g := p - a.groupOff
	if g < 0 {
		return Match{}, false
	}
	for k := g; k < p; k++ {
		if !isB64Char(data[k]) {
			return Match{}, false
		}
	}
	j := p
	lim := min(len(data), g+MaxMatchLen)
	for j < lim && isB64Char(data[j]) {
		j++
	}
	end := j
	for end < len(data) && end-j < 2 && data[end] == '=' {
		end++
	}
	var m Match
	key, ok := base64Key(data[g:j], data[j:end], a.align, f)
	if ok {
		m, ok = e.finish(key, g, end, EncodingBase64, f)
	}
	if end == j && !(ok && isWhole(m)) {
		if jm, jok := e.joinBase64(st, data, g, j, a, f); jok {
			return jm, true
		}
	}
	return m, ok
}

// joinBase64 joins the lines of a wrapped base64 block whose first piece
// is data[g:end] (see join.go). It returns the key only when it is whole.
func (e *Engine) joinBase64(st *scanState, data []byte, g, end int, a *anchor, f *Family) (Match, bool) {
	lim := min(len(data), g+MaxMatchLen)
	var enc []byte
	for pieces := 2; pieces <= maxPieces; pieces++ {
		s := st.nextPiece(data, end, isB64Char)
		if s < 0 || s >= lim {
			return Match{}, false
		}
		if enc == nil {
			enc = append(enc, data[g:end]...)
		}
		end = s
		for end < lim && isB64Char(data[end]) {
			end++
		}
		enc = append(enc, data[s:end]...)
		if !st.spend(len(enc)) {
			return Match{}, false
		}
		stop := end
		for stop < len(data) && stop-end < 2 && data[stop] == '=' {
			stop++
		}
		key, ok := base64Key(enc, data[end:stop], a.align, f)
		if ok {
			if m, ok := e.finish(key, g, stop, EncodingBase64, f); ok && isWhole(m) {
				m.Pieces = pieces
				return m, true
			}
		}
		// Not yet whole (or, for a long-term key, not yet showing its
		// "-at-<account>:"): go on to the next line, unless padding
		// ended the block.
		if stop > end {
			return Match{}, false // padding ends the block
		}
	}
	return Match{}, false
}

// base64Key decodes the key from run, base64 text starting at the group
// holding the key's prefix (align bytes into it), and pad, the padding
// after it.
func base64Key(run, pad []byte, align int, f *Family) ([]byte, bool) {
	enc := run[:len(run)&^3]
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(enc))+3)
	nd, err := base64.StdEncoding.Decode(buf, enc)
	if err != nil {
		return nil, false
	}
	// The trailing partial group, if padding made it complete.
	if rest := append(run[len(enc):len(run):len(run)], pad...); len(rest) == 4 {
		if m, err := base64.StdEncoding.Decode(buf[nd:], rest); err == nil {
			nd += m
		}
	}
	if nd < align {
		return nil, false
	}
	dec := buf[align:nd]
	if !bytes.HasPrefix(dec, []byte(f.Prefix)) {
		return nil, false
	}
	kend := len(f.Prefix)
	for kend < len(dec) && kend < MaxKeyLen && isKeyChar(dec[kend]) {
		kend++
	}
	pad2 := 0
	for pad2 < 2 && kend+pad2 < len(dec) && dec[kend+pad2] == '=' {
		pad2++
	}
	key := append([]byte(nil), dec[:kend+pad2]...)
	if f.Long && !plausibleLongTerm(key[len(f.Prefix):]) {
		return nil, false
	}
	return key, true
}
