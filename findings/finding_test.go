package findings

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/internal/testkeys"
)

// slowRedact is Redact as it was written before fingerprintAndRedact
// shared its parts: the reference the fast path is compared with.
func slowRedact(key string) string {
	prefix := ""
	f, ok := detectors.Identify(key)
	if ok {
		prefix = f.Prefix
	} else if len(key) > 4 {
		prefix = key[:4]
	}
	rest := strings.TrimRight(key[len(prefix):], "=")
	if ok && !f.Long && len(rest) > 40 {
		rest = rest[:len(rest)-16]
	}
	if len(rest) <= 8 {
		return prefix + "…"
	}
	return prefix + "…" + rest[len(rest)-4:]
}

func slowFingerprint(rule, key string) string {
	sum := sha256.Sum256([]byte(rule + "\x00" + key))
	return hex.EncodeToString(sum[:16])
}

// TestFingerprintAndRedact compares New's one-allocation fingerprint and
// redaction with Fingerprint, Redact and the reference implementations,
// on keys of every shape: each family, short-term tokens, access key ids,
// padded keys, keys too short to show an ending, and a long key with no
// family prefix.
func TestFingerprintAndRedact(t *testing.T) {
	keys := []string{
		testkeys.LongTerm("BedrockAPIKey-ab12", "123456789012", testkeys.Secret(1)),
		testkeys.ClaudeLongTerm("ab12", "123456789012", testkeys.Secret(2)),
		testkeys.ShortTerm(testkeys.ShortTermOptions{
			AccessKeyID: testkeys.AccessKeyID("ASIA", "609629065308", 3), SecretKey: "s",
			SessionToken: testkeys.SessionToken("609629065308", 300, 3), Region: "us-east-1",
			Issued: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Expires: 3600,
		}),
		testkeys.AccessKeyID("AKIA", "123456789012", 4),
		testkeys.AccessKeyID("ASIA", "123456789012", 5) + ":" + testkeys.AccessKeySecret(5),
		"ABSKshort==", "ABSK", "abc", "", "abcdefghijklmnop", "xxxx====abcdefghijkl",
		strings.Repeat("p", 100) + "tail",
	}
	for _, rule := range []string{detectors.RuleLongTerm, "aws-access-key", ""} {
		for i, key := range keys { // failures name a key by its index: no key in the log
			fp, red := fingerprintAndRedact(rule, key)
			if want := slowFingerprint(rule, key); fp != want || Fingerprint(rule, key) != want {
				t.Errorf("fingerprint(%q, keys[%d]) = %q / %q, want %q", rule, i, fp, Fingerprint(rule, key), want)
			}
			if want := slowRedact(key); red != want || Redact(key) != want {
				t.Errorf("redact(keys[%d]) = %q / %q, want %q", i, red, Redact(key), want)
			}
		}
	}
	key := keys[0]
	if n := testing.AllocsPerRun(100, func() { fingerprintAndRedact(detectors.RuleLongTerm, key) }); n != 1 {
		t.Errorf("fingerprintAndRedact allocates %v times, want 1", n)
	}
}

// Keys.New builds the same finding as New, each with a Key of its own
// although they share blocks: more findings than a block holds, each
// checked after all were built.
func TestKeysNew(t *testing.T) {
	var ks Keys
	var got, want []Finding
	for i := range 3*keysBlock + 5 {
		key := testkeys.LongTerm("BedrockAPIKey-ab12", "123456789012", testkeys.Secret(uint64(i)))
		m := detectors.Match{Rule: detectors.RuleLongTerm, Key: key, Start: i, End: i + len(key)}
		m.Decoded = detectors.Key{Type: detectors.TypeLongTerm, AccountID: key[len(key)-12:], SecretLength: i}
		if i%7 == 0 {
			m.Decoded.PartialReason = "cut"
		}
		loc := Location{Path: "f", Line: i + 1}
		got = append(got, ks.New(m, loc))
		want = append(want, New(m, loc))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) || got[i].RawKey() != want[i].RawKey() {
			t.Errorf("finding %d: Keys.New and New differ (%s, %s)", i, got[i].Redacted, want[i].Redacted)
		}
		if got[i].Key.SecretLength != i {
			t.Errorf("finding %d: its key was overwritten (%s, secret length %d)", i, got[i].Redacted, got[i].Key.SecretLength)
		}
	}
}
