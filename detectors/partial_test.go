package detectors

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/testkeys"
)

// isHigh says whether the engine reports m as a whole, decoded key.
func isHigh(m Match) bool { return m.Err == nil && m.Decoded.PartialReason == "" }

// claimsExpiry says whether m's decoded key says anything about its expiry.
func claimsExpiry(m Match) bool {
	k := m.Decoded
	return k.ExpiresAt != nil || k.ExpiresInSeconds != nil || k.Expired != nil
}

// sweep cuts key at every length from 1 to len(key) and scans each cut the
// way the detect path does (the cut delimited by spaces). It counts, below
// the full length, the cuts reported high and the cuts claiming an expiry.
// A cut that removes only '=' padding is the same key, not a truncation.
func sweep(t *testing.T, key string) (high, expiry, shown int) {
	t.Helper()
	e := New(Options{Decode: DecodeOptions{Now: testNow}})
	whole := len(strings.TrimRight(key, "="))
	for n := 1; n < whole; n++ {
		for _, m := range scanAll(t, e, []byte(" "+key[:n]+" ")) {
			shown++
			if isHigh(m) {
				high++
			}
			if claimsExpiry(m) {
				expiry++
			}
		}
	}
	full := scanAll(t, e, []byte(" "+key+" "))
	if len(full) != 1 || !isHigh(full[0]) || full[0].Key != key {
		t.Fatalf("the whole key is not found high: %+v", full)
	}
	return high, expiry, shown
}

// officialShortTerm is a short-term key of the size (at least 932
// characters; 940 here) in the shape AWS's token generators emit (ASIA
// access key id, STS session token, signature, &Version=1).
func officialShortTerm(t *testing.T) string {
	t.Helper()
	for n := 300; n < 800; n++ {
		k := testkeys.ShortTerm(testkeys.ShortTermOptions{
			AccessKeyID:  testkeys.AccessKeyID("ASIA", "609629065308", 13),
			SecretKey:    "fake/secret/key",
			SessionToken: testkeys.SessionToken("609629065308", n, 13),
			Region:       "us-east-1",
			Issued:       time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC),
			Expires:      43200,
		})
		if len(k) >= 932 {
			return k
		}
	}
	t.Fatal("no 932-character token")
	return ""
}

func TestTruncationSweep(t *testing.T) {
	v := loadVectors(t)
	for _, tc := range []struct{ name, key string }{
		{"official-shape short-term", officialShortTerm(t)},
		{"vector short-term (session token)", v.ShortTerm[1].Token},
		{"vector short-term (AKIA)", v.ShortTerm[0].Token},
		{"vector long-term (console)", v.LongTerm[0].Key},
		{"claude short-term", keyClaudeShort},
		{"claude long-term", keyClaude},
	} {
		high, expiry, shown := sweep(t, tc.key)
		t.Logf("%s: %d characters, %d cuts: %d high, %d claim an expiry, %d shown by default",
			tc.name, len(tc.key), len(strings.TrimRight(tc.key, "="))-1, high, expiry, shown)
		if high != 0 || expiry != 0 {
			t.Errorf("%s: cuts below full length: %d high, %d claim an expiry; want 0 and 0", tc.name, high, expiry)
		}
	}
}

// The repro: a token cut in the middle of X-Amz-Expires ("43" of
// "43200") claimed expires_at 43 s after issue, hence expired.
func TestTruncatedMidExpiresClaimsNoExpiry(t *testing.T) {
	akid := "ASIA" + "Q2AAAAAAAAAAAAAB"
	u := "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256" +
		"&X-Amz-Credential=" + akid + "%2F20261206%2Fus-east-1%2Fbedrock%2Faws4_request" +
		"&X-Amz-Date=20261206T223814Z&X-Amz-Expires=43"
	key := PrefixShortTerm + base64.StdEncoding.EncodeToString([]byte(u))
	ms := scanAll(t, New(Options{Decode: DecodeOptions{Now: testNow}}), []byte("x "+key+" y"))
	if len(ms) != 1 {
		t.Fatalf("found %d matches, want 1 (shown by default)", len(ms))
	}
	m := ms[0]
	if isHigh(m) || claimsExpiry(m) {
		t.Fatalf("cut token: high=%v expires_at=%v expired=%v; want partial with no expiry", isHigh(m), m.Decoded.ExpiresAt, m.Decoded.Expired)
	}
	if m.Decoded.PartialReason == "" || m.Decoded.HasSessionToken != nil {
		t.Errorf("partial_reason %q, has_session_token %v; want a reason and no claim", m.Decoded.PartialReason, m.Decoded.HasSessionToken)
	}
	if m.Decoded.AccessKeyID != akid || m.Decoded.Region != "us-east-1" {
		t.Errorf("decoded access key id/region lost: %+v", m.Decoded)
	}
}

