package rules

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/scan"
)

// file is a named text to scan.
type file struct {
	path, text string
}

// scanFiles runs the engine (with cfg's detectors) and the filter over files
// the way `bks detect` does: each match becomes a finding and is decided
// with the line it is on. It returns the reported and the suppressed
// findings.
func scanFiles(t testing.TB, cfg *Config, f *Filter, files ...file) (kept, suppressed []findings.Finding) {
	t.Helper()
	e := detectors.New(detectors.Options{Extra: cfg.Detectors(detectors.DecodeOptions{})})
	for _, fl := range files {
		data := []byte(fl.text)
		e.Scan(data, len(data), func(m detectors.Match) {
			line := 1 + bytes.Count(data[:m.Start], []byte{'\n'})
			fnd := findings.New(m, findings.Location{Path: fl.path, Line: line})
			if f.Apply(&fnd, scan.LineAt(data, m.Start, m.End)) {
				kept = append(kept, fnd)
			} else if fnd.Suppressed != "" {
				suppressed = append(suppressed, fnd)
			}
		})
	}
	return kept, suppressed
}

func longKey(seed uint64) string {
	return testkeys.LongTerm(testkeys.ConsoleUser(seed), "123456789012", testkeys.Secret(seed))
}

func TestBaselineRoundTrip(t *testing.T) {
	cfg := Default()
	k1, k2, k3 := longKey(1), longKey(2), longKey(3)
	id := testkeys.AccessKeyID("AKIA", "123456789012", 1)
	orig := []file{
		{"app/.env", "AWS_BEARER_TOKEN_BEDROCK=" + k1 + "\n"},
		{"app/config.py", "key = '" + k2 + "'\naws_access_key_id = " + id + "\naws_secret_access_key = " + awsSecret(1) + "\n"},
	}
	kept, _ := scanFiles(t, cfg, NewFilter(cfg, nil), orig...)
	if len(kept) != 3 {
		t.Fatalf("first scan: %d findings, want 3", len(kept))
	}
	var buf bytes.Buffer
	if err := WriteBaseline(&buf, kept); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{k1, k2, awsSecret(1), "app/", "config.py"} {
		if strings.Contains(buf.String(), secret) {
			t.Fatalf("baseline contains a secret or a path:\n%s", buf.String())
		}
	}
	base, err := ReadBaseline(bytes.NewReader(buf.Bytes()))
	if err != nil || base.Len() != 3 {
		t.Fatalf("read back: %d entries, %v", base.Len(), err)
	}

	// Rescan: everything suppressed by the baseline, nothing unused.
	f := NewFilter(cfg, base)
	kept, supp := scanFiles(t, cfg, f, orig...)
	if len(kept) != 0 || len(supp) != 3 || supp[0].Suppressed != SuppressedBaseline {
		t.Fatalf("rescan: kept %d, suppressed %v", len(kept), supp)
	}
	if u := f.Unused(); len(u) != 0 {
		t.Errorf("unused after rescan: %v", u)
	}

	// A new key added on a baselined line is reported.
	edited := []file{
		{"app/.env", "AWS_BEARER_TOKEN_BEDROCK=" + k1 + " OTHER=" + k3 + "\n"},
		orig[1],
	}
	kept, _ = scanFiles(t, cfg, NewFilter(cfg, base), edited...)
	if len(kept) != 1 || kept[0].RawKey() != k3 || kept[0].Path != "app/.env" {
		t.Fatalf("new key on a baselined line: %d reported", len(kept))
	}

	// The same key id now paired with a new secret is a new finding.
	edited = []file{orig[0], {"app/config.py", "key = '" + k2 + "'\naws_access_key_id = " + id + "\naws_secret_access_key = " + awsSecret(9) + "\n"}}
	kept, _ = scanFiles(t, cfg, NewFilter(cfg, base), edited...)
	if len(kept) != 1 || kept[0].RuleID != "aws-access-key" {
		t.Fatalf("rotated secret: %d reported", len(kept))
	}

	// A baselined key moved to another file (and line) stays suppressed;
	// one removed shows up as unused.
	moved := []file{{"lib/settings/other.yaml", "\n\n\ntoken: " + k1 + "\n"}}
	f = NewFilter(cfg, base)
	kept, supp = scanFiles(t, cfg, f, moved...)
	if len(kept) != 0 || len(supp) != 1 {
		t.Fatalf("moved key: kept %d suppressed %d", len(kept), len(supp))
	}
	if u := f.Unused(); len(u) != 2 || !strings.Contains(u[0], "matched nothing") {
		t.Errorf("unused = %q", u)
	}
}

