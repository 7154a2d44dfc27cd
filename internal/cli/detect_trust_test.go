package cli

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testkeys"
)

// Issue 14, "the config depends on the current directory": the config is
// the scanned tree's, whatever directory bks runs from, and its paths are
// relative to the file's directory.
func TestConfigFollowsScanTarget(t *testing.T) {
	k := testkeys.LongTerm("BedrockAPIKey-trs1", "123456789012", testkeys.Secret(141))
	a := writeTree(t, map[string]string{
		// Not the scanned tree's: never read when proj is scanned.
		".bks.toml":           "this is not toml\n",
		"proj/.bks.toml":      "[[allowlists]]\npaths = [\"/fixtures/\"]\n",
		"proj/fixtures/k.txt": "K=" + k + "\n",
	})
	proj := filepath.Join(a, "proj")
	cfg := filepath.Join(proj, ".bks.toml")

	t.Chdir(proj)
	if code, out, errOut := runCLI(t, "", "detect", "files", "."); code != 0 {
		t.Fatalf("from proj: exit %d\n%s%s", code, out, errOut)
	}
	t.Chdir(a)
	for _, args := range [][]string{
		{"detect", "files", "proj"},
		{"detect", "files", "proj", "--config", "proj/.bks.toml"},
	} {
		code, out, errOut := runCLI(t, "", args...)
		if code != 0 {
			t.Errorf("%v from the parent: exit %d\n%s%s", args, code, out, errOut)
		}
		if !strings.Contains(errOut, "config: ") || !strings.Contains(errOut, ".bks.toml") {
			t.Errorf("%v: the config used is not named on stderr: %q", args, errOut)
		}
	}

	// The same tree as a repository, scanned from outside it.
	r := newGitRepo(t).At(proj)
	r.Git("init", "-q", "-b", "main")
	r.Git("add", "-A")
	r.Commit("proj")
	for _, args := range [][]string{
		{"detect", "git", "proj"},
		{"detect", "staged", "-C", "proj", "proj/fixtures/k.txt"},
	} {
		code, out, errOut := runCLI(t, "", args...)
		if code != 0 || !strings.Contains(errOut, "config: "+cfg) {
			t.Errorf("%v from the parent: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	// SARIF names the config in its invocation.
	_, out, _ := runCLI(t, "", "detect", "git", "proj", "--format", "sarif")
	if !strings.Contains(out, `"invocations"`) || !strings.Contains(out, filepath.ToSlash(cfg)) {
		t.Errorf("sarif does not name the config:\n%s", out)
	}
}

// withoutConfigLine is stderr without the line naming the config used.
func withoutConfigLine(errOut string) string {
	var keep []string
	for _, l := range strings.SplitAfter(errOut, "\n") {
		if !strings.HasPrefix(l, "bks: config: ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

// bks's own repository scanned from outside it: its .bks.toml applies as
// it does from inside (issue 14: "17 keys in 95 places" from the parent).
func TestDetectGitOnOwnRepositoryFromElsewhere(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "-C", root, "rev-parse", "--is-inside-work-tree").Output(); err != nil || strings.TrimSpace(string(out)) != "true" {
		t.Skip("not a git checkout, or no git")
	}
	t.Chdir(t.TempDir())
	if code, out, errOut := runCLI(t, "", "detect", "git", root); code != 0 {
		t.Fatalf("bks detect git %s from elsewhere: exit %d\n%.2000s\n%s", root, code, out, errOut)
	}
}

// Issue 14: "N suppressed" was printed only when something else was
// reported. It is printed on stderr whenever anything was suppressed.
func TestSuppressedCountsWithoutFindings(t *testing.T) {
	k := testkeys.LongTerm("BedrockAPIKey-trs2", "123456789012", testkeys.Secret(142))
	dir := writeTree(t, map[string]string{
		".bks.toml":      "[[allowlists]]\nid = \"fixtures\"\npaths = [\"fixtures/\"]\n",
		"fixtures/k.txt": "K=" + k + "\n",
		"src/a.go":       "var k = \"" + k + "\" // bks:allow\n",
	})
	code, out, errOut := runCLI(t, "", "detect", "files", dir)
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	if !strings.Contains(errOut, "2 findings suppressed") || !strings.Contains(errOut, "1 allowlist:fixtures") || !strings.Contains(errOut, "1 inline") {
		t.Errorf("suppressed counts not on stderr: %q", errOut)
	}
}

// Issue 14: `config check` accepted allow-all patterns (though it rejects
// short stopwords), and loading one said nothing. Each is judged by what it
// matches, not by its spelling.
func TestAllowAllPatterns(t *testing.T) {
	k := testkeys.LongTerm("BedrockAPIKey-trs3", "123456789012", testkeys.Secret(143))
	for _, tc := range []struct{ name, allow string }{
		{"regex .*", `regexes = [".*"]`},
		{"regex .+", `regexes = [".+"]`},
		{"regex ^", `regexes = ["^"]`},
		{"regex (?s).*", `regexes = ["(?s).*"]`},
		{"regex x?", `regexes = ["x?"]`},
		{"regex [^\\x00]", `regexes = ['[^\x00]']`},
		{"line regex", `line_regexes = ["(?i)"]`},
		{"paths **", `paths = ["**"]`},
		{"paths *", `paths = ["*"]`},
		{"paths /*", `paths = ["/*"]`},
		{"all of two allow-alls", "condition = \"all\"\npaths = [\"**\"]\nregexes = [\"\"]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{
				".bks.toml": "[[allowlists]]\n" + tc.allow + "\n",
				"src/k.txt": "K=" + k + "\n",
			})
			code, _, errOut := runCLI(t, "", "config", "check", filepath.Join(dir, ".bks.toml"))
			if code != 2 || !strings.Contains(errOut, "matches everything") {
				t.Errorf("config check: exit %d\n%s", code, errOut)
			}
			code, _, errOut = runCLI(t, "", "detect", "files", dir)
			if code != 0 || !strings.Contains(errOut, "warning: ") || !strings.Contains(errOut, "matches everything") {
				t.Errorf("detect: exit %d\n%s", code, errOut)
			}
		})
	}
	// Narrow ones pass, also an allow-all item in an "all" list with a
	// narrow one.
	for _, allow := range []string{
		`regexes = ["EXAMPLE$"]`, `paths = ["fixtures/", "*.md"]`, `stopwords = ["example"]`,
		"condition = \"all\"\npaths = [\"**\"]\nstopwords = [\"fixture\"]",
	} {
		dir := writeTree(t, map[string]string{".bks.toml": "[[allowlists]]\n" + allow + "\n"})
		if code, out, errOut := runCLI(t, "", "config", "check", filepath.Join(dir, ".bks.toml")); code != 0 {
			t.Errorf("%s: exit %d\n%s%s", allow, code, out, errOut)
		}
	}
}

// Issue 14: a pull request could turn bks off by adding an allow-all
// .bks.toml (or baseline entries) with its key. In --range mode the config
// and baseline are the base commit's; a head that widens them fails the run
// and says what it widened, unless --trust-head-config.
func TestRangeConfigFromBase(t *testing.T) {
	k := testkeys.LongTerm("BedrockAPIKey-trs4", "123456789012", testkeys.Secret(144))
	r := newGitRepo(t)
	r.Write("README", "hi\n")
	r.Write(".bks.toml", "[[allowlists]]\nid = \"fixtures\"\npaths = [\"/fixtures/\"]\n")
	r.Write("bks-baseline.jsonl", "{\"bks_baseline\":1}\n")
	base := r.Commit("base")
	r.Write(".bks.toml", "[[allowlists]]\nid = \"fixtures\"\npaths = [\"/fixtures/\"]\n\n[[allowlists]]\nid = \"pr\"\nregexes = [\".*\"]\n")
	r.Write("app/k.txt", "K="+k+"\n")
	head := r.Commit("the PR: a key and an allow-all config")
	rng := base + ".." + head
	t.Chdir(r.Dir)

	code, out, errOut := runCLI(t, "", "detect", "git", ".", "--range", rng, "--format", "jsonl")
	if code != ExitFound || !strings.Contains(out, "BedrockAPIKey-trs4") {
		t.Errorf("untrusted head: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "this change widens the allowlist") || !strings.Contains(errOut, `regexes[0] ".*"`) || !strings.Contains(errOut, ".bks.toml") {
		t.Errorf("the widening is not named:\n%s", errOut)
	}
	// SARIF carries it as an error-level configuration notification.
	_, out, _ = runCLI(t, "", "detect", "git", ".", "--range", rng, "--format", "sarif")
	if !strings.Contains(out, "toolConfigurationNotifications") || !strings.Contains(out, "widens the allowlist") {
		t.Errorf("sarif:\n%s", out)
	}
	// The working tree is not the base either: an uncommitted allow-all
	// file is not read.
	r.Write(".bks.toml", "[[allowlists]]\nregexes = [\".*\"]\n")
	if code, _, errOut := runCLI(t, "", "detect", "git", ".", "--range", rng); code != ExitFound {
		t.Errorf("worktree config read in --range mode: exit %d\n%s", code, errOut)
	}
	r.Git("checkout", "-q", "--", ".bks.toml")
	// Trusted: the head's config applies; the widening is still said.
	code, out, errOut = runCLI(t, "", "detect", "git", ".", "--range", rng, "--trust-head-config")
	if code != 0 || out != "" || !strings.Contains(errOut, "widens the allowlist") {
		t.Errorf("--trust-head-config: exit %d\n%s%s", code, out, errOut)
	}

	// A baseline the PR extends with its own key.
	r.Git("reset", "-q", "--hard", base)
	r.Write("app/k.txt", "K="+k+"\n")
	if code, _, errOut := runCLI(t, "", "detect", "files", "app", "--baseline-out", "bks-baseline.jsonl"); code != ExitFound {
		t.Fatalf("baseline-out: exit %d %s", code, errOut)
	}
	head2 := r.Commit("the PR: a key and its baseline entry")
	code, _, errOut = runCLI(t, "", "detect", "git", ".", "--range", base+".."+head2, "--baseline", "bks-baseline.jsonl")
	if code != ExitFound || !strings.Contains(errOut, "this change widens the baseline") || !strings.Contains(errOut, "bedrock-long-term") {
		t.Errorf("baseline widened: exit %d\n%s", code, errOut)
	}

	// A PR that narrows the config passes.
	r.Git("reset", "-q", "--hard", base)
	r.Write(".bks.toml", "[[allowlists]]\nid = \"fixtures\"\npaths = [\"/fixtures/old/\"]\n")
	head3 := r.Commit("the PR: a narrower allowlist")
	if code, _, errOut := runCLI(t, "", "detect", "git", ".", "--range", base+".."+head3); code != 0 || strings.Contains(errOut, "widens") {
		t.Errorf("narrowed: exit %d\n%s", code, errOut)
	}
}
