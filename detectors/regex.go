package detectors

import (
	"errors"
	"fmt"
	"regexp"
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
}

var _ Detector = (*regexDetector)(nil)

func (d *regexDetector) ID() string         { return d.rule.ID }
func (d *regexDetector) Keywords() []string { return d.rule.Keywords }
func (d *regexDetector) FoldCase() bool     { return d.rule.FoldCase }
func (d *regexDetector) MaxLen() int        { return d.rule.MaxLen }

// Check runs the regex on MaxLen bytes either side of the keyword at pos and
// returns the first match whose secret starts at or after the keyword (so
// matches come in order and none is reported twice) and ends inside the
// window (a secret cut by the window is not reported truncated).
func (d *regexDetector) Check(data []byte, pos int, kw int) (Match, bool) {
	r := &d.rule
	if pos < 0 || pos > len(data) {
		return Match{}, false
	}
	// One byte more than MaxLen each side: context for \b and the like.
	lo := max(0, pos-r.MaxLen-1)
	hi := min(len(data), pos+r.MaxLen+1)
	w := data[lo:hi]
	for _, m := range r.Regexp.FindAllSubmatchIndex(w, -1) {
		s, e := m[2*d.secretIx], m[2*d.secretIx+1]
		if s < 0 || e <= s || lo+s < pos {
			continue
		}
		if e == len(w) && hi < len(data) {
			continue
		}
		if r.MinEntropy > 0 && Entropy(w[s:e]) < r.MinEntropy {
			continue
		}
		return d.match(data, lo+s, lo+e), true
	}
	return Match{}, false
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
