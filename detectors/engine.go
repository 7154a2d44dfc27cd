// Package detectors finds Bedrock and Claude Platform on AWS API keys in
// bytes and decodes them offline. It is pure: no I/O, no logging, no clock
// other than the one passed in DecodeOptions.
package detectors

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math/bits"
	"sync"
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
	// The filter path (see pairFilter), when the CPU has AVX2 and the
	// pairs bucket well: every position is tested 32 at a time, so each
	// anchor needs one pair only, the rarest of its step pairs (lists1,
	// pairIdx1 index it as lists and pairIdx do). With its step pairs the
	// scalar loop stops at about one position in a hundred of AWS text
	// ("IA", "AA", "ke"…); the rarest stop it at one in ten thousand.
	simd     bool
	filter   pairFilter
	pairIdx1 []uint16
	lists1   [][]pairRef
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
	e.setFilter(haveSIMD)
	return e
}

// setFilter builds the filter path (lists1, pairIdx1, filter) and turns it
// on when on is set and the filter passes few positions of source text.
// Each anchor is indexed under the rarest (by byteFreq) of the step pairs
// it is indexed under in lists, at the same offset: the filter path sees
// an anchor at one of the positions where the scalar loop may see it, so
// both find the same matches.
func (e *Engine) setFilter(on bool) {
	e.simd = false
	e.pairIdx1 = make([]uint16, 1<<16)
	e.lists1 = nil
	var hit [1 << 16]uint8
	for idx := range e.anchors {
		a := &e.anchors[idx]
		best, bestCost := a.pairOff, -1
		for off := a.pairOff; off < a.pairOff+e.step; off++ {
			c := int(byteFreq[a.pat[off]]) * int(byteFreq[a.pat[off+1]])
			if a.fold {
				c = int(foldFreq(a.pat[off])) * int(foldFreq(a.pat[off+1]))
			}
			if bestCost < 0 || c < bestCost {
				best, bestCost = off, c
			}
		}
		for _, v := range pairVariants(a.pat[best], a.pat[best+1], a.fold) {
			w := uint16(v[0]) | uint16(v[1])<<8
			hit[w] = 1
			if e.pairIdx1[w] == 0 {
				e.lists1 = append(e.lists1, nil)
				e.pairIdx1[w] = uint16(len(e.lists1))
			}
			insertRef(&e.lists1[e.pairIdx1[w]-1], pairRef{anchor: int32(idx), off: int32(best)})
		}
	}
	f, _, ok := newPairFilter(&hit)
	e.filter = f
	e.simd = on && ok
}

// foldFreq is byteFreq of c in either case.
func foldFreq(c byte) int {
	n := 0
	for _, v := range caseVariants(c) {
		n += int(byteFreq[v])
	}
	return n
}

func (e *Engine) add(a anchor) {
	e.anchors = append(e.anchors, a)
	idx := int32(len(e.anchors) - 1)
	for off := a.pairOff; off < a.pairOff+e.step; off++ {
		e.lookahead = max(e.lookahead, off+8+a.back)
		for _, v := range pairVariants(a.pat[off], a.pat[off+1], a.fold) {
			w := uint16(v[0]) | uint16(v[1])<<8
			if e.pairIdx[w] == 0 {
				e.lists = append(e.lists, nil)
				e.pairIdx[w] = uint16(len(e.lists))
				e.hit[w] = 1
			}
			insertRef(&e.lists[e.pairIdx[w]-1], pairRef{anchor: idx, off: int32(off)})
		}
	}
}

// pairVariants returns the pair (c0, c1), in every ASCII case when fold.
func pairVariants(c0, c1 byte, fold bool) [][2]byte {
	if !fold {
		return [][2]byte{{c0, c1}}
	}
	var variants [][2]byte
	for _, x := range caseVariants(c0) {
		for _, y := range caseVariants(c1) {
			variants = append(variants, [2]byte{x, y})
		}
	}
	return variants
}

