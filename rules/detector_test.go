package rules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/internal/testkeys"
)

// awsSecret builds a fake 40-character secret access key.
var awsSecret = testkeys.AccessKeySecret

func scanExtra(t testing.TB, cfg *Config, data string) []detectors.Match {
	t.Helper()
	var ms []detectors.Match
	e := detectors.New(detectors.Options{Extra: cfg.Detectors(detectors.DecodeOptions{}), IncludeInvalid: true})
	e.Scan([]byte(data), len(data), func(m detectors.Match) { ms = append(ms, m) })
	return ms
}

// TestBuiltinAccessKeyRegex: the built-in rule documents the regex the
// hand-written detector is fuzzed against (detectors.FuzzAccessKeyCheck).
func TestBuiltinAccessKeyRegex(t *testing.T) {
	if r := Default().Rule("aws-access-key"); r == nil || r.Regex != detectors.AccessKeyPattern {
		t.Errorf("aws-access-key regex differs from detectors.AccessKeyPattern")
	}
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
				if m.Decoded.Type != detectors.TypeGeneric {
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
