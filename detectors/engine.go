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
		e.lookahead = max(e.lookahead, off+8)
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
	e.scan(data, len(data), func(Match) bool { hit = true; return false })
	return hit
}

// Scan calls emit for every key in data whose match starts before limit,
// in order of position. Bytes of data past limit are context only: a match
// starting there belongs to the next, overlapping chunk. A limit <= 0 or
// > len(data) means len(data).
func (e *Engine) Scan(data []byte, limit int, emit func(Match)) {
	e.scan(data, limit, func(m Match) bool { emit(m); return true })
}

// scan is Scan, stopping when emit returns false.
func (e *Engine) scan(data []byte, limit int, emit func(Match) bool) {
	if limit <= 0 || limit > len(data) {
		limit = len(data)
	}
	n := len(data)
	// An anchor belonging to this chunk may have its indexed pair a little
	// past limit (and base64-wrapped matches start before their anchor).
	stop := min(limit+e.lookahead, n-1)
	step := e.step
	minP := 0 // matches must not overlap the previous one
	// Options.Extra's checkers for this scan, made at the first hit.
	var extra []Checker
	for i := 0; i < stop; i += step {
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
			if a.extra > 0 {
				if extra == nil {
					extra = checkers(e.opts.Extra)
				}
				m, ok = extra[a.extra-1].Check(data, p, a.kw)
			} else {
				m, ok = e.check(data, p, a)
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

func (e *Engine) check(data []byte, p int, a *anchor) (Match, bool) {
	if a.b64 {
		return e.checkBase64(data, p, a)
	}
	f := &e.fams[a.fam]
	body := p + len(f.Prefix)
	// The prefilter drops most false long-term hits before their extent
	// is scanned; --include-invalid decodes them all, to list each with
	// its reason.
	plausible := !f.Long || plausibleLongTerm(data[body:])
	if !plausible && !e.opts.IncludeInvalid {
		return Match{}, false
	}
	j := body
	lim := min(len(data), p+MaxKeyLen)
	for j < lim && isKeyChar(data[j]) {
		j++
	}
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
		return Match{}, false // found only with --include-invalid: never
	}
	if ok && m.Err == nil && followedByEllipsis(data[end:]) {
		m.Decoded.markPartial(ellipsisReason)
	}
	return m, ok
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
func plausibleLongTerm(body []byte) bool {
	const maxName = 128
	const window = (maxName + 17 + 2) / 3 * 4
	j := 0
	for j < len(body) && j < window && isKeyChar(body[j]) {
		j++
	}
	if j%4 == 1 {
		j--
	}
	if j < 24 {
		return false
	}
	var buf [window/4*3 + 3]byte
	nd, err := base64.RawStdEncoding.Decode(buf[:], body[:j])
	if err != nil {
		return false
	}
	d := buf[:nd]
	for k, c := range d {
		if isIAMNameChar(c) {
			continue
		}
		return c == ':' && k >= 17 && bytes.Equal(d[k-16:k-12], []byte("-at-")) && allDigits(string(d[k-12:k]))
	}
	return false
}

func isB64Char(c byte) bool { return isKeyChar(c) || c == '+' || c == '/' }

func (e *Engine) checkBase64(data []byte, p int, a *anchor) (Match, bool) {
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
	enc := data[g:j]
	enc = enc[:len(enc)&^3]
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(enc))+3)
	nd, err := base64.StdEncoding.Decode(buf, enc)
	if err != nil {
		return Match{}, false
	}
	// The trailing partial group, if padding made it complete.
	if rest := data[g+len(enc) : end]; len(rest) == 4 {
		if m, err := base64.StdEncoding.Decode(buf[nd:], rest); err == nil {
			nd += m
		}
	}
	dec := buf[a.align:nd]
	if !bytes.HasPrefix(dec, []byte(f.Prefix)) {
		return Match{}, false
	}
	kend := len(f.Prefix)
	for kend < len(dec) && kend < MaxKeyLen && isKeyChar(dec[kend]) {
		kend++
	}
	pad := 0
	for pad < 2 && kend+pad < len(dec) && dec[kend+pad] == '=' {
		pad++
	}
	key := append([]byte(nil), dec[:kend+pad]...)
	if f.Long && !plausibleLongTerm(key[len(f.Prefix):]) {
		return Match{}, false
	}
	return e.finish(key, g, end, EncodingBase64, f)
}
