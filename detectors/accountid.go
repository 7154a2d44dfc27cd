package detectors

import (
	"encoding/base32"
	"encoding/binary"
	"fmt"
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
	if strings.IndexByte("QRSTUVWXYZ234567", id[4]) < 0 {
		return "", false
	}
	var b [10]byte
	n, err := base32.StdEncoding.Decode(b[:], []byte(id[4:20]))
	if err != nil || n != 10 {
		return "", false
	}
	var z [8]byte
	copy(z[2:], b[:6])
	v := binary.BigEndian.Uint64(z[:])
	return fmt.Sprintf("%012d", (v&0x7fffffffff80)>>7), true
}
