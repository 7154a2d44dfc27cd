package findings

import (
	"crypto/sha256"
	"encoding/hex"
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
// padded keys, keys too short to show an ending, and a prefix longer than
// New's stack buffer.
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
		for _, key := range keys {
			fp, red := fingerprintAndRedact(rule, key)
			if want := slowFingerprint(rule, key); fp != want || Fingerprint(rule, key) != want {
				t.Errorf("fingerprint(%q, %q) = %q / %q, want %q", rule, key, fp, Fingerprint(rule, key), want)
			}
			if want := slowRedact(key); red != want || Redact(key) != want {
				t.Errorf("redact(%q) = %q / %q, want %q", key, red, Redact(key), want)
			}
		}
	}
	key := keys[0]
	if n := testing.AllocsPerRun(100, func() { fingerprintAndRedact(detectors.RuleLongTerm, key) }); n != 1 {
		t.Errorf("fingerprintAndRedact allocates %v times, want 1", n)
	}
}
