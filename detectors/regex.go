package detectors

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync/atomic"
)

// Decoders a regex rule can name besides a service (Service.Name).
const (
	DecoderAccessKey = "aws-access-key"
	DecoderNone      = "none"
)

// Decoders returns the decoder names a regex rule may give: every
// service's name, DecoderAccessKey and DecoderNone.
func Decoders() []string {
	var out []string
	for _, s := range Services() {
		out = append(out, s.Name)
	}
	return append(out, DecoderAccessKey, DecoderNone)
}

// RegexRule is a keyword-triggered regular expression: what a TOML rule
// becomes once validated.
type RegexRule struct {
	ID       string
	Keywords []string
	FoldCase bool
	// Regexp finds the secret: its group named "secret", else the whole
	// match.
	Regexp     *regexp.Regexp
	MinEntropy float64
	// MaxLen bounds the window: the regex runs on MaxLen bytes either side
	// of a keyword, never on a whole chunk.
	MaxLen int
	// Decoder is a Service.Name (the secret is decoded as that service's
	// key), DecoderAccessKey, or anything else for a generic secret.
	Decoder string
}

// NewRegex returns the detector of a regex rule; keys of a service decoder
// are decoded with opts.
func NewRegex(r RegexRule, opts DecodeOptions) Detector {
	ix := r.Regexp.SubexpIndex("secret")
	if ix < 0 {
		ix = 0
	}
	_, svc := ServiceNamed(r.Decoder)
	return &regexDetector{rule: r, secretIx: ix, opts: opts, service: svc}
}

// regexDetector runs a rule's regex on a bounded window around each of its
// keywords, never on a whole chunk.
type regexDetector struct {
	rule     RegexRule
	secretIx int // index of the secret group in rule.Regexp; 0 = whole match
	opts     DecodeOptions
	service  bool // rule.Decoder names a Service: its secrets are decoded as keys
	// searched counts the bytes handed to rule.Regexp, over all scans:
	// the work the tests bound per scanned byte.
	searched atomic.Int64
}

var _ Detector = (*regexDetector)(nil)

func (d *regexDetector) ID() string         { return d.rule.ID }
func (d *regexDetector) Keywords() []string { return d.rule.Keywords }
func (d *regexDetector) FoldCase() bool     { return d.rule.FoldCase }
func (d *regexDetector) MaxLen() int        { return d.rule.MaxLen }

// Check runs the regex on MaxLen bytes either side of the keyword at pos
// and returns the first acceptable match (see regexSession.first). The
// engine calls it only for a detector it scans without a session.
func (d *regexDetector) Check(data []byte, pos int, kw int) (Match, bool) {
	return d.Session().Check(data, pos, kw)
}

// Session returns the checker of one scan: it merges the windows of
// keyword hits that overlap, so that each byte is searched a bounded
// number of times however dense the keywords (a keyword "aa" on a run of
// "a" hits at every byte).
func (d *regexDetector) Session() Checker { return &regexSession{d: d, lo: -1} }

// regexSession is a regexDetector's state in one scan of one buffer: the
// last region [lo, hi) handed to the regex and the acceptable secrets
// found in it, in order.
type regexSession struct {
	d      *regexDetector
	lo, hi int // lo < 0: nothing searched yet
	found  [][2]int
}

// Check answers a keyword hit at pos from the last region searched when
// that region holds pos's window, and searches a new region otherwise. A
// hit whose window does not overlap the last region (keywords far apart:
// ordinary text) is searched on its window alone, MaxLen bytes either side,
// as if no other hit existed. A hit whose window overlaps it (a cluster of
// keywords) is searched on MaxLen bytes before it and 2*MaxLen after, so
// that the next MaxLen hits are answered without a search: every byte is
// handed to the regex at most 4 times.
func (s *regexSession) Check(data []byte, pos int, _ int) (Match, bool) {
	if pos < 0 || pos > len(data) {
		return Match{}, false
	}
	n, ml := len(data), s.d.rule.MaxLen
	// One byte more than MaxLen each side: context for \b and the like.
	end := min(n, pos+ml+1)
	if s.lo < 0 || (s.lo >= pos && s.lo > 0) || s.hi < end {
		ahead := ml + 1
		if s.lo >= 0 && pos-ml-1 < s.hi {
			ahead = 2*ml + 2
		}
		s.search(data, max(0, pos-ml-1), min(n, pos+ahead))
	}
	return s.first(data, pos, end)
}

