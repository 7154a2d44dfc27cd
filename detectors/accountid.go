package detectors

import (
	"encoding/base32"
	"encoding/binary"
	"strings"
)

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
// 20-character key id id (see AccountFromKeyID), without allocating.
func appendAccount(dst, id []byte) ([]byte, bool) {
	if strings.IndexByte("QRSTUVWXYZ234567", id[4]) < 0 {
		return dst, false
	}
	var b [10]byte
	n, err := base32.StdEncoding.Decode(b[:], id[4:20])
	if err != nil || n != 10 {
		return dst, false
	}
	var z [8]byte
	copy(z[2:], b[:6])
	v := (binary.BigEndian.Uint64(z[:]) & 0x7fffffffff80) >> 7
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
