// Package findings holds the one finding type every scan produces and every
// reporter consumes: the finding, its location and its fingerprint. It
// imports nothing of the pipeline but detectors (for the decoded key): the
// scan loop that turns a source's chunks into findings is package scan, and
// the location type is shared with the sources through the leaf package
// location.
package findings

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/location"
)

// Confidence of a finding.
const (
	ConfidenceHigh = "high" // decodes into the expected structure, whole
	// ConfidencePartial: decodes, but is not a whole key (cut short, its
	// secret not of the issued shape, or followed by an ellipsis). It is
	// shown and counted like a high finding; key.partial_reason says why.
	// It claims no expiry, and triage never revokes it.
	ConfidencePartial = "partial"
	ConfidenceLow     = "low" // looks like a key but does not decode (--include-invalid)
)

// Location is one place a key was found. Its JSON field names are stable.
// It is location.Location, the type sources describe their bytes with, so
// the scan copies a chunk's origin into a finding in one assignment.
type Location = location.Location

// Finding is one key at one place (or, deduplicated, at several).
type Finding struct {
	RuleID      string `json:"rule_id"`
	Fingerprint string `json:"fingerprint"`
	Redacted    string `json:"redacted"`
	// Secret is the whole key; reporters fill it only with --show-secrets.
	Secret     string `json:"secret,omitempty"`
	Confidence string `json:"confidence"`
	// Error says why a low-confidence candidate did not decode.
	Error string `json:"error,omitempty"`
	Location
	Key *detectors.Key `json:"key,omitempty"`
	// Locations lists every place the key was found when findings are
	// deduplicated (--dedupe); the first is also the finding's Location.
	Locations []Location `json:"locations,omitempty"`
	// Suppressed says why a finding is hidden (baseline, allowlist, inline
	// ignore); empty for an active finding.
	Suppressed string `json:"suppressed,omitempty"`
	// Live is the opt-in live check (--verify): live, live-denied,
	// invalid, expired or unknown, and LiveReason why.
	Live       string `json:"live,omitempty"`
	LiveReason string `json:"live_reason,omitempty"`

	raw string
}

// New builds a finding from a detector match at loc.
func New(m detectors.Match, loc Location) Finding {
	return build(m, loc, nil)
}

// Keys allocates the decoded keys of findings in blocks: one heap
// allocation per keysBlock findings instead of one per finding (a Key is
// some 300 bytes; on AWS-dense text, where a GB holds 58,745 findings,
// allocating each was 3% of the scan's CPU time). A Keys belongs to one
// goroutine; the zero Keys is ready to use. Findings built from it share
// blocks, which the garbage collector frees once none is referenced.
type Keys struct {
	block []detectors.Key
	// Reuse gives every finding the same Key, which the next finding
	// overwrites: for a handler that keeps nothing of a finding once it
	// returns (scan.Scanner.Transient). It saves the Key's allocation and
	// its copy to fresh memory, most of building a finding on AWS-dense
	// text.
	Reuse bool
	one   detectors.Key
}

// Forget drops what ks keeps of its last findings.
func (ks *Keys) Forget() { ks.one = detectors.Key{} }

const keysBlock = 32

// New is New with the finding's Key taken from ks.
func (ks *Keys) New(m detectors.Match, loc Location) Finding {
	return build(m, loc, ks)
}

func (ks *Keys) next() *detectors.Key {
	if ks.Reuse {
		return &ks.one
	}
	if len(ks.block) == 0 {
		ks.block = make([]detectors.Key, keysBlock)
	}
	k := &ks.block[0]
	ks.block = ks.block[1:]
	return k
}

func build(m detectors.Match, loc Location, ks *Keys) Finding {
	loc.Encoding = m.Encoding
	loc.Pieces = m.Pieces
	fp, red := fingerprintAndRedact(m.Rule, m.Key)
	f := Finding{
		RuleID:      m.Rule,
		Fingerprint: fp,
		Redacted:    red,
		Confidence:  ConfidenceHigh,
		Location:    loc,
		raw:         m.Key,
	}
	if m.Err != nil {
		f.Confidence = ConfidenceLow
		f.Error = m.Err.Error()
	} else {
		var k *detectors.Key
		if ks != nil {
			k = ks.next()
		} else {
			k = new(detectors.Key)
		}
		*k = m.Decoded
		f.Key = k
		if k.PartialReason != "" {
			f.Confidence = ConfidencePartial
		}
	}
	return f
}

// RawKey returns the whole key. Callers must not log or print it unless the
// user asked for secrets.
func (f *Finding) RawKey() string { return f.raw }

// WithSecret returns a copy of f whose Secret field is filled.
func (f Finding) WithSecret() Finding {
	f.Secret = f.raw
	return f
}

// SetRawKey sets the whole key, for findings read back from a report that
// carried secrets.
func (f *Finding) SetRawKey(k string) { f.raw = k }

// Fingerprint identifies a key independent of where it was found: a hash of
// the rule and the key only, never of the location.
func Fingerprint(rule, key string) string {
	var out [fingerprintLen]byte
	return string(appendFingerprint(out[:0], rule, key))
}

// fingerprintLen is the length of a fingerprint: 16 bytes in hex.
const fingerprintLen = 32

func appendFingerprint(b []byte, rule, key string) []byte {
	var stack [256]byte // keys are short: hashed without an allocation
	sum := sha256.Sum256(append(append(append(stack[:0], rule...), 0), key...))
	return hex.AppendEncode(b, sum[:16])
}

// fingerprintAndRedact returns Fingerprint(rule, key) and Redact(key) as
// two parts of one string: one allocation instead of two for every
// finding (New runs once per finding; on AWS-dense text, 58,745 findings
// a GB, each allocation counts).
func fingerprintAndRedact(rule, key string) (fingerprint, redacted string) {
	prefix, last := redactParts(key)
	var buf [fingerprintLen + 32]byte
	b := appendFingerprint(buf[:0], rule, key)
	b = append(append(append(b, prefix...), "…"...), last...)
	s := string(b)
	return s[:fingerprintLen], s[fingerprintLen:]
}

// Redact returns a key's family prefix and its last four characters, which
// together identify it to a person without revealing it.
func Redact(key string) string {
	prefix, last := redactParts(key)
	return prefix + "…" + last
}

// redactParts returns what Redact shows of key around the ellipsis: its
// family prefix and its last four characters (none when the key is too
// short to show them).
func redactParts(key string) (prefix, last string) {
	f, ok := detectors.Identify(key)
	if ok {
		prefix = f.Prefix
	} else if len(key) > 4 {
		prefix = key[:4]
	}
	// The padding is not worth showing: it says nothing about the key.
	rest := strings.TrimRight(key[len(prefix):], "=")
	// Every short-term token ends in the base64 of "&Version=1": show the
	// four characters before that (they encode the signature) instead.
	if ok && !f.Long && len(rest) > 40 {
		rest = rest[:len(rest)-16]
	}
	if len(rest) <= 8 {
		return prefix, ""
	}
	return prefix, rest[len(rest)-4:]
}
