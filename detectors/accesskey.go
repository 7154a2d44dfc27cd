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

// NewAccessKeyDropping is NewAccessKey for scans that would suppress every
// id holding one of drop (upper case, e.g. "EXAMPLE": AWS's documentation
// examples) whatever its secret: such ids are dropped at the shape check,
// before a secret is looked for and before a finding is made. On AWS
// documentation they are most of the ids.
func NewAccessKeyDropping(rule string, keywords []string, drop []string) Detector {
	d := &accessKeyDetector{id: rule, keywords: keywords}
	for _, w := range drop {
		d.drop = append(d.drop, []byte(w))
	}
	return d
}

// accessKeyDetector matches what AccessKeyPattern matches, less the ids
// holding a word of drop.
type accessKeyDetector struct {
	id       string
	keywords []string
	drop     [][]byte
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
	for _, w := range d.drop {
		if bytes.Contains(data[pos:end], w) {
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
//
// A hit costs one allocation: the key, the id and the account share one
// string.
func accessKeyMatch(rule string, data []byte, start, end int) Match {
	var buf [AccessKeyIDLen + 1 + secretLen + 13]byte
	b := append(buf[:0], data[start:end]...)
	s, e, paired := pairSecret(data, start, end)
	if paired {
		b = append(append(b, ':'), data[s:e]...)
	}
	keyLen := len(b)
	b, hasAcct := appendAccount(b, data[start:end])
	all := string(b)
	k := Key{Type: TypeAccessKey, Service: ServiceIAM, AccessKeyID: all[:AccessKeyIDLen]}
	if hasAcct {
		k.AccountID = all[keyLen:]
	}
	if paired {
		k.SecretLength = e - s
		k.SecretSHA256 = shortHash(data[s:e])
	}
	return Match{Rule: rule, Start: start, End: end, Key: all[:keyLen], Decoded: k}
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
	lo, hi := pairWindow(data, idStart, idEnd)
	var best secretCand
	for s, e := lo, lo; ; {
		s, e = nextRun40(data, lo, hi, e)
		if s < 0 {
			break
		}
		if e > idStart && s < idEnd || !looksLikeSecret(data[s:e]) {
			continue
		}
		c := secretCand{s: s, e: e}
		if s >= idEnd {
			c.lines = bytes.Count(data[idEnd:s], []byte{'\n'})
			c.dist = s - idEnd
		} else {
			c.lines = bytes.Count(data[e:idStart], []byte{'\n'})
			c.dist = idStart - e
			c.after = 1
		}
		if best.e == 0 || c.better(&best) {
			best = c
		}
	}
	return best.s, best.e, best.e != 0
}

// secretCand is a run that may be the secret: its bytes, its distance in
// lines and bytes from the id, and whether it is written before the id.
type secretCand struct{ s, e, lines, after, dist int }

func (c *secretCand) better(o *secretCand) bool {
	return c.lines < o.lines || c.lines == o.lines && (c.after < o.after || c.after == o.after && c.dist < o.dist)
}

// pairWindow returns the bytes around an id a secret is looked for in:
// pairLines lines either side, at most pairBytes.
func pairWindow(data []byte, idStart, idEnd int) (lo, hi int) {
	lo = max(0, idStart-pairBytes)
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
	hi = min(len(data), idEnd+pairBytes)
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
	return lo, hi
}

// nextRun40 returns the next run of exactly secretLen secret characters in
// data[from:hi] (from is lo or just after a run or a non-secret byte),
// leaving out runs the window [lo, hi) cuts, or s = -1. It probes the last
// byte a run starting at from would hold: when that byte is not a secret
// character no run of 40 starts before it, and it skips 40 bytes at once.
func nextRun40(data []byte, lo, hi, from int) (s, e int) {
	i := from
	for i+secretLen <= hi {
		k := i + secretLen - 1
		if !secretChars[data[k]] {
			i = k + 1
			continue
		}
		j := k
		for j > i && secretChars[data[j-1]] {
			j--
		}
		if j > i {
			// data[j-1] is not a secret character: a run starts at j;
			// probe its 40th byte.
			i = j
			continue
		}
		// data[i:k+1] are secret characters and data[i-1] is not (or i is
		// lo): the run starts at i.
		e = k + 1
		for e < hi && secretChars[data[e]] {
			e++
		}
		if e-i == secretLen && !(i == lo && i > 0 && secretChars[data[i-1]]) && !(e == hi && e < len(data) && secretChars[data[e]]) {
			return i, e
		}
		i = e
	}
	return -1, -1
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
	if len(b) < len(plogp) {
		t := &plogp[len(b)]
		for _, k := range counts {
			if k > 0 {
				h -= t[k]
			}
		}
		return h
	}
	n := float64(len(b))
	for _, k := range counts {
		if k > 0 {
			p := float64(k) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// plogp[n][k] is p·log2(p) for p = k/n, computed as Entropy computes it
// for longer inputs, so that the result is the same to the bit: the
// secrets Entropy is asked about are 40 bytes long, and a logarithm per
// distinct byte was most of its cost.
var plogp = func() (t [65][65]float64) {
	for n := 1; n < len(t); n++ {
		for k := 1; k <= n; k++ {
			p := float64(k) / float64(n)
			t[n][k] = p * math.Log2(p)
		}
	}
	return t
}()

func isKeyID(s string) bool {
	return len(s) == AccessKeyIDLen && s[0] == 'A' && isAccessKeyID(s)
}
