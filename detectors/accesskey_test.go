package detectors

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testkeys"
)

// oldStyleID is an access key id of the old form (no account inside).
func oldStyleID(prefix string) string { return prefix + "IOSFODNN7ABCDEFG" }

// scanExtra scans data with the built-in families and the given detectors,
// invalid candidates included.
func scanExtra(t testing.TB, data string, extra ...Detector) []Match {
	t.Helper()
	var ms []Match
	e := New(Options{Extra: extra, IncludeInvalid: true})
	e.Scan([]byte(data), len(data), func(m Match) { ms = append(ms, m) })
	return ms
}

// accessKey is the detector of the built-in aws-access-key rule.
func accessKey() Detector { return NewAccessKey("aws-access-key", []string{"AKIA", "ASIA"}) }

func TestAccessKeyRule(t *testing.T) {
	const acct = "123456789012"
	id := testkeys.AccessKeyID("AKIA", acct, 1)
	sid := testkeys.AccessKeyID("ASIA", "609629065308", 2)
	sec := testkeys.AccessKeySecret(1)
	sec2 := testkeys.AccessKeySecret(2)
	hexSHA := strings.Repeat("0123456789abcdef", 3)[:40]
	tests := []struct {
		name    string
		text    string
		id      string // "" = no match
		account string
		secret  string
	}{
		{"alone", "aws_access_key_id = " + id + "\n", id, acct, ""},
		{"temporary", `"AccessKeyId": "` + sid + `",`, sid, "609629065308", ""},
		{"old style: no account", "key=" + oldStyleID("AKIA"), oldStyleID("AKIA"), "", ""},
		{"old style with a secret", "key=" + oldStyleID("AKIA") + "\nsecret=" + sec + "\n", oldStyleID("AKIA"), "", sec},
		{"credentials file", "[default]\naws_access_key_id = " + id + "\naws_secret_access_key = " + sec + "\n", id, acct, sec},
		{"secret before the id", "AWS_SECRET_ACCESS_KEY=" + sec + "\nAWS_ACCESS_KEY_ID=" + id + "\n", id, acct, sec},
		{"same line wins over a closer line", sec2 + "\n" + id + " " + sec + "\n", id, acct, sec},
		{"after wins on equal lines", sec2 + "\n" + id + "\n" + sec + "\n", id, acct, sec},
		{"STS JSON with a session token between", `{"AccessKeyId":"` + sid + `","SessionToken":"` + testkeys.SessionToken("609629065308", 900, 1) + `","SecretAccessKey":"` + sec + `"}`, sid, "609629065308", sec},
		{"hex digest is not a secret", id + "\ncommit " + hexSHA + "\n", id, acct, ""},
		{"too far to pair", id + strings.Repeat("\n", 7) + sec + "\n", id, acct, ""},
		{"41 characters is not a secret", id + " " + sec + "x\n", id, acct, ""},
		{"glued before", "x" + id, "", "", ""},
		{"glued after", id + "7", "", "", ""},
		{"underscore is a word character", "_" + id, "", "", ""},
		{"lower case", strings.ToLower(id), "", "", ""},
		{"short", id[:19], "", "", ""},
		{"punctuation in the id", id[:10] + "-" + id[11:], "", "", ""},
		{"in a URL", "X-Amz-Credential=" + sid + "%2F20250101%2Fus-east-1", sid, "609629065308", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms := scanExtra(t, tc.text, accessKey())
			if tc.id == "" {
				if len(ms) != 0 {
					t.Fatalf("matched %q", ms[0].Key)
				}
				return
			}
			if len(ms) != 1 {
				t.Fatalf("%d matches, want 1", len(ms))
			}
			m := ms[0]
			if m.Rule != "aws-access-key" || tc.text[m.Start:m.End] != tc.id || m.Err != nil {
				t.Errorf("match %s %d..%d err %v", m.Rule, m.Start, m.End, m.Err)
			}
			k := m.Decoded
			if k.Type != TypeAccessKey || k.Service != ServiceIAM || k.AccessKeyID != tc.id || k.AccountID != tc.account {
				t.Errorf("key = %+v", k)
			}
			wantKey := tc.id
			if tc.secret != "" {
				wantKey += ":" + tc.secret
				sum := sha256.Sum256([]byte(tc.secret))
				if k.SecretLength != 40 || k.SecretSHA256 != hex.EncodeToString(sum[:8]) {
					t.Errorf("secret fields: %+v", k)
				}
			} else if k.SecretLength != 0 || k.SecretSHA256 != "" {
				t.Errorf("paired with something: %+v", k)
			}
			if m.Key != wantKey {
				t.Errorf("key %q, want %q", redactAll(m.Key), redactAll(wantKey))
			}
		})
	}
}

func redactAll(s string) string {
	if len(s) < 8 {
		return s
	}
	return s[:6] + "…" + fmt.Sprint(len(s))
}

