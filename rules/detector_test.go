package rules

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/internal/testkeys"
)

// awsSecret builds a fake 40-character secret access key.
func awsSecret(seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 3))
	b := make([]byte, 30)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	s := base64.StdEncoding.EncodeToString(b)
	// Real secrets always mix cases and digits; make sure the fake does.
	return "aZ9" + s[3:]
}

// oldStyleID is an access key id of the old form (no account inside).
func oldStyleID(prefix string) string { return prefix + "IOSFODNN7ABCDEFG" }

func scanExtra(t testing.TB, cfg *Config, data string) []detectors.Match {
	t.Helper()
	var ms []detectors.Match
	e := detectors.New(detectors.Options{Extra: cfg.Detectors(detectors.DecodeOptions{}), IncludeInvalid: true})
	e.Scan([]byte(data), len(data), func(m detectors.Match) { ms = append(ms, m) })
	return ms
}

func TestAccessKeyRule(t *testing.T) {
	const acct = "123456789012"
	id := testkeys.AccessKeyID("AKIA", acct, 1)
	sid := testkeys.AccessKeyID("ASIA", "609629065308", 2)
	sec := awsSecret(1)
	sec2 := awsSecret(2)
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
	cfg := Default()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms := scanExtra(t, cfg, tc.text)
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
				if k.SecretLength != 40 || len(k.SecretSHA256) != 16 {
					t.Errorf("secret fields: %+v", k)
				}
			} else if k.SecretLength != 0 {
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

// accessKeyRegex is the built-in rule's documented regex, which the
// hand-written detector must agree with.
func accessKeyRegex(t testing.TB) *regexp.Regexp {
	r := Default().Rule("aws-access-key")
	if r == nil || r.re == nil {
		t.Fatal("no aws-access-key rule")
	}
	return r.re
}

func FuzzAccessKeyCheck(f *testing.F) {
	id := testkeys.AccessKeyID("AKIA", "123456789012", 1)
	f.Add([]byte("aws_access_key_id = "+id+"\naws_secret_access_key = "+awsSecret(1)+"\n"), 20)
	f.Add([]byte(oldStyleID("ASIA")), 0)
	f.Add([]byte("xAKIAIOSFODNN7EXAMPL"), 1)
	f.Add([]byte(awsSecret(3)+"\n"+id), 41)
	f.Add([]byte("AKIA"), 0)
	re := accessKeyRegex(f)
	d := &accessKeyDetector{rule: Default().Rule("aws-access-key")}
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
		if acct, ok := detectors.AccountFromKeyID(id); ok != (m.Decoded.AccountID != "") || acct != m.Decoded.AccountID {
			t.Fatalf("account %q, want %q", m.Decoded.AccountID, acct)
		}
	})
}

