package detectors

import (
	"regexp"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testkeys"
)

func TestRegexRuleWindow(t *testing.T) {
	// The regex sees max_len bytes either side of the keyword, no more: a
	// secret that does not end within the window is not reported cut.
	d := NewRegex(RegexRule{ID: "blob", Keywords: []string{"blob:"}, FoldCase: true,
		Regexp: regexp.MustCompile(`blob:(?P<secret>[a-z]+)`), MaxLen: 32, Decoder: DecoderNone}, DecodeOptions{})
	if ms := scanExtra(t, "blob:"+strings.Repeat("q", 20)+" ", d); len(ms) != 1 || len(ms[0].Key) != 20 {
		t.Errorf("in window: %v", ms)
	}
	if ms := scanExtra(t, "blob:"+strings.Repeat("q", 40)+" ", d); len(ms) != 0 {
		t.Errorf("beyond the window: reported %d bytes", len(ms[0].Key))
	}
}

func TestRegexRuleDecoders(t *testing.T) {
	long := testkeys.LongTerm(testkeys.ConsoleUser(1), "123456789012", testkeys.Secret(1))
	claude := testkeys.ClaudeLongTerm("k1", "210987654321", testkeys.Secret(2))
	id := testkeys.AccessKeyID("ASIA", "111122223333", 5)
	rule := func(id, kw, re string, maxLen int, decoder string) Detector {
		return NewRegex(RegexRule{ID: id, Keywords: []string{kw}, FoldCase: true, Regexp: regexp.MustCompile(re),
			MaxLen: maxLen, Decoder: decoder}, DecodeOptions{})
	}
	extra := []Detector{
		rule("wrapped-bedrock", "BEDROCK_WRAPPED(", `BEDROCK_WRAPPED\((?P<secret>[A-Za-z0-9=]+)\)`, 256, ServiceBedrock),
		rule("wrapped-claude", "CLAUDE_WRAPPED(", `CLAUDE_WRAPPED\((?P<secret>[A-Za-z0-9=]+)\)`, 256, ServiceClaudePlatform),
		rule("key-id", "keyid:", `keyid:(?P<secret>[A-Z0-9]+)`, 512, DecoderAccessKey),
	}
	text := "BEDROCK_WRAPPED(" + long + ")\nCLAUDE_WRAPPED(" + claude + ")\nBEDROCK_WRAPPED(" + claude + ")\nkeyid:" + id + "\nkeyid:AKIA12\n"
	ms := scanExtra(t, text, extra...)
	// The built-in engine also sees the bare keys inside the wrappers; keep
	// the custom rules' matches.
	var got []Match
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
