package rules

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bks-dev/bks/detectors"
)

// configErrors returns the ConfigErrors in err, in order.
func configErrors(t *testing.T, err error) []*ConfigError {
	t.Helper()
	var out []*ConfigError
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var ce *ConfigError
		if errors.As(e, &ce) {
			out = append(out, ce)
			return
		}
		t.Errorf("not a ConfigError: %v", e)
	}
	walk(err)
	return out
}

const validRule = `
[[rules]]
id = "acme"
keywords = ["acme_"]
regex = '''acme_(?P<secret>[a-z0-9]{16})'''
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		line int
		want string // regexp on the first error's message
	}{
		{"typo in a rule key", "\n[[rules]]\nid = \"a\"\nkeywords = [\"ab\"]\nregx = 'x'\n", 5, `unknown key "regx" \(did you mean "regex"\?\)`},
		{"typo at top level", "disabled_rule = []\n", 1, `unknown key "disabled_rule" \(did you mean "disabled_rules"\?\)`},
		{"typo in an allowlist", "[[allowlists]]\npaths = ['a']\n\n\nconditon = 'all'\n", 5, `unknown key "conditon"`},
		{"typo in the second rule", validRule + "\n[[rules]]\nid = \"b\"\nkeywords = [\"bb\"]\nregex = 'b+'\nmin_entrpy = 3\n", 11, `unknown key "min_entrpy"`},
		{"typo in an example", validRule + "\n  [[rules.examples]]\n  mach = 'acme_0123456789abcdef'\n", 8, `unknown key "mach"`},
		{"wrong type", validRule + "min_entropy = \"high\"\n", 6, `expected a number, got a string`},
		{"wrong type in array", validRule + "[[allowlists]]\npaths = [\n  'a',\n  3,\n]\n", 9, `expected a string, got an integer`},
		{"table expected", "rules = 3\n", 1, `expected an array of tables \(\[\[rules\]\]\), got an integer`},
		{"bad regex", validRule + "\n[[rules]]\nid = \"b\"\nkeywords = [\"bb\"]\nregex = 'b(+'\n", 10, `bad regex: missing argument to repetition operator`},
		{"bad allowlist regex", "[[allowlists]]\nregexes = ['ok', '(']\n", 2, `bad regex`},
		{"bad glob", "[[allowlists]]\npaths = ['a[']\n", 2, `bad glob`},
		{"TOML syntax", "[[rules]]\nid = \"a\n", 2, `strings cannot contain newlines`},
		{"unknown decoder", validRule + "decoder = \"bedrok\"\n", 6, `unknown decoder "bedrok"`},
		{"no keywords", "[[rules]]\nid = \"a\"\nregex = 'x'\n", 1, `at least one keyword`},
		{"short keyword", "[[rules]]\nid = \"a\"\nkeywords = ['x']\nregex = 'x'\n", 3, `shorter than 2 bytes`},
		{"empty-matching regex", "[[rules]]\nid = \"a\"\nkeywords = ['xy']\nregex = 'x*'\n", 4, `matches the empty string`},
		{"built-in id", "[[rules]]\nid = \"aws-access-key\"\nkeywords = ['xy']\nregex = 'xy'\n", 2, `built-in rule's`},
		{"duplicate id", validRule + validRule, 8, `already defined on line 2`},
		{"bad id", "[[rules]]\nid = \"Acme Token\"\nkeywords = ['xy']\nregex = 'xy'\n", 2, `must be lower case`},
		{"engine is built-in only", validRule + "engine = true\n", 6, `unknown key "engine"`},
		{"disable a Bedrock rule", "disabled_rules = [\"bedrock-long-term\"]\n", 1, `cannot be disabled`},
		{"disable an unknown rule", "disabled_rules = [\n\"aws-acces-key\"]\n", 2, `no built-in rule`},
		{"allowlist for an unknown rule", "[[allowlists]]\nrules = ['acme']\npaths = ['x']\n", 2, `no rule "acme"`},
		{"empty allowlist", "[[allowlists]]\nid = 'x'\n", 1, `no criteria`},
		{"bad fingerprint", "[[allowlists]]\nfingerprints = ['abc']\n", 2, `32 lower-case hex`},
		{"bad commit", "[[allowlists]]\ncommits = ['xyz1234']\n", 2, `hex digits`},
		{"bad condition", "[[allowlists]]\npaths = ['a']\ncondition = 'either'\n", 3, `condition must be`},
		{"example with both", validRule + "[[rules.examples]]\nmatch = 'a'\nno_match = 'b'\n", 6, `either match or no_match`},
		{"inline table", validRule + "examples = [ { match = 'acme_0123456789abcdef', extra = 1 } ]\n", 6, `unknown key "extra"`},
		{"rule allowlist naming rules", validRule + "[[rules.allowlists]]\nrules = ['acme']\npaths = ['x']\n", 7, `applies to that rule only`},
		{"max_len out of range", validRule + "max_len = 99999\n", 6, `out of range`},
		{"multi-line string before the typo", validRule + "description = '''\nline\n[[not a table]]\n'''\nkeywordz = []\n", 10, `unknown key "keywordz"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bks.toml", []byte(tc.text))
			if err == nil {
				t.Fatal("no error")
			}
			ces := configErrors(t, err)
			if len(ces) == 0 {
				t.Fatalf("no ConfigError in %v", err)
			}
			ce := ces[0]
			if ce.File != "bks.toml" || ce.Line != tc.line {
				t.Errorf("error at %s:%d, want bks.toml:%d: %v", ce.File, ce.Line, tc.line, err)
			}
			if !regexp.MustCompile(tc.want).MatchString(ce.Msg) {
				t.Errorf("message %q does not match %q", ce.Msg, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "bks.toml:") {
				t.Errorf("error %q does not start with the file name", err)
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	_, err := Parse("c.toml", []byte("[[rules]]\nid = 'a'\nkeywords = ['ab']\nregx = 'x'\n[[allowlists]]\npathz = ['a']\n"))
	ces := configErrors(t, err)
	var lines []int
	for _, ce := range ces {
		lines = append(lines, ce.Line)
	}
	// regx (4) and pathz (6); the missing regex and criteria they caused
	// are not reported again.
	if len(ces) != 2 || lines[0] != 4 || lines[1] != 6 {
		t.Errorf("errors at lines %v: %v", lines, err)
	}
}

func TestParseValid(t *testing.T) {
	text := `
disabled_rules = ["aws-access-key"]

[[rules]]
id = "acme"
description = "ACME token"
keywords = ["acme_", "ACME-"]
fold_case = false
regex = '''acme_(?P<secret>[a-z0-9]{16})'''
min_entropy = 2
include_paths = ["src/"]
exclude_paths = ["**/*_test.go"]
decoder = "none"
max_len = 64

  [[rules.examples]]
  match = "x = acme_0123456789abcdef"
  secret = "0123456789abcdef"

  [[rules.allowlists]]
  stopwords = ["dummy"]

[[allowlists]]
id = "fixtures"
rules = ["acme", "bedrock-long-term"]
condition = "all"
paths = ["testdata/"]
fingerprints = ["0123456789abcdef0123456789abcdef"]
commits = ["abcdef1"]
regexes = ["^x"]
line_regexes = ["fake"]
stopwords = ["example"]
`
	c, err := Parse("ok.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if c.Rule("aws-access-key") != nil || len(c.Disabled) != 1 {
		t.Errorf("aws-access-key not disabled: %v", c.Disabled)
	}
	r := c.Rule("acme")
	if r == nil || r.FoldsCase() || r.MinEntropy != 2 || r.MaxLen != 64 || r.Line != 4 || r.File != "ok.toml" {
		t.Fatalf("rule acme = %+v", r)
	}
	if len(r.Allowlists) != 1 || r.Allowlists[0].ID != "acme/allowlist-1" {
		t.Errorf("rule allowlists: %+v", r.Allowlists)
	}
	if len(c.Allowlists) != 1 || c.Allowlists[0].ID != "fixtures" || c.Allowlists[0].Line != 23 {
		t.Errorf("allowlists: %+v", c.Allowlists)
	}
	if got := c.Allowlists[0].itemLines["stopwords"]; len(got) != 1 || got[0] != 32 {
		t.Errorf("stopword line = %v, want [32]", got)
	}
	// The built-in AWS rule is disabled: only acme is an extra detector.
	ds := c.Detectors(detectors.DecodeOptions{})
	if len(ds) != 1 || ds[0].ID() != "acme" {
		t.Errorf("detectors = %v", ds)
	}
	for _, res := range r.TestExamples() {
		if !res.Pass {
			t.Error(res)
		}
	}
}

func TestBuiltinRules(t *testing.T) {
	c := Default()
	// One engine rule per key family, in table order, then the TOML ones.
	var want []string
	for _, f := range detectors.Families() {
		want = append(want, f.Rule)
	}
	want = append(want, "aws-access-key")
	if len(c.Rules) != len(want) {
		t.Fatalf("%d built-in rules, want %d", len(c.Rules), len(want))
	}
	for i, id := range want {
		r := c.Rules[i]
		// Engine rules come from the family table, not the file: no line.
		if r.ID != id || !r.Builtin || r.Description == "" || len(r.Keywords) == 0 || r.File != BuiltinFile || (r.Line == 0) != r.Engine {
			t.Errorf("rule %d = %+v, want id %s", i, r, id)
		}
		if r.Engine != (i < len(want)-1) {
			t.Errorf("rule %s: engine = %v", r.ID, r.Engine)
		}
		for _, res := range r.TestExamples() {
			if !res.Pass {
				t.Error(res)
			}
		}
	}
	if ds := c.Detectors(detectors.DecodeOptions{}); len(ds) != 1 || ds[0].ID() != "aws-access-key" {
		t.Errorf("default detectors = %v", ds)
	}
	// The engine's keywords are the rules' keywords.
	for i, r := range c.Rules[:len(want)-1] {
		f := detectors.Families()[i]
		if len(r.Keywords) != 1 || r.Keywords[0] != f.Prefix || r.FoldsCase() || r.Decoder != f.Service.Name {
			t.Errorf("%s: keywords %q fold %v decoder %s", r.ID, r.Keywords, r.FoldsCase(), r.Decoder)
		}
	}
}

func TestInitTemplate(t *testing.T) {
	tmpl := InitTemplate()
	if _, err := Parse("template.toml", tmpl); err != nil {
		t.Fatalf("template as written: %v", err)
	}
	// Uncommented, its examples are a valid configuration too, whose rule
	// example passes.
	tomlLine := regexp.MustCompile(`^(\[\[[a-z.]+\]\](\s+#.*)?|[a-z_]+ = .*)$`)
	var b strings.Builder
	for _, line := range strings.Split(string(tmpl), "\n") {
		s := strings.TrimSpace(strings.TrimPrefix(line, "#"))
		if tomlLine.MatchString(s) {
			b.WriteString(s + "\n")
		}
	}
	c, err := Parse("uncommented.toml", []byte(b.String()))
	if err != nil {
		t.Fatalf("uncommented template: %v\n%s", err, b.String())
	}
	r := c.Rule("acme-api-token")
	if r == nil || len(r.Examples) != 2 || len(c.Allowlists) != 1 {
		t.Fatalf("uncommented template lost its rule or allowlist:\n%s", b.String())
	}
	for _, res := range r.TestExamples() {
		if !res.Pass {
			t.Error(res)
		}
	}
}

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	noEnv := func(string) string { return "" }

	c, p, err := Discover(dir, noEnv)
	if err != nil || p != "" || c.Rule("aws-access-key") == nil {
		t.Fatalf("no file: %v %q %v", c, p, err)
	}
	file := filepath.Join(dir, FileName)
	if err := os.WriteFile(file, []byte(validRule), 0o644); err != nil {
		t.Fatal(err)
	}
	c, p, err = Discover(dir, noEnv)
	if err != nil || p != file || c.Rule("acme") == nil || c.Dir != dir {
		t.Fatalf("root file: %v %q %v", c, p, err)
	}
	// A file as the scan root: its directory's config.
	other := filepath.Join(dir, "x.txt")
	os.WriteFile(other, nil, 0o644)
	if _, p, _ := Discover(other, noEnv); p != file {
		t.Errorf("scan of a file found %q", p)
	}
	// $BKS_CONFIG wins over the root's file.
	envFile := filepath.Join(t.TempDir(), "env.toml")
	os.WriteFile(envFile, []byte("disabled_rules = ['aws-access-key']\n"), 0o644)
	env := func(k string) string {
		if k == EnvConfig {
			return envFile
		}
		return ""
	}
	c, p, err = Discover(dir, env)
	if err != nil || p != envFile || c.Rule("acme") != nil || c.Rule("aws-access-key") != nil {
		t.Fatalf("env: %q %v", p, err)
	}
	// A broken file is an error naming it, never the defaults.
	os.WriteFile(file, []byte("[[rules]]\nid = 1\n"), 0o644)
	if _, _, err := Discover(dir, noEnv); err == nil || !strings.Contains(err.Error(), FileName+":2:") {
		t.Errorf("broken file: %v", err)
	}
	if _, _, err := Discover(dir, func(string) string { return filepath.Join(dir, "missing.toml") }); err == nil || !strings.Contains(err.Error(), EnvConfig) {
		t.Errorf("missing $BKS_CONFIG file: %v", err)
	}
}

func TestLocator(t *testing.T) {
	text := `top = 1
[a]
b = "x" # comment
c.d = 2
"quoted key" = 3
[[arr]]
x = 1
[[arr]]
x = [
  'one', # c
  """two
three""",
  { y = 1 },
]
[arr.sub]
z = 1
[[arr.list]]
w = 1
[[arr.list]]
w = 2
`
	l := locate([]byte(text))
	want := map[string]int{
		"top": 1, "a": 2, "a.b": 3, "a.c.d": 4, "a.quoted key": 5,
		"arr[0]": 6, "arr[0].x": 7, "arr[1]": 8, "arr[1].x": 9,
		"arr[1].x[0]": 10, "arr[1].x[1]": 11, "arr[1].x[2]": 13, "arr[1].x[2].y": 13,
		"arr[1].sub.z": 16, "arr[1].list[0].w": 18, "arr[1].list[1].w": 20,
		"arr[1].x[9].missing": 9, "nothing": 0,
	}
	for p, n := range want {
		if got := l.line(p); got != n {
			t.Errorf("line(%q) = %d, want %d", p, got, n)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(validRule))
	f.Add(InitTemplate())
	f.Add(append([]byte(nil), builtinTOML...))
	f.Add([]byte("[[allowlists]]\npaths = ['a/**/b', '*.md']\nconditon = 'all'\n"))
	f.Add([]byte("[[rules]]\nid = \"a\"\nkeywords = [\"ab\"]\nregex = '''(?P<secret>ab[0-9]+)'''\n[[rules.examples]]\nmatch = 'ab12'\n"))
	f.Add([]byte("a = { b = [1, { c = '''x\ny''' }] }\n[x.'y'.\"z\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			for _, ce := range configErrors(t, err) {
				if ce.File != "fuzz.toml" || ce.Line < 0 {
					t.Fatalf("bad error position: %+v", ce)
				}
			}
			return
		}
		// A valid configuration yields working detectors.
		e := detectors.New(detectors.Options{Extra: c.Detectors(detectors.DecodeOptions{})})
		e.Scan(data, len(data), func(m detectors.Match) {
			if m.Start < 0 || m.End > len(data) || m.Start > m.End {
				t.Fatalf("match %d..%d outside %d bytes", m.Start, m.End, len(data))
			}
		})
		for _, r := range c.Rules {
			r.TestExamples()
		}
	})
}

// TestArchiveLimitsConfig: the [archive] table sets the archive limits;
// a typo in it is an error like any other.
func TestArchiveLimitsConfig(t *testing.T) {
	c, err := build("t.toml", []byte("[archive]\nmax_depth = 3\nmax_total_bytes = 1000000\nmax_ratio = 500\nratio_window = 1048576\nmax_entries = -1\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := ArchiveLimits{MaxDepth: 3, MaxTotalBytes: 1000000, MaxRatio: 500, RatioWindow: 1 << 20, MaxEntries: -1}
	if c.Archive != want {
		t.Errorf("archive = %+v, want %+v", c.Archive, want)
	}
	if _, err := build("t.toml", []byte("[archive]\nmax_ration = 5\n")); err == nil || !strings.Contains(err.Error(), `unknown key "max_ration"`) {
		t.Errorf("typo: %v", err)
	}
}
