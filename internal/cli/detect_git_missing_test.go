package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A partial clone (--filter=blob:none) lacks the blobs of old commits: the
// scan reads the blobs that are there, names the count missing, says how
// to fetch them, and exits 2 unless --ignore-errors.
func TestDetectGitPartialClone(t *testing.T) {
	r := newGitRepo(t)
	r.Write("old.env", "k="+gitKey(4)+"\n")
	r.Commit("leak")
	r.Git("rm", "-q", "old.env")
	r.Write("now.env", "k="+gitKey(5)+"\n")
	r.Commit("another")
	r.Git("config", "uploadpack.allowFilter", "true")
	dst := filepath.Join(t.TempDir(), "partial")
	r.Git("clone", "-q", "--no-local", "--filter=blob:none", "file://"+r.Dir, dst)

	code, out, errOut := runCLI(t, "", "detect", "git", dst, "-f", "jsonl")
	fs := decodeJSONFindings(t, out)
	if code != ExitFailure || len(fs) != 1 || fs[0].Path != "now.env" {
		t.Errorf("exit %d (want %d), findings %s\nstderr %s", code, ExitFailure, out, errOut)
	}
	for _, want := range []string{"partial clone", "1 object(s)", "git fetch --refetch"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	code, _, errOut = runCLI(t, "", "detect", "git", dst, "--ignore-errors")
	if code != ExitFound {
		t.Errorf("--ignore-errors: exit %d, want %d\n%s", code, ExitFound, errOut)
	}
	// The advice works: after it, both keys are found and nothing is missing.
	c := r.At(dst)
	c.Git("config", "--unset", "remote.origin.partialclonefilter")
	c.Git("fetch", "-q", "--refetch", "origin")
	code, out, errOut = runCLI(t, "", "detect", "git", dst, "-f", "jsonl")
	if fs := decodeJSONFindings(t, out); code != ExitFound || len(fs) != 2 {
		t.Errorf("after refetch: exit %d, findings %s\nstderr %s", code, out, errOut)
	}
}

// A blob deleted from the object store is named by id on stderr, and the
// exit is 2 unless --ignore-errors.
func TestDetectGitMissingLooseBlob(t *testing.T) {
	r := newGitRepo(t)
	r.Write("a.txt", "first\n")
	r.Commit("a")
	r.Write("b.txt", "k="+gitKey(6)+"\n")
	r.Commit("b")
	gone := r.DeleteObject("HEAD~1:a.txt")
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, ExitFailure},
		{[]string{"--ignore-errors"}, ExitFound},
		{[]string{"--blob-reader", "git"}, ExitFailure},
		{[]string{"--branch", "main"}, ExitFailure},
	} {
		args := append([]string{"detect", "git", r.Dir}, tc.args...)
		code, _, errOut := runCLI(t, "", args...)
		if code != tc.code || !strings.Contains(errOut, gone) {
			t.Errorf("%v: exit %d (want %d), stderr should name %s:\n%s", tc.args, code, tc.code, gone, errOut)
		}
	}
}

// SHA-256 repositories (git init --object-format=sha256) are scanned by
// detect git and detect staged: findings name 64-hex commit ids.
func TestDetectGitSHA256(t *testing.T) {
	r := newGitRepo(t)
	if err := os.RemoveAll(filepath.Join(r.Dir, ".git")); err != nil {
		t.Fatal(err)
	}
	r.Git("init", "-q", "-b", "main", "--object-format=sha256")
	r.Write("a.txt", "fine\n")
	r.Commit("a")
	r.Write("app/.env", "k="+gitKey(7)+"\n")
	leak := r.Commit("leak")
	if len(leak) != 64 {
		t.Skipf("git made a %d-hex commit id: no SHA-256 support", len(leak))
	}
	r.Git("rm", "-q", "app/.env")
	r.Commit("remove")
	for _, args := range [][]string{nil, {"--branch", "main"}, {"--blob-reader", "go-git"}} {
		code, out, errOut := runCLI(t, "", append([]string{"detect", "git", r.Dir, "-f", "jsonl"}, args...)...)
		fs := decodeJSONFindings(t, out)
		if code != ExitFound || len(fs) != 1 || fs[0].Commit != leak || fs[0].Path != "app/.env" {
			t.Errorf("detect git %v: exit %d, findings %s\nstderr %s", args, code, out, errOut)
		}
	}
	r.Write("new.txt", "k="+gitKey(8)+"\n")
	r.Git("add", "new.txt")
	code, out, errOut := runCLI(t, "", "detect", "staged", "-C", r.Dir, "-f", "jsonl")
	if fs := decodeJSONFindings(t, out); code != ExitFound || len(fs) != 1 || fs[0].Path != "new.txt" {
		t.Errorf("detect staged: exit %d, findings %s\nstderr %s", code, out, errOut)
	}
	// pre-commit run --all-files: files given by name, tracked or not.
	r.Write("untracked.txt", "k="+gitKey(9)+"\n")
	code, out, errOut = runCLI(t, "", "detect", "staged", "-C", r.Dir, "-f", "jsonl",
		filepath.Join(r.Dir, "a.txt"), filepath.Join(r.Dir, "new.txt"), filepath.Join(r.Dir, "untracked.txt"))
	if fs := decodeJSONFindings(t, out); code != ExitFound || len(fs) != 2 {
		t.Errorf("detect staged FILES: exit %d, findings %s\nstderr %s", code, out, errOut)
	}
}