func TestBaselineFormat(t *testing.T) {
	cfg := Default()
	var files []file
	for i := range 6 {
		files = append(files, file{fmt.Sprintf("f%d", i), longKey(uint64(i))})
	}
	all, _ := scanFiles(t, cfg, NewFilter(cfg, nil), files...)
	all = append(all, all[0]) // duplicates collapse
	write := func(fs []findings.Finding) string {
		var b bytes.Buffer
		if err := WriteBaseline(&b, fs); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	// Independent of order: the identity is the set of keys.
	rev := append([]findings.Finding(nil), all...)
	sort.Slice(rev, func(i, j int) bool { return rev[i].Fingerprint > rev[j].Fingerprint })
	a, b := write(all), write(rev)
	if a != b {
		t.Fatalf("output depends on order:\n%s\n%s", a, b)
	}
	lines := strings.Split(strings.TrimSuffix(a, "\n"), "\n")
	if lines[0] != BaselineHeader || len(lines) != 7 || !sort.StringsAreSorted(lines[1:]) {
		t.Fatalf("baseline:\n%s", a)
	}
	// Two branches each baselining some keys merge as a union of lines.
	left, right := write(all[:4]), write(all[2:])
	union := map[string]bool{}
	for _, s := range []string{left, right} {
		for _, l := range strings.Split(s, "\n") {
			union[l] = true
		}
	}
	var merged []string
	for l := range union {
		merged = append(merged, l)
	}
	sort.Strings(merged)
	mb, err := ReadBaseline(strings.NewReader(strings.Join(merged, "\n")))
	if err != nil || mb.Len() != 6 {
		t.Fatalf("merged: %d entries, %v", mb.Len(), err)
	}
	// Suppressed findings: inline and allowlisted ones need no entry.
	s := append([]findings.Finding(nil), all[:3]...)
	s[0].Suppressed, s[1].Suppressed, s[2].Suppressed = SuppressedInline, "allowlist:x", SuppressedBaseline
	if got := strings.Count(write(s), "\n"); got != 2 {
		t.Errorf("suppressed findings: %d lines, want header + 1", got)
	}
	// A JSON report of findings is a baseline too.
	rep := fmt.Sprintf(`[{"rule_id":%q,"fingerprint":%q,"path":"x"}]`, all[0].RuleID, all[0].Fingerprint)
	if rb, err := ReadBaseline(strings.NewReader(rep)); err != nil || rb.Len() != 1 {
		t.Errorf("report as baseline: %v", err)
	}
}

func TestReadBaselineErrors(t *testing.T) {
	fp := strings.Repeat("ab", 16)
	for _, tc := range []struct{ text, want string }{
		{BaselineHeader + "\n{\"rule_id\":\"r\"}\n", "line 2: fingerprint"},
		{"{\"fingerprint\":\"" + fp + "\"}\n", "line 1: no rule_id"},
		{"<<<<<<< HEAD\n", "line 1: unresolved merge conflict"},
		{"not json\n", "line 1: not a JSON object"},
		{"[{\"rule_id\":\"r\"}]", "entry 1: fingerprint"},
		{"[1]", "JSON array of findings"},
	} {
		_, err := ReadBaseline(strings.NewReader(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadBaseline(%q) = %v, want %q", tc.text, err, tc.want)
		}
	}
	if _, err := LoadBaseline(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestInlineAllow(t *testing.T) {
	cfg := Default()
	k1, k2 := longKey(1), longKey(2)
	text := "a = " + k1 + " # bks:allow reason=\"revoked test key\"\r\nb = " + k2 + "\n"
	kept, supp := scanFiles(t, cfg, NewFilter(cfg, nil), file{"x.env", text})
	if len(kept) != 1 || kept[0].RawKey() != k2 {
		t.Fatalf("kept %d", len(kept))
	}
	if len(supp) != 1 || supp[0].Suppressed != SuppressedInline {
		t.Fatalf("suppressed %v", supp)
	}
}

func TestAllowlists(t *testing.T) {
	k1 := longKey(1)
	id := testkeys.AccessKeyID("AKIA", "123456789012", 4)
	probe, _ := scanFiles(t, Default(), NewFilter(Default(), nil), file{"p", k1})
	fp := probe[0].Fingerprint
	type want struct {
		path, text string
		suppressed string // "" = reported; "-" = not a finding (out of the rule's scope)
	}
	tests := []struct {
		name   string
		config string
		cases  []want
	}{
		{"anchored path", "[[allowlists]]\npaths = ['/testdata/']\n", []want{
			{"testdata/a.json", k1, "allowlist:allowlist-1"},
			{"pkg/testdata/a.json", k1, ""},
		}},
		{"path glob", "[[allowlists]]\nid = 'fixtures'\npaths = ['testdata/', '*.md', 'docs/**/x.txt']\n", []want{
			{"testdata/a.json", k1, "allowlist:fixtures"},
			{"pkg/testdata/a.json", k1, "allowlist:fixtures"}, // a name without '/' matches at any depth
			{"README.md", k1, "allowlist:fixtures"},
			{"docs/a/b/x.txt", k1, "allowlist:fixtures"},
			{"docs/x.txt", k1, "allowlist:fixtures"},
			{"src/a.go", k1, ""},
		}},
		{"fingerprint", "[[allowlists]]\nfingerprints = ['" + fp + "']\n", []want{
			{"a", k1, "allowlist:allowlist-1"},
			{"a", longKey(2), ""},
		}},
		{"regex on the secret", "[[allowlists]]\nregexes = ['^ABSK']\nrules = ['bedrock-long-term']\n", []want{
			{"a", k1, "allowlist:allowlist-1"},
			{"a", id, ""},
		}},
		{"regex on the line", "[[allowlists]]\nline_regexes = ['(?i)fake']\n", []want{
			{"a", "FAKE_KEY=" + k1, "allowlist:allowlist-1"},
			{"a", "REAL_KEY=" + k1, ""},
		}},
		{"stopword", "[[allowlists]]\nstopwords = ['qmvkcm9ja0fqsutl']\n", []want{
			{"a", k1, "allowlist:allowlist-1"}, // any case
			{"a", id, ""},
		}},
		{"rule scope", "[[allowlists]]\nrules = ['aws-access-key']\npaths = ['**']\n", []want{
			{"a", id, "allowlist:allowlist-1"},
			{"a", k1, ""},
		}},
		{"condition all", "[[allowlists]]\ncondition = 'all'\npaths = ['test/']\nline_regexes = ['fixture']\n", []want{
			{"test/a", "fixture " + k1, "allowlist:allowlist-1"},
			{"test/a", k1, ""},
			{"src/a", "fixture " + k1, ""},
		}},
		{"condition any", "[[allowlists]]\npaths = ['test/']\nline_regexes = ['fixture']\n", []want{
			{"test/a", k1, "allowlist:allowlist-1"},
			{"src/a", "fixture " + k1, "allowlist:allowlist-1"},
		}},
		{"custom rule scope and own allowlist", `
[[rules]]
id = "acme"
keywords = ["acme_"]
regex = 'acme_(?P<secret>[A-Za-z0-9]{16})'
include_paths = ["src/"]
exclude_paths = ["src/vendor/"]
  [[rules.allowlists]]
  stopwords = ["dummy"]
`, []want{
			{"src/a.go", "acme_Zx81fQk2LmP0aT7w", ""},
			{"lib/a.go", "acme_Zx81fQk2LmP0aT7w", "-"},
			{"src/vendor/a.go", "acme_Zx81fQk2LmP0aT7w", "-"},
			{"src/b.go", "acme_dummyfQk2LmP0aT7", "allowlist:acme/allowlist-1"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := customConfig(t, tc.config)
			for _, w := range tc.cases {
				f := NewFilter(cfg, nil)
				kept, supp := scanFiles(t, cfg, f, file{w.path, w.text})
				got := "-"
				switch {
				case len(kept) == 1:
					got = ""
				case len(supp) == 1:
					got = supp[0].Suppressed
				case len(kept)+len(supp) > 1:
					t.Fatalf("%s: %d findings", w.path, len(kept)+len(supp))
				}
				if got != w.suppressed {
					t.Errorf("%s %.20q: suppressed %q, want %q", w.path, w.text, got, w.suppressed)
				}
			}
		})
	}
}

func TestStopwordOnSecret(t *testing.T) {
	cfg := Default()
	// The built-in AWS rule ignores AWS's documentation placeholders: an
	// id paired with the documentation's secret is suppressed…
	id := testkeys.AccessKeyID("AKIA", "123456789012", 1)
	text := "aws_access_key_id = " + id + "\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY\n"
	kept, supp := scanFiles(t, cfg, NewFilter(cfg, nil), file{"docs.md", text})
	if len(kept) != 0 || len(supp) != 1 || supp[0].Suppressed != "allowlist:aws-access-key/documentation-examples" {
		t.Fatalf("kept %d, suppressed %v", len(kept), supp)
	}
	// … and the documentation's ids, which the allowlist would suppress
	// whatever their secret, are dropped before a finding is made.
	text = "aws_access_key_id = AKIAIOSFODNN7" + "EXAMPLE\n"
	kept, supp = scanFiles(t, cfg, NewFilter(cfg, nil), file{"docs.md", text})
	if len(kept) != 0 || len(supp) != 0 {
		t.Fatalf("documentation id: kept %d, suppressed %v", len(kept), supp)
	}
	// The rule itself still matches them (its examples say so).
	if ms := cfg.Rule("aws-access-key").Find([]byte(text)); len(ms) != 1 {
		t.Fatalf("rule matches %d times", len(ms))
	}
}

func TestUnused(t *testing.T) {
	cfg := customConfig(t, `
[[allowlists]]
id = "fixtures"
paths = [
  "testdata/",
  "old/fixtures/",
]
stopwords = ["never-seen"]
`)
	f := NewFilter(cfg, nil)
	scanFiles(t, cfg, f, file{"testdata/k.txt", longKey(1)})
	got := f.Unused()
	want := []string{
		`custom.toml:6: allowlist "fixtures": path "old/fixtures/" matched nothing`,
		`custom.toml:8: allowlist "fixtures": stopword "never-seen" matched nothing`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Unused() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAbsolutePathsRelativeToConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	os.WriteFile(p, []byte("[[allowlists]]\npaths = ['testdata/']\n"), 0o644)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	_, supp := scanFiles(t, cfg, NewFilter(cfg, nil), file{filepath.Join(dir, "testdata", "k"), longKey(1)})
	if len(supp) != 1 {
		t.Errorf("absolute path under the config's directory not matched")
	}
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pat, path string
		want      bool
	}{
		{"*.md", "README.md", true},
		{"*.md", "docs/a/B.md", true},
		{"/*.md", "docs/B.md", false},
		{"/*.md", "B.md", true},
		{"./docs/*.md", "docs/B.md", true},
		{"docs/", "docs/x/y", true},
		{"docs", "a/docs/y", true},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/y/b", true},
		{"a/**/b", "a/x/y/c", false},
		{"**/testdata/**", "x/testdata/k.json", true},
		{"dir\\sub", "dir/sub/f", true},
		{"src/*.go", "src/a/b.go", false},
		{"a?c", "abc", true},
		{"[ab]x", "bx", true},
	} {
		g, err := compileGlob(tc.pat)
		if err != nil {
			t.Fatalf("%q: %v", tc.pat, err)
		}
		if got := g.match(relPath(tc.path, "", "")); got != tc.want {
			t.Errorf("glob %q on %q = %v", tc.pat, tc.path, got)
		}
	}
	for _, bad := range []string{"", "/", "a//b", "a**", "[x"} {
		if _, err := compileGlob(bad); err == nil {
			t.Errorf("compileGlob(%q): no error", bad)
		}
	}
}
