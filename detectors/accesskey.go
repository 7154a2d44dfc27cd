package detectors

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
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
	if !d.Possible(data, pos, kw) {
		return Match{}, false
	}
	return accessKeyMatch(d.id, data, pos, pos+AccessKeyIDLen), true
}

// Possible is Check less the secret search and the Match (Prefilter): the
// id's shape, its word boundaries and the drop words. On AWS-dense text
// nine hits in ten are documentation examples it rejects.
func (d *accessKeyDetector) Possible(data []byte, pos, _ int) bool {
	end := pos + AccessKeyIDLen
	if pos < 0 || end > len(data) {
		return false
	}
	id := data[pos:end]
	if id[0] != 'A' || id[1] != 'K' && id[1] != 'S' || id[2] != 'I' || id[3] != 'A' {
		return false
	}
	if pos > 0 && isWordChar(data[pos-1]) || end < len(data) && isWordChar(data[end]) {
		return false
	}
	if !upperDigits8(binary.LittleEndian.Uint64(id[4:])) || !upperDigits8(binary.LittleEndian.Uint64(id[12:])) {
		return false
	}
	for _, w := range d.drop {
		if bytes.Contains(id, w) {
			return false
		}
	}
	return true
}

// upperDigits8 says whether each of the 8 bytes of x is in [A-Z0-9], the
// characters of an access key id after its prefix, without a branch per
// byte. For a byte b below 0x80, b+0x3f has its high bit set from 'A' on
// and b+0x25 from 'Z'+1 on (likewise 0x50 and 0x46 for '0' and '9'+1), and
// no sum carries into the next byte.
func upperDigits8(x uint64) bool {
	const high = 0x8080808080808080
	if x&high != 0 {
		return false
	}
	const (
		fromA, pastZ = 0x3f3f3f3f3f3f3f3f, 0x2525252525252525
		from0, past9 = 0x5050505050505050, 0x4646464646464646
	)
	upper := (x + fromA) &^ (x + pastZ)
	digit := (x + from0) &^ (x + past9)
	return (upper|digit)&high == high
}

func isWordChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// accessKeyMatch reports the key id data[start:end], paired with a secret
// access key nearby if there is one. The match spans the id only: the
// location points at it, and the secret appears only in Match.Key (the
// finding's RawKey), as "<id>:<secret>".
//
// A hit costs one allocation: the key, the id, the account and the
// secret's hash share one string.
func accessKeyMatch(rule string, data []byte, start, end int) Match {
	var buf [AccessKeyIDLen + 1 + secretLen + 13 + shortHashLen]byte
	b := append(buf[:0], data[start:end]...)
	s, e, paired := pairSecret(data, start, end)
	if paired {
		b = append(append(b, ':'), data[s:e]...)
	}
	keyLen := len(b)
	b, hasAcct := appendAccount(b, data[start:end])
	acctEnd := len(b)
	if paired {
		b = appendShortHash(b, data[s:e])
	}
	all := string(b)
	k := Key{Type: TypeAccessKey, Service: ServiceIAM, AccessKeyID: all[:AccessKeyIDLen]}
	if hasAcct {
		k.AccountID = all[keyLen:acctEnd]
	}
	if paired {
		k.SecretLength = e - s
		k.SecretSHA256 = all[acctEnd:]
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
//
// The window is pairLines lines either side of the id's line, at most
// pairBytes either side of the id; a candidate is a maximal run of exactly
// secretLen secret characters inside it, not overlapping the id, that
// looksLikeSecret. Lines are searched from the id outward (its own line,
// then the next line and the previous one, and so on) and the search stops
// at the first line holding a candidate: no farther line can be preferred.
// It finds what scanning the whole window finds (the reference test checks
// it), but on AWS-dense text, where the secret is on the id's line or the
// next, it reads a line or two instead of eleven.
func pairSecret(data []byte, idStart, idEnd int) (start, end int, ok bool) {
	lo, hi := max(0, idStart-pairBytes), min(len(data), idEnd+pairBytes)
	// The id's line, cut to the window: [ls, le).
	ls := lo + lastNewline(data[lo:idStart]) + 1
	le := hi
	if j := bytes.IndexByte(data[idEnd:hi], '\n'); j >= 0 {
		le = idEnd + j
	}
	if s, e, ok := idLineSecret(data, ls, le, idStart, idEnd); ok {
		return s, e, true
	}
	// After the loop's step, [ls, le) spans the lines searched so far;
	// data[le] is '\n' while there is a line after it in the window, and
	// data[ls-1] is while there is one before.
	for range pairLines {
		if le < hi {
			from := le + 1
			le = hi
			if j := bytes.IndexByte(data[from:hi], '\n'); j >= 0 {
				le = from + j
			}
			if s, e, ok := lineSecret(data, from, le, false); ok {
				return s, e, true
			}
		}
		if ls > lo {
			to := ls - 1
			ls = lo + lastNewline(data[lo:to]) + 1
			if s, e, ok := lineSecret(data, ls, to, true); ok {
				return s, e, true
			}
		}
	}
	return 0, 0, false
}

// idLineSecret is pairSecret's choice on the id's own line [ls, le): the
// closest candidate after the id, else the closest before it.
func idLineSecret(data []byte, ls, le, idStart, idEnd int) (start, end int, ok bool) {
	bs, be := -1, -1
	for s, e := ls, ls; ; {
		s, e = nextRun40(data, ls, le, e)
		if s < 0 {
			break
		}
		if e > idStart && s < idEnd || !looksLikeSecret(data[s:e]) {
			continue
		}
		if s >= idEnd {
			return s, e, true // the first after the id is the closest
		}
		bs, be = s, e // the last before the id is the closest
	}
	return bs, be, bs >= 0
}

// lineSecret returns the candidate of the line [ls, le) closest to the
// id: the first one, or with last (a line before the id's) the last one.
func lineSecret(data []byte, ls, le int, last bool) (start, end int, ok bool) {
	bs, be := -1, -1
	for s, e := ls, ls; ; {
		s, e = nextRun40(data, ls, le, e)
		if s < 0 {
			break
		}
		if !looksLikeSecret(data[s:e]) {
			continue
		}
		if !last {
			return s, e, true
		}
		bs, be = s, e
	}
	return bs, be, bs >= 0
}

// lastNewline is bytes.LastIndexByte(b, '\n'), eight bytes at a time
// (bytes.LastIndexByte goes byte by byte): pairSecret walks back line by
// line, up to pairLines lines, before every access key id, which on
// AWS-dense text made it a tenth of the cost of a finding.
func lastNewline(b []byte) int {
	const ones, highs, nls = 0x0101010101010101, 0x8080808080808080, 0x0a0a0a0a0a0a0a0a
	i := len(b)
	for i >= 8 {
		// A zero byte of x is a '\n' of b: the test is exact for "some
		// byte is zero", and the loop below finds which.
		x := binary.LittleEndian.Uint64(b[i-8:]) ^ nls
		if (x-ones)&^x&highs != 0 {
			break
		}
		i -= 8
	}
	for i > 0 {
		i--
		if b[i] == '\n' {
			return i
		}
	}
	return -1
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
	if len(b) < len(plogp) {
		return entropyShort(b)
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

// entropyShort is Entropy for 0 < len(b) < len(plogp). It sums the same
// terms in the same order (by byte value) as the loop over all 256 counts,
// so the result is the same to the bit, but visits only the byte values b
// holds (a bitmap of them), with byte counters: on AWS-dense text
// (looksLikeSecret on every 40-character run near an access key id)
// clearing and walking 256 int counters was most of Entropy's cost.
func entropyShort(b []byte) float64 {
	var counts [256]uint8 // len(b) < 65: a count fits
	var seen [4]uint64
	for _, c := range b {
		counts[c]++
		seen[c>>6] |= 1 << (c & 63)
	}
	t := &plogp[len(b)]
	h := 0.0
	for w, m := range seen {
		for m != 0 {
			c := w<<6 | bits.TrailingZeros64(m)
			m &= m - 1
			h -= t[counts[c]]
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