// search hands data[lo:hi] to the regex and keeps the secrets of its
// matches that are long enough and have the entropy the rule asks.
func (s *regexSession) search(data []byte, lo, hi int) {
	d := s.d
	s.lo, s.hi, s.found = lo, hi, s.found[:0]
	w := data[lo:hi]
	d.searched.Add(int64(len(w)))
	for _, m := range d.rule.Regexp.FindAllSubmatchIndex(w, -1) {
		a, b := m[2*d.secretIx], m[2*d.secretIx+1]
		if a < 0 || b <= a {
			continue
		}
		if d.rule.MinEntropy > 0 && Entropy(w[a:b]) < d.rule.MinEntropy {
			continue
		}
		s.found = append(s.found, [2]int{lo + a, lo + b})
	}
}

// first returns the first secret found that starts at or after the keyword
// at pos (so matches come in order and none is reported twice) and ends
// inside its window, before end (a secret cut by the window is not reported
// truncated) or at the end of data.
func (s *regexSession) first(data []byte, pos, end int) (Match, bool) {
	i, _ := slices.BinarySearchFunc(s.found, pos, func(f [2]int, p int) int { return cmp.Compare(f[0], p) })
	if i == len(s.found) {
		return Match{}, false
	}
	f := s.found[i]
	if f[1] > end || (f[1] == end && end < len(data)) {
		return Match{}, false
	}
	return s.d.match(data, f[0], f[1]), true
}

var errNotKeyID = errors.New("not an AWS access key id (20 characters, A-Z and 0-9)")

func (d *regexDetector) match(data []byte, s, e int) Match {
	r := &d.rule
	secret := string(data[s:e])
	m := Match{Rule: r.ID, Start: s, End: e, Key: secret}
	if r.Decoder == DecoderAccessKey {
		if !isKeyID(secret) {
			m.Err = errNotKeyID
			return m
		}
		return accessKeyMatch(r.ID, data, s, e)
	}
	if !d.service {
		m.Decoded = Key{Type: TypeGeneric}
		return m
	}
	k, err := Decode(secret, d.opts)
	if err == nil && k.Service != r.Decoder {
		err = fmt.Errorf("decoded a %s key, but the rule's decoder is %s", k.Service, r.Decoder)
	}
	m.Decoded, m.Err = k, err
	return m
}

// Checker checks a keyword hit: Detector.Check.
type Checker interface {
	Check(data []byte, pos int, kw int) (Match, bool)
}

// A SessionDetector is a Detector whose keyword hits share work within one
// scan: the engine asks it for a Session per scan (at the first hit) and
// calls that Session's Check, not the Detector's, for the scan's hits, in
// order of position.
type SessionDetector interface {
	Detector
	Session() Checker
}

// A Prefilter is a Detector most of whose keyword hits fail a test much
// cheaper than Check: the engine calls Possible first, and Check only
// when it says true. Possible(data, pos, kw) false must mean that
// Check(data, pos, kw) finds no match. (A Check returns a Match by value:
// building and copying one for every failing hit was a third of what a
// hit cost the AWS access key detector on AWS documentation, whose ids
// are mostly examples.)
type Prefilter interface {
	Possible(data []byte, pos int, kw int) bool
}

// extraChecker checks the hits of one of Options.Extra in one scan: pre
// (nil unless the detector is a Prefilter), then check.
type extraChecker struct {
	check Checker
	pre   Prefilter
}

// appendCheckers appends to out what checks each of extra's hits in one
// scan: its Session, or the Detector itself, after its Prefilter.
func appendCheckers(out []extraChecker, extra []Detector) []extraChecker {
	for _, d := range extra {
		x := extraChecker{check: d}
		if sd, ok := d.(SessionDetector); ok {
			x.check = sd.Session()
		}
		x.pre, _ = d.(Prefilter)
		out = append(out, x)
	}
	return out
}