func TestPartialLongTermAndEllipsis(t *testing.T) {
	e := New(Options{Decode: DecodeOptions{Now: testNow}})
	short := testkeys.LongTerm("BedrockAPIKey-h42z", "123456789012", "s")
	for _, tc := range []struct{ name, in, key string }{
		{"1-character secret", " " + short + " ", short},
		{"followed by ...", "key: " + keyConsole + "...\n", keyConsole},
		{"followed by …", "key: " + keyConsole + "…\n", keyConsole},
		{"short-term followed by …", "key: " + keyShort + "…\n", keyShort},
	} {
		ms := scanAll(t, e, []byte(tc.in))
		if len(ms) != 1 || ms[0].Err != nil || ms[0].Key != tc.key {
			t.Fatalf("%s: matches %+v, want the key, partial", tc.name, ms)
		}
		k := ms[0].Decoded
		if k.PartialReason == "" || claimsExpiry(ms[0]) {
			t.Errorf("%s: partial_reason %q, expiry %v; want partial with no expiry", tc.name, k.PartialReason, k.ExpiresAt)
		}
		if k.AccountID == "" {
			t.Errorf("%s: account lost", tc.name)
		}
		d, err := Decode(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(tc.in), "key: ")), DecodeOptions{Now: testNow})
		if err != nil || d.PartialReason == "" {
			t.Errorf("%s: Decode: %v, partial_reason %q", tc.name, err, d.PartialReason)
		}
	}
	if k, err := Decode(keyConsole, DecodeOptions{}); err != nil || k.PartialReason != "" {
		t.Errorf("whole key: %v, partial %q", err, k.PartialReason)
	}
}

func TestNoQueryMessage(t *testing.T) {
	key := PrefixShortTerm + base64.StdEncoding.EncodeToString([]byte("bedrock.amazonaws.com"+strings.Repeat("x", 40)))
	_, err := Decode(key, DecodeOptions{})
	if err == nil || !strings.Contains(err.Error(), "wrong host") {
		t.Fatalf("other host: %v", err)
	}
	key = PrefixShortTerm + base64.StdEncoding.EncodeToString([]byte("bedrock.amazonaws.com/"+strings.Repeat("x", 40)))
	_, err = Decode(key, DecodeOptions{})
	if err == nil || strings.Contains(err.Error(), "wrong host") || !strings.Contains(err.Error(), "no query") {
		t.Fatalf("no query: %v", err)
	}
}

// --include-invalid lists every rejected candidate, also those the cheap
// long-term prefilter drops before decoding.
func TestIncludeInvalidListsPrefilterRejects(t *testing.T) {
	for _, tc := range []struct{ name, payload, want string }{
		{"bad IAM name character", "bad user!-at-123456789012:" + testkeys.Secret(1), "not allowed in IAM names"},
		{"no -at-", "BedrockAPIKey-h42z:123456789012:" + testkeys.Secret(1), "-at-<12 digits>:"},
	} {
		key := PrefixLongTerm + base64.StdEncoding.EncodeToString([]byte(tc.payload))
		if ms := scanAll(t, New(Options{}), []byte(" "+key+" ")); len(ms) != 0 {
			t.Errorf("%s: reported without --include-invalid: %+v", tc.name, ms)
		}
		ms := scanAll(t, New(Options{IncludeInvalid: true}), []byte(" "+key+" "))
		if len(ms) != 1 || ms[0].Err == nil || !strings.Contains(ms[0].Err.Error(), tc.want) || ms[0].Key != key {
			t.Errorf("%s: with --include-invalid got %+v, want the candidate with an error about %q", tc.name, ms, tc.want)
		}
	}
}