func FuzzAccessKeyCheck(f *testing.F) {
	id := testkeys.AccessKeyID("AKIA", "123456789012", 1)
	f.Add([]byte("aws_access_key_id = "+id+"\naws_secret_access_key = "+testkeys.AccessKeySecret(1)+"\n"), 20)
	f.Add([]byte(oldStyleID("ASIA")), 0)
	f.Add([]byte("xAKIAIOSFODNN7EXAMPL"), 1)
	f.Add([]byte(testkeys.AccessKeySecret(3)+"\n"+id), 41)
	f.Add([]byte("AKIA"), 0)
	re := regexp.MustCompile(AccessKeyPattern)
	d := accessKey()
	f.Fuzz(func(t *testing.T, data []byte, pos int) {
		if pos < -1 || pos > len(data)+1 {
			return
		}
		m, ok := d.Check(data, pos, 0)
		// The regex, anchored where Check looks, must agree.
		want := false
		if pos >= 0 && pos+AccessKeyIDLen <= len(data) {
			lo := max(0, pos-1)
			hi := min(len(data), pos+AccessKeyIDLen+1)
			for _, loc := range re.FindAllIndex(data[lo:hi], -1) {
				if lo+loc[0] == pos {
					want = true
				}
			}
		}
		if ok != want {
			t.Fatalf("Check = %v, regex = %v at %d in %q", ok, want, pos, data)
		}
		if !ok {
			return
		}
		if m.Start != pos || m.End != pos+AccessKeyIDLen || m.Err != nil {
			t.Fatalf("match %d..%d at %d", m.Start, m.End, pos)
		}
		id := string(data[m.Start:m.End])
		if m.Key != id && !(strings.HasPrefix(m.Key, id+":") && len(m.Key) == len(id)+1+40) {
			t.Fatalf("key %q for id %q", m.Key, id)
		}
		if s := strings.TrimPrefix(m.Key, id+":"); s != m.Key && !strings.Contains(string(data), s) {
			t.Fatalf("paired secret not in the input")
		}
		if acct, ok := AccountFromKeyID(id); ok != (m.Decoded.AccountID != "") || acct != m.Decoded.AccountID {
			t.Fatalf("account %q, want %q", m.Decoded.AccountID, acct)
		}
	})
}

func TestEngineOrderWithExtra(t *testing.T) {
	// Bedrock keys and access keys interleaved come out in order, once each.
	var b strings.Builder
	var want []string
	for i := range 20 {
		long := testkeys.LongTerm(testkeys.ConsoleUser(uint64(i)), "123456789012", testkeys.Secret(uint64(i)))
		id := testkeys.AccessKeyID("AKIA", "123456789012", uint64(i))
		fmt.Fprintf(&b, "k%d=%s id=%s\n", i, long, id)
		want = append(want, RuleLongTerm, "aws-access-key")
	}
	ms := scanExtra(t, b.String(), accessKey())
	prev := -1
	var got []string
	for _, m := range ms {
		if m.Start < prev {
			t.Fatalf("out of order at %d", m.Start)
		}
		prev = m.Start
		got = append(got, m.Rule)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rules %v", got)
	}
}

// entropyRef is Entropy by the formula, every count from the 256 in byte
// order: what Entropy's table and its short-input path must equal to the
// bit.
func entropyRef(b []byte) float64 {
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	h, n := 0.0, float64(len(b))
	for _, k := range counts {
		if k > 0 {
			p := float64(k) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// TestEntropyTableSameBits checks Entropy's table of p·log2(p) against
// the formula for every length it covers and past it: rule thresholds
// (min_entropy) and looksLikeSecret compare its result, so it must not
// move by a bit. The alphabets start in each quarter of the byte range
// (the short path keeps a bitmap of the byte values per quarter), and a
// run of one byte reaches the largest count the table holds.
func TestEntropyTableSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 1; n <= 80; n++ {
		for trial := 0; trial < 400; trial++ {
			b := make([]byte, n)
			base := []int{0, '!', 60, 128, 190, 250}[trial%6]
			alpha := 1 + rng.IntN(min(64, 256-base))
			if trial%10 == 9 {
				base, alpha = 0, 256
			}
			for i := range b {
				b[i] = byte(base + rng.IntN(alpha))
			}
			if got, want := Entropy(b), entropyRef(b); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("Entropy(%q) = %v, formula %v", b, got, want)
			}
		}
		for _, c := range []byte{0, 'a', 255} {
			b := bytes.Repeat([]byte{c}, n)
			if got, want := Entropy(b), entropyRef(b); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("Entropy(%q) = %v, formula %v", b, got, want)
			}
		}
	}
}

// FuzzEntropy: Entropy equals the formula to the bit on any input.
func FuzzEntropy(f *testing.F) {
	f.Add([]byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
	f.Add([]byte{0, 63, 64, 127, 128, 191, 192, 255})
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Entropy(b), entropyRef(b); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("Entropy(%q) = %v, formula %v", b, got, want)
		}
	})
}

func TestEntropy(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want float64
	}{{"", 0}, {"aaaa", 0}, {"abab", 1}, {"abcd", 2}} {
		if got := Entropy([]byte(tc.s)); got != tc.want {
			t.Errorf("Entropy(%q) = %g, want %g", tc.s, got, tc.want)
		}
	}
}

// TestLastNewline: lastNewline is bytes.LastIndexByte(b, '\n') for every
// length up to a few words, a newline at every place or none, among bytes
// one bit away from '\n' and bytes with the high bit set (the word test's
// borrow cases).
func TestLastNewline(t *testing.T) {
	fill := []byte{'a', 0x0b, 0x08, 0x8a, 0xff, 0x00, 0x09, 0x1a}
	for n := 0; n <= 40; n++ {
		for f := range fill {
			b := bytes.Repeat(fill[f:f+1], n)
			for at := -1; at < n; at++ {
				for second := -1; second < at; second += 7 {
					c := bytes.Clone(b)
					if at >= 0 {
						c[at] = '\n'
					}
					if second >= 0 {
						c[second] = '\n'
					}
					if got, want := lastNewline(c), bytes.LastIndexByte(c, '\n'); got != want {
						t.Fatalf("lastNewline(%q) = %d, want %d", c, got, want)
					}
				}
			}
		}
	}
}

func FuzzLastNewline(f *testing.F) {
	f.Add([]byte("line one\nline two\r\n\x8a\x0b tail"))
	f.Add(bytes.Repeat([]byte{0x8a}, 17))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := lastNewline(b), bytes.LastIndexByte(b, '\n'); got != want {
			t.Fatalf("lastNewline(%q) = %d, want %d", b, got, want)
		}
	})
}
