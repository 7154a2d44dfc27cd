package detectors

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/testkeys"
)

var (
	testNow    = time.Date(2026, 5, 4, 12, 30, 0, 0, time.UTC)
	keyConsole = testkeys.LongTerm("BedrockAPIKey-h42z", "123456789012", testkeys.Secret(1))
	keyAPI     = testkeys.LongTerm("ci+deploy.bot@x", "210987654321", testkeys.Secret(2))
	keyShort   = testkeys.ShortTerm(testkeys.ShortTermOptions{
		AccessKeyID:  testkeys.AccessKeyID("ASIA", "609629065308", 3),
		SecretKey:    "fake/secret/key",
		SessionToken: testkeys.SessionToken("609629065308", 900, 3),
		Region:       "eu-central-1",
		Issued:       time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC),
		Expires:      43200,
	})
	keyShortAKIA = testkeys.ShortTerm(testkeys.ShortTermOptions{
		AccessKeyID: testkeys.AccessKeyID("AKIA", "111122223333", 4),
		SecretKey:   "fake", Region: "us-gov-west-1", Order: "console",
		Issued: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), Expires: 3600,
	})
	keyClaude      = testkeys.ClaudeLongTerm("a1b2c3", "444455556666", testkeys.Secret(5))
	keyClaudeShort = testkeys.ShortTerm(testkeys.ShortTermOptions{
		Host: "aws-external-anthropic.amazonaws.com", AccessKeyID: testkeys.AccessKeyID("ASIA", "777788889999", 6),
		SecretKey: "x", SessionToken: testkeys.SessionToken("777788889999", 600, 6), Region: "us-east-1",
		Issued: testNow, Expires: 600,
	})
)

func scanAll(t testing.TB, e *Engine, data []byte) []Match {
	t.Helper()
	var out []Match
	e.Scan(data, len(data), func(m Match) {
		if m.Start < 0 || m.End > len(data) || m.Start >= m.End {
			t.Fatalf("match span [%d,%d) outside input of %d bytes", m.Start, m.End, len(data))
		}
		out = append(out, m)
	})
	return out
}

func TestEngineContexts(t *testing.T) {
	unpadded := strings.TrimRight(keyConsole, "=")
	pct := strings.TrimRight(keyConsole, "=") + strings.Repeat("%3D", len(keyConsole)-len(unpadded))
	b64 := base64.StdEncoding.EncodeToString([]byte(keyShort))
	envB64 := base64.StdEncoding.EncodeToString([]byte("AWS_BEARER_TOKEN_BEDROCK=" + keyAPI + "\n"))
	tests := []struct {
		name, text string
		key        string
		rule, enc  string
	}{
		{"dotenv", "AWS_BEARER_TOKEN_BEDROCK=" + keyConsole + "\n", keyConsole, RuleLongTerm, ""},
		{"export quoted", "export AWS_BEARER_TOKEN_BEDROCK=\"" + keyAPI + "\"\n", keyAPI, RuleLongTerm, ""},
		{"followed by comma", "f(" + keyConsole + ", 1)", keyConsole, RuleLongTerm, ""},
		{"followed by paren", "f(" + keyConsole + ")", keyConsole, RuleLongTerm, ""},
		{"followed by semicolon", "k=" + keyConsole + ";", keyConsole, RuleLongTerm, ""},
		{"followed by backtick", "`" + keyConsole + "`", keyConsole, RuleLongTerm, ""},
		{"followed by brace", "{\"k\":\"" + keyConsole + "\"}", keyConsole, RuleLongTerm, ""},
		{"followed by ampersand", "?k=" + keyConsole + "&x=1", keyConsole, RuleLongTerm, ""},
		{"escaped newline in JSON", "\"source\": [\"key = '" + keyShort + "'\\n\", \"x\"]", keyShort, RuleShortTerm, ""},
		{"escaped newline before key", "\"a\\n" + keyConsole + "\\n\"", keyConsole, RuleLongTerm, ""},
		{"end of file", "token: " + keyShort, keyShort, RuleShortTerm, ""},
		{"missing padding", "k=" + unpadded + "\n", keyConsole, RuleLongTerm, ""},
		{"percent padding", "https://x/?token=" + pct + "&a=b", keyConsole, RuleLongTerm, EncodingPercent},
		{"bearer header", "Authorization: Bearer " + keyShortAKIA + "\r\n", keyShortAKIA, RuleShortTerm, ""},
		{"crlf", "a\r\nKEY=" + keyConsole + "\r\nb\r\n", keyConsole, RuleLongTerm, ""},
		{"k8s secret data", "data:\n  token: " + b64 + "\n", keyShort, RuleShortTerm, EncodingBase64},
		{"base64 of env file", "data:\n  .env: " + envB64 + "\n", keyAPI, RuleLongTerm, EncodingBase64},
		{"claude long-term", "ANTHROPIC=" + keyClaude + "\n", keyClaude, RuleClaudeLongTerm, ""},
		{"claude short-term", "t='" + keyClaudeShort + "'", keyClaudeShort, RuleClaudeShortTerm, ""},
		{"preceded by letters", "xyz" + keyConsole + " ", keyConsole, RuleLongTerm, ""},
	}
	e := New(Options{Decode: DecodeOptions{Now: testNow}})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms := scanAll(t, e, []byte(tc.text))
			if len(ms) != 1 {
				t.Fatalf("got %d matches, want 1: %+v", len(ms), ms)
			}
			m := ms[0]
			if m.Key != tc.key || m.Rule != tc.rule || m.Encoding != tc.enc || m.Err != nil {
				t.Errorf("got rule=%s enc=%q err=%v key=%.40s…, want %s %q %.40s…", m.Rule, m.Encoding, m.Err, m.Key, tc.rule, tc.enc, tc.key)
			}
			if tc.enc != EncodingBase64 && !strings.HasPrefix(tc.text[m.Start:], tc.key[:8]) {
				t.Errorf("match starts at %q", tc.text[m.Start:min(len(tc.text), m.Start+10)])
			}
		})
	}
}