// insertRef adds ref to the list l unless it holds it, keeping offsets
// descending so that candidates come in position order.
func insertRef(l *[]pairRef, ref pairRef) {
	if containsRef(*l, ref) {
		return
	}
	at := len(*l)
	for at > 0 && (*l)[at-1].off < ref.off {
		at--
	}
	*l = append(*l, pairRef{})
	copy((*l)[at+1:], (*l)[at:])
	(*l)[at] = ref
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
		if i = e.nextHit(data, i, n-1); i >= n-1 {
			break
		}
		w := uint16(data[i]) | uint16(data[i+1])<<8
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
// bytes (sources.Chunker.LookBack): the checks that join a key's pieces
// read back from the key's first piece at most maxReadBack bytes (to its
// line's start, the line before it, a YAML block's header), so with this
// much before its own bytes a chunk sees what one scan of the whole input
// would, and its first byte is a line start only when the input's is.
func (e *Engine) LookBack() int { return maxReadBack + MaxMatchLen }

// scanState is what one scan call remembers between anchor hits, so that
// crafted input cannot make the checks' work grow faster than the input:
// each run of key or base64 characters is scanned once, each YAML block's
// lines are read back once, each wrapped block is unwrapped about once.
type scanState struct {
	// keyRun and b64Run: the last run of key (base64) characters scanned
	// to its end; a hit inside it ends where it does (a run of
	// "ABSKABSK…" is scanned once, not once per hit).
	keyRun, b64Run run
	// yaml remembers, per indentation, the block inYAMLBlock last found
	// (yamlMemo).
	yaml [maxYAMLMemoIndent]yamlMemo
	// unwrapped is the last block checkWrapped scanned unwrapped.
	unwrapped unwrappedBlock
	// work counts the bytes the checks read beyond the anchors: tests
	// bound it per input byte (TestHostileInputLinearWork).
	work int
	// extra holds Options.Extra's checkers of this scan once made; its
	// array outlives the scan, so that a pooled state makes them without
	// an allocation per file.
	extra []extraChecker
}

// run is a run of characters of one class, data[from:end].
type run struct{ from, end int }

// maxYAMLMemoIndent bounds the indentations inYAMLBlock remembers.
const maxYAMLMemoIndent = 64

func newScanState() *scanState {
	st := new(scanState)
	st.reset()
	return st
}

// reset makes st the state of a new scan.
func (st *scanState) reset() {
	*st = scanState{keyRun: run{-1, -1}, b64Run: run{-1, -1}, extra: st.extra[:0]}
	st.unwrapped.to = -1
}

// statePool holds the states of finished scans. A scanState is some 1.6
// KB (its YAML memo): allocating one per scan was one allocation of that
// size per file of a tree, more bytes than the findings of AWS-dense text
// allocate.
var statePool = sync.Pool{New: func() any { return new(scanState) }}

// runEnd returns the end of the run of class characters starting at from,
// or lim if the run goes on past it; r remembers the last run, each run is
// scanned once.
func (st *scanState) runEnd(r *run, class func(byte) bool, data []byte, from, lim int) int {
	if r.from < 0 || from < r.from || from > r.end {
		j := from
		for j < len(data) && class(data[j]) {
			j++
		}
		st.work += j - from
		*r = run{from, j}
	}
	return min(r.end, lim)
}

// scan is ScanChunk, stopping when emit returns false.
func (e *Engine) scan(data []byte, start, limit int, emit func(Match) bool) {
	st := pooledState()
	e.scanWith(st, data, start, limit, emit)
	st.release()
}

// pooledState is a new scan's state, from statePool.
func pooledState() *scanState {
	st := statePool.Get().(*scanState)
	st.reset()
	return st
}

// release gives st back to statePool once its scan is over.
func (st *scanState) release() {
	st.unwrapped.found = nil // keeps no match of this scan alive
	clear(st.extra)          // nor a checker
	statePool.Put(st)
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
	step, lists, pairIdx := e.step, e.lists, e.pairIdx
	if e.simd {
		step, lists, pairIdx = 1, e.lists1, e.pairIdx1
	}
	minP := start // matches must not overlap the previous one
	// Options.Extra's checkers for this scan, made at the first hit.
	var extra []extraChecker
	for i := start - start%step; i < stop; i += step {
		if e.simd {
			i = e.nextCandidate(data, i, stop)
		} else {
			i = e.nextHit(data, i, stop)
		}
		if i >= stop {
			break
		}
		w := uint16(data[i]) | uint16(data[i+1])<<8
		li := pairIdx[w]
		if li == 0 {
			continue // a position the filter lets through
		}
		for _, r := range lists[li-1] {
			a := &e.anchors[r.anchor]
			p := i - int(r.off)
			if p < minP || p+len(a.pat) > n || !a.at(data, p) {
				continue
			}
			if a.extra > 0 {
				if extra == nil {
					st.extra = appendCheckers(st.extra[:0], e.opts.Extra)
					extra = st.extra
				}
				if x := &extra[a.extra-1]; x.pre != nil && !x.pre.Possible(data, p, a.kw) {
					continue
				}
			}
			var m Match
			var ok bool
			switch {
			case a.extra > 0:
				m, ok = extra[a.extra-1].check.Check(data, p, a.kw)
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

// nextHit returns the first checked position p >= i (p-i a multiple of
// e.step) below stop whose pair some anchor is indexed under, or stop.
// stop must be at most len(data)-1. It is the scan's inner loop without
// AVX2, or when the filter path is off (nextCandidate): fewer
// than one position in a hundred is a hit in source text, so with the
// usual step of 3 it tests six positions per iteration (two 8-byte loads,
// one branch) and looks at them one by one only when one of them hits.
func (e *Engine) nextHit(data []byte, i, stop int) int {
	if e.step == 3 {
		for ; i+15 < stop; i += 18 {
			u0 := binary.LittleEndian.Uint64(data[i:])
			u1 := binary.LittleEndian.Uint64(data[i+9:])
			if e.hit[uint16(u0)]|e.hit[uint16(u0>>24)]|e.hit[uint16(u0>>48)]|
				e.hit[uint16(u1)]|e.hit[uint16(u1>>24)]|e.hit[uint16(u1>>48)] != 0 {
				break
			}
		}
	}
	for ; i < stop; i += e.step {
		if e.hit[uint16(data[i])|uint16(data[i+1])<<8] != 0 {
			return i
		}
	}
	return stop
}

// nextCandidate is nextHit for the filter path: the first position p >= i
// below stop that passes the filter (most hold a pair of lists1; the
// caller checks), or stop. stop must be at most len(data)-1.
func (e *Engine) nextCandidate(data []byte, i, stop int) int {
	for i+32 <= stop {
		off, mask := pairBlocks(data[i:stop+1], &e.filter)
		i += off
		if mask != 0 {
			return i + bits.TrailingZeros32(mask)
		}
	}
	for ; i < stop; i++ {
		if e.pairIdx1[uint16(data[i])|uint16(data[i+1])<<8] != 0 {
			return i
		}
	}
	return stop
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
		j := st.runEnd(&st.keyRun, isKeyChar, data, body, lim)
		if j == lim {
			return Match{}, false
		}
		return e.joinPlain(st, data, p, j, f)
	}
	lim := min(len(data), p+MaxKeyLen)
	j := st.runEnd(&st.keyRun, isKeyChar, data, body, lim)
	if j == lim && lim < len(data) && isKeyChar(data[j]) {
		return Match{}, false // a run longer than any key: not a key
	}
	keyEnd := j
	end := padEnd(data, j)
	enc := EncodingPlain
	pad := end - j
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

// padEnd returns the end of the base64 padding ("=" or "==") at data[i:].
func padEnd(data []byte, i int) int {
	end := i
	for end < len(data) && end-i < 2 && data[end] == '=' {
		end++
	}
	return end
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
