package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testgit"
	"github.com/bks-dev/bks/internal/testkeys"
)

// newGitRepo is a repository for the detect tests: commits an hour apart
// from 2025-06-01 12:00 UTC, all by Dev One.
func newGitRepo(t *testing.T) *testgit.Repo {
	t.Helper()
	dev := testgit.Ident{Name: "Dev One", Email: "dev@example.com"}
	return testgit.New(t, testgit.Options{
		Start: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), Step: time.Hour,
		Author: dev, Committer: dev,
	})
}

func gitKey(n uint64) string {
	return testkeys.LongTerm("BedrockAPIKey-g"+string(rune('a'+n)), "123456789012", testkeys.Secret(1000+n))
}

func decodeJSONFindings(t *testing.T, out string) []findings.Finding {
	t.Helper()
	var fs []findings.Finding
	if strings.TrimSpace(out) == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(out), &fs); err != nil {
		// jsonl
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var f findings.Finding
			if err := json.Unmarshal([]byte(line), &f); err != nil {
				t.Fatalf("decode output: %v\n%s", err, out)
			}
			fs = append(fs, f)
		}
	}
	return fs
}

func TestDetectGit(t *testing.T) {
	r := newGitRepo(t)
	r.Write("README", "hi\n")
	base := r.Commit("base")
	r.Write("app/.env", "AWS_BEARER_TOKEN_BEDROCK="+gitKey(1)+"\n")
	leak := r.Commit("add env")
	r.Git("rm", "-q", "app/.env")
	r.Commit("oops, remove env")

	code, out, errOut := runCLI(t, "", "detect", "git", r.Dir, "--format", "jsonl")
	if code != ExitFound {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	fs := decodeJSONFindings(t, out)
	if len(fs) != 1 {
		t.Fatalf("findings: %s", out)
	}
	f := fs[0]
	if f.Commit != leak || f.Path != "app/.env" || f.InHead == nil || *f.InHead || f.Author != "Dev One" || f.Email != "dev@example.com" || f.Message != "add env" || f.Date == nil || f.Line != 1 {
		t.Errorf("finding location: %+v", f.Location)
	}
	if strings.Contains(out+errOut, gitKey(1)) {
		t.Error("the secret was printed without --show-secrets")
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"range-before-leak", []string{"--range", base + ".." + base}, ExitOK},
		{"range-with-leak", []string{"--range", base + "..main"}, ExitFound},
		{"since-after", []string{"--since", "2025-06-02"}, ExitOK},
		{"since-before", []string{"--since", "2025-06-01"}, ExitFound},
		{"branch", []string{"--branch", "main"}, ExitFound},
		{"go-git-reader", []string{"--blob-reader", "go-git"}, ExitFound},
		{"bad-since", []string{"--since", "yesterday-ish"}, ExitFailure},
		{"bad-range", []string{"--range", "nope..main"}, ExitFailure},
		{"url", []string{"file://" + r.Dir}, ExitFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"detect", "git", "-f", "json"}, tc.args...)
			if tc.name != "url" {
				args = append(args, r.Dir)
			}
			code, out, errOut := runCLI(t, "", args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout %s\nstderr %s", code, tc.code, out, errOut)
			}
		})
	}

	t.Run("not-a-repo", func(t *testing.T) {
		code, _, errOut := runCLI(t, "", "detect", "git", t.TempDir())
		if code != ExitFailure || !strings.Contains(errOut, "repository") {
			t.Errorf("exit %d stderr %q", code, errOut)
		}
	})
	t.Run("shallow-warns", func(t *testing.T) {
		sh := filepath.Join(t.TempDir(), "sh")
		r.Git("clone", "-q", "--depth", "1", "file://"+r.Dir, sh)
		code, out, errOut := runCLI(t, "", "detect", "git", sh)
		if code != ExitOK || out != "" || !strings.Contains(errOut, "shallow") {
			t.Errorf("exit %d stdout %q stderr %q", code, out, errOut)
		}
	})
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                     {},
		"2024-01-31":           time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC),
		"2024-01-31T10:00:00Z": time.Date(2024, 1, 31, 10, 0, 0, 0, time.UTC),
		"9d":                   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		"1w":                   time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC),
		"24h":                  time.Date(2026, 1, 9, 0, 0, 0, 0, time.UTC),
	} {
		got, err := parseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"d", "-1d", "3y", "soon"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
}