func TestEngineDecodedFields(t *testing.T) {
	e := New(Options{Decode: DecodeOptions{Now: testNow}})
	ms := scanAll(t, e, []byte(keyShort+" "+keyShortAKIA+" "+keyAPI))
	if len(ms) != 3 {
		t.Fatalf("got %d matches", len(ms))
	}
	if k := ms[0].Decoded; k.AccountID != "609629065308" || k.Region != "eu-central-1" || !*k.HasSessionToken || *k.Expired {
		t.Errorf("short-term ASIA: %+v", k)
	}
	if k := ms[1].Decoded; k.AccountID != "111122223333" || k.Partition != "aws-us-gov" || *k.HasSessionToken || !*k.Expired {
		t.Errorf("short-term AKIA: %+v", k)
	}
	if k := ms[2].Decoded; k.Username != "ci+deploy.bot@x" || k.AccountID != "210987654321" {
		t.Errorf("long-term API: %+v", k)
	}
}

func TestEngineRejectsDecoys(t *testing.T) {
	bad := strings.TrimPrefix(testkeys.ShortTerm(testkeys.ShortTermOptions{
		Host: "bedrock.amazonaws.org", AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretKey: "x", Region: "us-east-1",
		Issued: testNow, Expires: 60,
	}), PrefixShortTerm)
	if strings.ContainsAny(bad, "+/") {
		t.Fatal("decoy body must stay in the key alphabet")
	}
	decoys := []string{
		"ABSK keys are long-term Bedrock API keys",
		"ABSK" + base64.StdEncoding.EncodeToString([]byte("no separator here:secretsecretsecret")),
		"ABSK" + base64.StdEncoding.EncodeToString([]byte("user-at-12345:short account")),
		keyConsole[:40],
		"bedrock-api-key-generator is a package",
		"bedrock-api-key-" + bad,
		"AEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		strings.Repeat("QUJTS0", 400),
		"ABSK" + strings.Repeat("QmVk", MaxKeyLen/4+1), // run longer than any key
	}
	e := New(Options{})
	for _, d := range decoys {
		if ms := scanAll(t, e, []byte(d)); len(ms) != 0 {
			t.Errorf("decoy %.50q… reported: %+v", d, ms[0].Rule)
		}
	}
	inv := New(Options{IncludeInvalid: true})
	ms := scanAll(t, inv, []byte("x=bedrock-api-key-"+bad+"\n"))
	if len(ms) != 1 || ms[0].Err == nil || !strings.Contains(ms[0].Err.Error(), "wrong host") {
		t.Errorf("--include-invalid: got %+v", ms)
	}
}

