package detectors

// AccountFromKeyID returns the AWS account id encoded in a new-style access
// key id (AKIA…, ASIA…, 20 characters) or service-specific credential id
// (ACCA…, 21 characters). Older ids, whose fifth character is outside
// [Q-Z2-7], carry no account: ok is false and no number is made up.
func AccountFromKeyID(id string) (account string, ok bool) {
	if len(id) != 20 && len(id) != 21 {
		return "", false
	}
	var buf [12]byte
	b, ok := appendAccount(buf[:0], []byte(id[:20]))
	return string(b), ok
}

// appendAccount appends to dst the 12-digit account id encoded in the
// 20-character key id id (see AccountFromKeyID), without allocating. It
// decodes base32 itself, as encoding/base32 would (every character of
// id[4:20] must be in its alphabet), but only the 48 bits the account is
// in: per AWS-dense finding, the general decoder was a tenth of the cost
// of the key id check.
func appendAccount(dst, id []byte) ([]byte, bool) {
	if base32Val[id[4]] < 16 || base32Val[id[4]] > 31 {
		return dst, false // [Q-Z2-7] only: older ids carry no account
	}
	var x uint64
	for i, c := range id[4:20] {
		d := base32Val[c]
		if d > 31 {
			return dst, false
		}
		if i < 10 {
			x = x<<5 | uint64(d)
		}
	}
	// x holds 50 bits: the first 6 decoded bytes, then 2 bits.
	v := (x >> 2 & 0x7fffffffff80) >> 7
	// As fmt's %012d: at least 12 digits (the field holds up to 13).
	var d [13]byte
	i := len(d)
	for i > 0 && (v > 0 || i > len(d)-12) {
		i--
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, d[i:]...), true
}

// base32Val is the value of each character of the standard base32
// alphabet (RFC 4648: A-Z, 2-7), 0xff for the others.
var base32Val = func() (t [256]uint8) {
	for c := range t {
		t[c] = 0xff
	}
	for i, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" {
		t[c] = uint8(i)
	}
	return t
}()