func TestDetectStaged(t *testing.T) {
	r := newGitRepo(t)
	r.Write("committed.txt", gitKey(2)+"\n")
	r.Write("ok.txt", "fine\n")
	r.Commit("base")

	code, out, errOut := runCLI(t, "", "detect", "staged", "-C", r.Dir)
	if code != ExitOK || out != "" {
		t.Fatalf("nothing staged: exit %d stdout %q stderr %q", code, out, errOut)
	}
	r.Write("new.txt", "k="+gitKey(3)+"\n")
	r.Git("add", "new.txt")
	code, out, _ = runCLI(t, "", "detect", "staged", "-C", r.Dir, "-f", "jsonl")
	fs := decodeJSONFindings(t, out)
	if code != ExitFound || len(fs) != 1 || fs[0].Path != "new.txt" || fs[0].Commit != "" {
		t.Errorf("staged key: exit %d %s", code, out)
	}
	// pre-commit run --all-files: the files are given, nothing else staged.
	r.Git("reset", "-q")
	chdir(t, r.Dir)
	code, out, _ = runCLI(t, "", "detect", "staged", "-f", "jsonl", "ok.txt", "committed.txt")
	fs = decodeJSONFindings(t, out)
	if code != ExitFound || len(fs) != 1 || fs[0].Path != "committed.txt" {
		t.Errorf("given files: exit %d %s", code, out)
	}
	code, _, errOut = runCLI(t, "", "detect", "staged", "missing.txt")
	if code != ExitFailure || !strings.Contains(errOut, "missing.txt") {
		t.Errorf("missing file: exit %d stderr %q", code, errOut)
	}
}

func chdir(t *testing.T, dir string) {
	t.Helper()
	t.Chdir(dir)
}

func TestHookInstall(t *testing.T) {
	r := newGitRepo(t)
	hook := filepath.Join(r.Dir, ".git", "hooks", "pre-commit")
	os.Remove(hook)

	code, _, errOut := runCLI(t, "", "hook", "install", "-C", r.Dir)
	if code != ExitOK {
		t.Fatalf("install: exit %d %s", code, errOut)
	}
	body, err := os.ReadFile(hook)
	if err != nil || !strings.Contains(string(body), hookMarker) || !strings.Contains(string(body), "detect staged") {
		t.Fatalf("hook: %v %s", err, body)
	}
	if st, _ := os.Stat(hook); st.Mode()&0o111 == 0 {
		t.Error("hook not executable")
	}
	// Ours again: replaced without --force.
	if code, _, errOut := runCLI(t, "", "hook", "install", "-C", r.Dir); code != ExitOK {
		t.Fatalf("reinstall: exit %d %s", code, errOut)
	}
	// A foreign hook is left alone without --force.
	foreign := "#!/bin/sh\necho mine\n"
	if err := os.WriteFile(hook, []byte(foreign), 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, "", "hook", "install", "-C", r.Dir)
	if code != ExitFailure || !strings.Contains(errOut, "--force") {
		t.Errorf("foreign hook: exit %d %q", code, errOut)
	}
	if b, _ := os.ReadFile(hook); string(b) != foreign {
		t.Error("foreign hook changed without --force")
	}
	if code, _, _ := runCLI(t, "", "hook", "uninstall", "-C", r.Dir); code != ExitFailure {
		t.Error("uninstall removed a foreign hook")
	}
	code, _, errOut = runCLI(t, "", "hook", "install", "-C", r.Dir, "--force")
	if code != ExitOK {
		t.Fatalf("--force: exit %d %s", code, errOut)
	}
	if b, _ := os.ReadFile(hook + ".bks-backup"); string(b) != foreign {
		t.Error("foreign hook not backed up")
	}
	// Uninstall restores the previous hook.
	if code, _, errOut := runCLI(t, "", "hook", "uninstall", "-C", r.Dir); code != ExitOK {
		t.Fatalf("uninstall: %d %s", code, errOut)
	}
	if b, _ := os.ReadFile(hook); string(b) != foreign {
		t.Error("previous hook not restored")
	}
	// core.hooksPath is honoured.
	r.Git("config", "core.hooksPath", ".githooks")
	if code, _, errOut := runCLI(t, "", "hook", "install", "-C", r.Dir); code != ExitOK {
		t.Fatalf("hooksPath: %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, ".githooks", "pre-commit")); err != nil {
		t.Errorf("core.hooksPath not used: %v", err)
	}
}