// A key straddling the limit is reported by exactly one of two overlapping
// chunks, wherever the boundary falls.
func TestEngineChunkBoundary(t *testing.T) {
	e := New(Options{})
	for _, key := range []string{keyConsole, keyShort, base64.StdEncoding.EncodeToString([]byte(keyAPI))} {
		text := []byte(strings.Repeat("x ", 300) + key + strings.Repeat(" y", 300))
		start := bytes.Index(text, []byte(key))
		for cut := start - 10; cut < start+len(key)+10; cut++ {
			// Chunk 1: text[:cut+overlap] with limit cut; chunk 2: text[cut:].
			n := 0
			e.Scan(text[:min(len(text), cut+e.MaxMatchLen())], cut, func(Match) { n++ })
			e.Scan(text[cut:], 0, func(Match) { n++ })
			if n != 1 {
				t.Fatalf("cut at %d (key at %d): found %d times", cut, start, n)
			}
		}
	}
}

func TestEngineLimit(t *testing.T) {
	e := New(Options{})
	text := []byte("a " + keyConsole + " b " + keyAPI)
	second := bytes.Index(text, []byte(keyAPI))
	var got []int
	e.Scan(text, second, func(m Match) { got = append(got, m.Start) })
	if len(got) != 1 || got[0] != 2 {
		t.Errorf("limit: got starts %v", got)
	}
}

// TestNextHitMatchesScalar checks nextHit's six-at-a-time loop against
// testing every checked position in turn, with hits at every offset
// relative to its blocks and near stop.
func TestNextHitMatchesScalar(t *testing.T) {
	e := New(Options{Extra: []Detector{NewAccessKey("aws-access-key", []string{"AKIA", "ASIA"})}})
	if e.step != 3 {
		t.Fatalf("step %d: this test is for the unrolled step of 3", e.step)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 2000; trial++ {
		data := make([]byte, 1+rng.IntN(120))
		for i := range data {
			data[i] = "abcdefgh .\n"[rng.IntN(11)]
		}
		for k := rng.IntN(3); k > 0 && len(data) >= 4; k-- {
			copy(data[rng.IntN(len(data)-3):], "AKIA")
		}
		stop := rng.IntN(len(data))
		i0 := rng.IntN(3)
		want := stop
		for i := i0; i < stop; i += 3 {
			if e.hit[uint16(data[i])|uint16(data[i+1])<<8] != 0 {
				want = i
				break
			}
		}
		if got := e.nextHit(data, i0, stop); got != want {
			t.Fatalf("nextHit(%q, %d, %d) = %d, want %d", data, i0, stop, got, want)
		}
	}
}

// Scans take their state from a pool: a scan after others, whose YAML
// memo, runs and unwrapped blocks the state still held, finds what a scan
// with a fresh state finds.
func TestScanStateReused(t *testing.T) {
	e := New(Options{Decode: DecodeOptions{Now: testNow}, Extra: []Detector{accessKey()}})
	b64 := base64.StdEncoding.EncodeToString([]byte(keyShort))
	inputs := []string{
		"k: |\n" + wrap(keyConsole, 40, "  ") + "\n",
		"  token: >-\n" + wrap(keyShort, 64, "    ") + "\nplain " + keyAPI + "\n",
		wrap(b64, 76, "") + "\n",
		"x = \"" + keyClaude[:30] + "\" +\n    \"" + keyClaude[30:] + "\"\n",
		"aws_access_key_id = " + testkeys.AccessKeyID("AKIA", "123456789012", 7) + "\naws_secret_access_key = " + testkeys.AccessKeySecret(7) + "\n",
		"nothing here\n",
		keyShortAKIA + " " + keyClaudeShort + "\n",
	}
	want := make([][]Match, len(inputs))
	for i, in := range inputs {
		e.scanWith(newScanState(), []byte(in), 0, len(in), func(m Match) bool { want[i] = append(want[i], m); return true })
		if i < 5 && len(want[i]) == 0 {
			t.Fatalf("input %d: no match with a fresh state", i)
		}
	}
	for round := range 3 {
		for i := range inputs {
			i = (i + round) % len(inputs)
			var got []Match
			e.Scan([]byte(inputs[i]), len(inputs[i]), func(m Match) { got = append(got, m) })
			if !reflect.DeepEqual(got, want[i]) {
				t.Errorf("round %d, input %d: %d matches, want %d", round, i, len(got), len(want[i]))
			}
		}
	}
}
