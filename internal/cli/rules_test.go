package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/rules"
)

const customRulesTOML = `
[[rules]]
id = "acme-token"
description = "ACME token"
keywords = ["acme_"]
regex = '''acme_(?P<secret>[A-Za-z0-9]{16})\b'''
min_entropy = 3

  [[rules.examples]]
  match = "ACME = 'acme_Zx81fQk2LmP0aT7w'"
  secret = "Zx81fQk2LmP0aT7w"

  [[rules.examples]]
  no_match = "acme_aaaaaaaaaaaaaaaa"
`

func TestConfigInitAndCheck(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, _, errOut := runCLI(t, "", "config", "init")
	if code != ExitOK || !strings.Contains(errOut, "wrote .bks.toml") {
		t.Fatalf("init: exit %d %q", code, errOut)
	}
	if code, _, errOut = runCLI(t, "", "config", "init"); code != ExitFailure || !strings.Contains(errOut, "--force") {
		t.Errorf("init over an existing file: exit %d %q", code, errOut)
	}
	if code, _, _ = runCLI(t, "", "config", "init", "--force"); code != ExitOK {
		t.Errorf("init --force: exit %d", code)
	}
	code, out, errOut := runCLI(t, "", "config", "check")
	if code != ExitOK || !strings.Contains(out, ".bks.toml: ok") {
		t.Fatalf("check of the template: exit %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", "config", "init", "-")
	if code != ExitOK || out != string(rules.InitTemplate()) {
		t.Errorf("init -: exit %d", code)
	}
}

func TestConfigCheckTypo(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bks.toml")
	os.WriteFile(p, []byte(customRulesTOML+"\n[[allowlists]]\npaths = ['testdata/']\nstopword = ['x']\n"), 0o644)
	code, out, errOut := runCLI(t, "", "config", "check", p)
	if code != ExitFailure || out != "" {
		t.Fatalf("exit %d out %q", code, out)
	}
	want := p + `:18: allowlists[0].stopword: unknown key "stopword" (did you mean "stopwords"?)`
	if !strings.Contains(errOut, want) || !strings.Contains(errOut, "invalid configuration: 1 problem(s)") {
		t.Errorf("stderr %q\nwant %q", errOut, want)
	}
	// A failing rule example fails the check too.
	os.WriteFile(p, []byte(strings.Replace(customRulesTOML, `secret = "Zx81fQk2LmP0aT7w"`, `secret = "other"`, 1)), 0o644)
	code, _, errOut = runCLI(t, "", "config", "check", "--config", p)
	if code != ExitFailure || !strings.Contains(errOut, "acme-token: match example: FAIL: matched, but captured a different secret") {
		t.Errorf("failing example: exit %d %q", code, errOut)
	}
	// Nothing to check: the built-in rules.
	t.Chdir(t.TempDir())
	if code, out, _ := runCLI(t, "", "config", "check"); code != ExitOK || !strings.Contains(out, "built-in rules only") {
		t.Errorf("no config: exit %d %q", code, out)
	}
}

func TestRulesCommands(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.toml")
	os.WriteFile(p, []byte(customRulesTOML), 0o644)

	code, out, _ := runCLI(t, "", "rules", "list", "--config", p)
	if code != ExitOK {
		t.Fatalf("list: exit %d", code)
	}
	for _, want := range []string{"bedrock-long-term", "built-in (engine)", "aws-access-key", "acme-token", p + ":2"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "", "rules", "list", "--json", "--config", p)
	var list []ruleJSON
	// The built-in rules (one per key family, and aws-access-key), then the file's.
	if err := json.Unmarshal([]byte(out), &list); code != ExitOK || err != nil || len(list) != len(detectors.Families())+2 || list[len(list)-1].ID != "acme-token" || list[len(list)-1].Examples != 2 {
		t.Errorf("list --json: exit %d %v %+v", code, err, list)
	}

	// show prints TOML that loads back as the same rule.
	for _, id := range []string{"acme-token", "aws-access-key", "bedrock-short-term"} {
		code, out, _ = runCLI(t, "", "rules", "show", id, "--config", p)
		if code != ExitOK || !strings.Contains(out, "[[rules]]") {
			t.Fatalf("show %s: exit %d %q", id, code, out)
		}
		if id == "bedrock-short-term" {
			continue // engine rules are not loadable as custom rules
		}
		text := strings.Replace(out, "id = '"+id+"'", "id = 'copy'", 1)
		cfg, err := rules.Parse("shown.toml", []byte(text))
		if err != nil {
			t.Fatalf("show %s output does not load: %v\n%s", id, err, out)
		}
		orig, _ := rules.Parse("c.toml", []byte(customRulesTOML))
		a, b := cfg.Rule("copy"), orig.Rule(id)
		if a.Regex != b.Regex || len(a.Examples) != len(b.Examples) || a.Decoder != b.Decoder || strings.Join(a.Keywords, ",") != strings.Join(b.Keywords, ",") {
			t.Errorf("show %s does not round-trip:\n%s", id, out)
		}
		for _, res := range a.TestExamples() {
			if !res.Pass {
				t.Errorf("shown %s: %v", id, res)
			}
		}
	}
	if code, _, errOut := runCLI(t, "", "rules", "show", "nope"); code != ExitFailure || !strings.Contains(errOut, `no rule "nope"`) {
		t.Errorf("show unknown: exit %d %q", code, errOut)
	}

	code, out, _ = runCLI(t, "", "rules", "test", "--config", p)
	if code != ExitOK || !strings.Contains(out, "8 example(s) passed") {
		t.Errorf("test: exit %d\n%s", code, out)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte(strings.Replace(customRulesTOML, `no_match = "acme_aaaaaaaaaaaaaaaa"`, `no_match = "acme_Zx81fQk2LmP0aT7w"`, 1)), 0o644)
	code, out, errOut := runCLI(t, "", "rules", "test", "acme-token", "--config", bad)
	if code != ExitFound || !strings.Contains(out, "no_match example: FAIL: the rule matched") || !strings.Contains(errOut, "1 of 2 rule example(s) failed") {
		t.Errorf("failing test: exit %d\n%s\n%s", code, out, errOut)
	}
	// An invalid configuration is an error (2) with the line.
	os.WriteFile(bad, []byte("[[rules]]\nid = 'x'\nkeywords = ['xy']\nregex = 'x('\n"), 0o644)
	if code, _, errOut := runCLI(t, "", "rules", "test", "--config", bad); code != ExitFailure || !strings.Contains(errOut, bad+":4:") {
		t.Errorf("invalid config: exit %d %q", code, errOut)
	}
}
