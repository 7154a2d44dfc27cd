package detectors

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testkeys"
)

// FuzzDecode: no input panics; a key that decodes re-encodes to itself.
func FuzzDecode(f *testing.F) {
	for _, k := range []string{keyConsole, keyAPI, keyShort, keyShortAKIA, keyClaude, keyClaudeShort,
		"ABSK", "ABSK====", "bedrock-api-key-", "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz8=", "AEAA!"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		k, err := Decode(key, DecodeOptions{Now: testNow})
		if err != nil {
			if hasKeyPrefix(key) && len(key) > 24 && strings.Contains(err.Error(), key[4:]) {
				t.Fatalf("error message repeats the key: %v", err)
			}
			return
		}
		if k.Type != TypeLongTerm && k.Type != TypeShortTerm {
			t.Fatalf("decoded with type %q", k.Type)
		}
		if k.Type == TypeLongTerm {
			if len(k.AccountID) != 12 || k.Username == "" {
				t.Fatalf("long-term decode missing fields: %+v", k)
			}
			// Re-encode the alias the decoder found and compare payloads.
			prefix := key[:4]
			body := strings.TrimRight(key[4:], "=")
			payload, _ := base64.RawStdEncoding.DecodeString(body)
			alias := k.Username + k.Marker + "-at-" + k.AccountID + ":"
			if !strings.HasPrefix(string(payload), alias) || len(payload)-len(alias) != k.SecretLength {
				t.Fatalf("%s key: payload does not start with decoded alias %q", prefix, alias)
			}
		}
	})
}

// FuzzLongTermRoundTrip: encode ∘ decode = identity for any IAM-valid name.
func FuzzLongTermRoundTrip(f *testing.F) {
	f.Add("BedrockAPIKey-h42z", uint64(123456789012), "secret")
	f.Add("data-at-rest", uint64(1), "AAEC=")
	f.Add("svc+bedrock", uint64(999999999999), "x")
	f.Add("BedrockAPIKey-h42z+1", uint64(5), "s")
	f.Fuzz(func(t *testing.T, user string, acct uint64, secret string) {
		if user == "" || len(user) > 64 || secret == "" {
			return
		}
		for i := 0; i < len(user); i++ {
			if !isIAMNameChar(user[i]) {
				return
			}
		}
		for i := 0; i < len(secret); i++ {
			if secret[i] < 0x21 || secret[i] > 0x7e {
				return
			}
		}
		account := strings.Repeat("0", 12) + strings.TrimLeft(strings.Repeat("0", 1)+uitoa(acct%1000000000000), "0")
		account = account[len(account)-12:]
		key := testkeys.LongTerm(user, account, secret)
		if strings.ContainsAny(key, "+/") {
			return // outside the key alphabet: AWS's payloads never encode to + or /
		}
		k, err := Decode(key, DecodeOptions{})
		if err != nil {
			t.Fatalf("Decode(%q,%s): %v", user, account, err)
		}
		if k.Username+k.Marker != user || k.AccountID != account || k.SecretLength != len(secret) {
			// The secret may itself end in "-at-<12 digits>:…" only if it
			// contains ':', which makes the split ambiguous by design.
			if !strings.Contains(secret, ":") {
				t.Fatalf("round trip: got %q%q@%s len %d", k.Username, k.Marker, k.AccountID, k.SecretLength)
			}
		}
		// The engine finds it too, exactly once.
		ms := 0
		New(Options{}).Scan([]byte(" "+key+" "), 0, func(m Match) {
			if m.Key == key {
				ms++
			}
		})
		if ms != 1 {
			t.Fatalf("engine found %d", ms)
		}
	})
}

func uitoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for v > 0 {
		b = append([]byte{byte('0' + v%10)}, b...)
		v /= 10
	}
	return string(b)
}