func customConfig(t testing.TB, rules string) *Config {
	t.Helper()
	c, err := Parse("custom.toml", []byte(rules))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRegexRule(t *testing.T) {
	cfg := customConfig(t, `
disabled_rules = ["aws-access-key"]

[[rules]]
id = "acme"
keywords = ["acme_"]
regex = '''(?:token\s*=\s*)?acme_(?P<secret>[A-Za-z0-9]{16})\b'''
min_entropy = 3
max_len = 64
`)
	good := "Zx81fQk2LmP0aT7w"
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"one", "token = acme_" + good, []string{good}},
		{"keyword in any case", "ACME_" + good + " acme_" + good, []string{good}},
		{"two", "acme_" + good + "\nacme_" + strings.ToUpper(good), []string{good, strings.ToUpper(good)}},
		{"low entropy", "acme_aaaaaaaaaaaaaaaa", nil},
		{"too long", "acme_" + good + "x", nil},
		{"secret far from keyword", "acme_" + strings.Repeat(" ", 80) + "acme_" + good, []string{good}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms := scanExtra(t, cfg, tc.text)
			var got []string
			for _, m := range ms {
				if tc.text[m.Start:m.End] != m.Key {
					t.Errorf("span %d..%d is not the secret", m.Start, m.End)
				}
				if m.Decoded.Type != TypeGeneric {
					t.Errorf("decoded %+v", m.Decoded)
				}
				got = append(got, m.Key)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRegexRuleWindow(t *testing.T) {
	// The regex sees max_len bytes either side of the keyword, no more: a
	// secret that does not end within the window is not reported cut.
	cfg := customConfig(t, `
[[rules]]
id = "blob"
keywords = ["blob:"]
regex = '''blob:(?P<secret>[a-z]+)'''
max_len = 32
`)
	if ms := scanExtra(t, cfg, "blob:"+strings.Repeat("q", 20)+" "); len(ms) != 1 || len(ms[0].Key) != 20 {
		t.Errorf("in window: %v", ms)
	}
	if ms := scanExtra(t, cfg, "blob:"+strings.Repeat("q", 40)+" "); len(ms) != 0 {
		t.Errorf("beyond the window: reported %d bytes", len(ms[0].Key))
	}
}

func TestRegexRuleDecoders(t *testing.T) {
	long := testkeys.LongTerm(testkeys.ConsoleUser(1), "123456789012", testkeys.Secret(1))
	claude := testkeys.ClaudeLongTerm("k1", "210987654321", testkeys.Secret(2))
	id := testkeys.AccessKeyID("ASIA", "111122223333", 5)
	cfg := customConfig(t, `
disabled_rules = ["aws-access-key"]

[[rules]]
id = "wrapped-bedrock"
keywords = ["BEDROCK_WRAPPED("]
regex = '''BEDROCK_WRAPPED\((?P<secret>[A-Za-z0-9=]+)\)'''
decoder = "bedrock"
max_len = 256

[[rules]]
id = "wrapped-claude"
keywords = ["CLAUDE_WRAPPED("]
regex = '''CLAUDE_WRAPPED\((?P<secret>[A-Za-z0-9=]+)\)'''
decoder = "claude-platform"
max_len = 256

[[rules]]
id = "key-id"
keywords = ["keyid:"]
regex = '''keyid:(?P<secret>[A-Z0-9]+)'''
decoder = "aws-access-key"
`)
	text := "BEDROCK_WRAPPED(" + long + ")\nCLAUDE_WRAPPED(" + claude + ")\nBEDROCK_WRAPPED(" + claude + ")\nkeyid:" + id + "\nkeyid:AKIA12\n"
	ms := scanExtra(t, cfg, text)
	// The built-in engine also sees the bare keys inside the wrappers; keep
	// the custom rules' matches.
	var got []detectors.Match
	for _, m := range ms {
		if !strings.HasPrefix(m.Rule, "bedrock-") && !strings.HasPrefix(m.Rule, "claude-platform-") {
			got = append(got, m)
		}
	}
	if len(got) != 5 {
		for _, m := range ms {
			t.Logf("%s %d..%d err=%v", m.Rule, m.Start, m.End, m.Err)
		}
		t.Fatalf("%d custom matches, want 5", len(got))
	}
	if m := got[0]; m.Rule != "wrapped-bedrock" || m.Err != nil || m.Decoded.AccountID != "123456789012" || m.Key != long {
		t.Errorf("bedrock: %s %+v %v", m.Rule, m.Decoded, m.Err)
	}
	if m := got[1]; m.Rule != "wrapped-claude" || m.Err != nil || m.Decoded.AccountID != "210987654321" {
		t.Errorf("claude: %s %+v %v", m.Rule, m.Decoded, m.Err)
	}
	if m := got[2]; m.Rule != "wrapped-bedrock" || m.Err == nil || !strings.Contains(m.Err.Error(), "decoder is bedrock") {
		t.Errorf("claude key under the bedrock decoder: %v", m.Err)
	}
	if m := got[3]; m.Rule != "key-id" || m.Err != nil || m.Decoded.AccountID != "111122223333" || m.Decoded.Type != TypeAccessKey {
		t.Errorf("access key decoder: %+v %v", m.Decoded, m.Err)
	}
	if m := got[4]; m.Err == nil {
		t.Errorf("short id decoded: %+v", m.Decoded)
	}
}

func TestEngineOrderWithExtra(t *testing.T) {
	// Bedrock keys and access keys interleaved come out in order, once each.
	var b strings.Builder
	var want []string
	for i := range 20 {
		long := testkeys.LongTerm(testkeys.ConsoleUser(uint64(i)), "123456789012", testkeys.Secret(uint64(i)))
		id := testkeys.AccessKeyID("AKIA", "123456789012", uint64(i))
		fmt.Fprintf(&b, "k%d=%s id=%s\n", i, long, id)
		want = append(want, detectors.RuleLongTerm, "aws-access-key")
	}
	ms := scanExtra(t, Default(), b.String())
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
