package detectors

import (
	"bytes"
	"math"
)

// Key types and the service of findings from the extra detectors (TOML
// rules), as they appear in JSON.
const (
	TypeAccessKey = "access-key" // an AWS access key id, maybe with its secret
	TypeGeneric   = "generic"    // a rule with decoder "none"
	ServiceIAM    = "iam"
)

// AccessKeyIDLen is the length of an AWS access key id.
const AccessKeyIDLen = 20

// AccessKeyPattern is the regular expression the access key detector
// matches like (the built-in aws-access-key rule documents it; tested).
const AccessKeyPattern = `\b(?P<secret>(?:AKIA|ASIA)[A-Z0-9]{16})\b`

// Pairing window: a secret access key is looked for this many lines (and
// at most this many bytes) before and after an access key id.
const (
	pairLines = 5
	pairBytes = 2048
	secretLen = 40
)

// NewAccessKey returns the AWS access key detector, hand-written: a
// keyword hit needs no regex. rule is its id, keywords trigger it (AKIA,
// ASIA).
func NewAccessKey(rule string, keywords []string) Detector {
	return &accessKeyDetector{id: rule, keywords: keywords}
}

// accessKeyDetector matches what AccessKeyPattern matches.
type accessKeyDetector struct {
	id       string
	keywords []string
}

var _ Detector = (*accessKeyDetector)(nil)

func (d *accessKeyDetector) ID() string         { return d.id }
func (d *accessKeyDetector) Keywords() []string { return d.keywords }
func (d *accessKeyDetector) FoldCase() bool     { return false }
func (d *accessKeyDetector) MaxLen() int        { return AccessKeyIDLen }

// Check matches a 20-character key id at pos, delimited like the regex
// \b(?:AKIA|ASIA)[A-Z0-9]{16}\b.
func (d *accessKeyDetector) Check(data []byte, pos int, kw int) (Match, bool) {
	end := pos + AccessKeyIDLen
	if pos < 0 || end > len(data) {
		return Match{}, false
	}
	if p := string(data[pos : pos+4]); p != "AKIA" && p != "ASIA" {
		return Match{}, false
	}
	if pos > 0 && isWordChar(data[pos-1]) || end < len(data) && isWordChar(data[end]) {
		return Match{}, false
	}
	for _, c := range data[pos+4 : end] {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return Match{}, false
		}
	}
	return accessKeyMatch(d.id, data, pos, end), true
}

func isWordChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// accessKeyMatch reports the key id data[start:end], paired with a secret
// access key nearby if there is one. The match spans the id only: the
// location points at it, and the secret appears only in Match.Key (the
// finding's RawKey), as "<id>:<secret>".
func accessKeyMatch(rule string, data []byte, start, end int) Match {
	id := string(data[start:end])
	k := Key{Type: TypeAccessKey, Service: ServiceIAM, AccessKeyID: id}
	if acct, ok := AccountFromKeyID(id); ok {
		k.AccountID = acct
	}
	key := id
	if s, e, ok := pairSecret(data, start, end); ok {
		secret := data[s:e]
		key = id + ":" + string(secret)
		k.SecretLength = len(secret)
		k.SecretSHA256 = shortHash(secret)
	}
	return Match{Rule: rule, Start: start, End: end, Key: key, Decoded: k}
}

var secretChars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = b == '/' || b == '+' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
	}
	return t
}()

func isSecretChar(c byte) bool { return secretChars[c] }

// pairSecret finds the 40-character secret access key written nearest to
// the id at data[idStart:idEnd]: within pairLines lines, preferring the
// closest line, then one after the id, then the closest byte.
func pairSecret(data []byte, idStart, idEnd int) (start, end int, ok bool) {
	lo := max(0, idStart-pairBytes)
	for n, i := 0, idStart; ; n++ {
		j := bytes.LastIndexByte(data[lo:i], '\n')
		if j < 0 {
			break
		}
		if n == pairLines {
			lo += j + 1
			break
		}
		i = lo + j
	}
	hi := min(len(data), idEnd+pairBytes)
	for n, i := 0, idEnd; ; n++ {
		j := bytes.IndexByte(data[i:hi], '\n')
		if j < 0 {
			break
		}
		if n == pairLines {
			hi = i + j
			break
		}
		i += j + 1
	}
	type cand struct{ s, e, lines, after, dist int }
	var best *cand
	for i := lo; i < hi; {
		if !isSecretChar(data[i]) {
			i++
			continue
		}
		j := i
		for j < hi && isSecretChar(data[j]) {
			j++
		}
		s, e := i, j
		i = j
		if e-s != secretLen || e > idStart && s < idEnd {
			continue
		}
		// A run cut by the window is not known to be 40 long.
		if s == lo && s > 0 && isSecretChar(data[s-1]) || e == hi && e < len(data) && isSecretChar(data[e]) {
			continue
		}
		if !looksLikeSecret(data[s:e]) {
			continue
		}
		c := cand{s: s, e: e}
		if s >= idEnd {
			c.lines = bytes.Count(data[idEnd:s], []byte{'\n'})
			c.dist = s - idEnd
		} else {
			c.lines = bytes.Count(data[e:idStart], []byte{'\n'})
			c.dist = idStart - e
			c.after = 1
		}
		if best == nil || c.lines < best.lines ||
			c.lines == best.lines && (c.after < best.after || c.after == best.after && c.dist < best.dist) {
			best = &c
		}
	}
	if best == nil {
		return 0, 0, false
	}
	return best.s, best.e, true
}

// looksLikeSecret accepts base64-like random text: both cases, a digit or
// '/' or '+', and enough entropy. Hex digests (git commit ids) and words
// fail it.
func looksLikeSecret(b []byte) bool {
	var lower, upper, other bool
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		default:
			other = true
		}
	}
	return lower && upper && other && Entropy(b) >= 3.5
}

// Entropy is the Shannon entropy of b in bits per byte.
func Entropy(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	h := 0.0
	n := float64(len(b))
	for _, k := range counts {
		if k > 0 {
			p := float64(k) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

func isKeyID(s string) bool {
	return len(s) == AccessKeyIDLen && s[0] == 'A' && isAccessKeyID(s)
}