// FuzzEngine: no input panics, every match lies inside the input, and a key
// planted at any offset (delimited, as keys are in text) is found once.
func FuzzEngine(f *testing.F) {
	f.Add([]byte("hello world"), uint16(3), uint8(0))
	f.Add([]byte("ABSKABSKABSK bedrock-api-key- QUJTS FCU0 BQlNL"), uint16(0), uint8(1))
	f.Add([]byte(strings.Repeat("A", 200)), uint16(100), uint8(2))
	f.Add([]byte("x=\"\\n"), uint16(2), uint8(3))
	planted := []string{keyConsole, keyShort, keyClaude, keyClaudeShort}
	e := New(Options{IncludeInvalid: true})
	f.Fuzz(func(t *testing.T, data []byte, off uint16, which uint8) {
		e.Scan(data, len(data), func(m Match) {
			if m.Start < 0 || m.End > len(data) || m.Start >= m.End {
				t.Fatalf("match [%d,%d) outside input of %d", m.Start, m.End, len(data))
			}
		})
		key := planted[int(which)%len(planted)]
		at := int(off) % (len(data) + 1)
		in := append(append(append([]byte{}, data[:at]...), " "+key+" "...), data[at:]...)
		n := 0
		e.Scan(in, len(in), func(m Match) {
			if m.Start < 0 || m.End > len(in) {
				t.Fatalf("match outside input")
			}
			if m.Key == key && m.Err == nil {
				n++
			}
		})
		if n != 1 {
			t.Fatalf("planted key at %d found %d times", at, n)
		}
		// A cut key is never high (a cut removing only padding is the
		// same key) and never claims an expiry.
		whole := strings.TrimRight(key, "=")
		cut := []byte(" " + whole[:int(off)%len(whole)] + " ")
		e.Scan(cut, len(cut), func(m Match) {
			if m.Err == nil && m.Decoded.PartialReason == "" {
				t.Fatalf("key cut to %d characters reported high", len(cut)-2)
			}
			if k := m.Decoded; k.ExpiresAt != nil || k.Expired != nil || k.ExpiresInSeconds != nil {
				t.Fatalf("key cut to %d characters claims an expiry", len(cut)-2)
			}
		})
	})
}

// kwDetector is an extra detector that only has keywords: its check never
// matches.
type kwDetector struct {
	kw   []string
	fold bool
}

func (d kwDetector) ID() string                           { return "kw" }
func (d kwDetector) Keywords() []string                   { return d.kw }
func (d kwDetector) FoldCase() bool                       { return d.fold }
func (d kwDetector) MaxLen() int                          { return 64 }
func (d kwDetector) Check([]byte, int, int) (Match, bool) { return Match{}, false }

// FuzzHasAnchor: HasAnchor is exactly "some anchor occurs in data", and
// Scan finds nothing where it says none does.
func FuzzHasAnchor(f *testing.F) {
	f.Add([]byte("hello world"))
	f.Add([]byte("xABSK"))
	f.Add([]byte("QUJTS"))
	f.Add([]byte("  Secret_Key"))
	f.Add([]byte(" " + keyConsole + " "))
	f.Add([]byte("bedrock-api-key-"))
	e := New(Options{IncludeInvalid: true, Extra: []Detector{
		kwDetector{kw: []string{"AKIA"}}, kwDetector{kw: []string{"secret_key", "zz"}, fold: true},
	}})
	f.Fuzz(func(t *testing.T, data []byte) {
		want := false
		for _, a := range e.anchors {
			for p := 0; p+len(a.pat) <= len(data) && !want; p++ {
				w := data[p : p+len(a.pat)]
				want = bytes.Equal(w, a.pat) || a.fold && bytes.EqualFold(w, a.pat)
			}
		}
		if got := e.HasAnchor(data); got != want {
			t.Fatalf("HasAnchor(%q) = %v, want %v", data, got, want)
		}
		if !want {
			e.Scan(data, len(data), func(m Match) { t.Fatalf("Scan found %q where HasAnchor found no anchor", m.Key) })
		}
		for _, a := range e.anchors {
			if len(a.pat) > e.MaxAnchorLen() {
				t.Fatalf("anchor %q longer than MaxAnchorLen %d", a.pat, e.MaxAnchorLen())
			}
		}
	})
}
