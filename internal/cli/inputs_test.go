package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDetectFilesOpensBzip2: a key in a .bz2 file is found, reported at
// the file's path. Before: exit 0, the file was scanned as raw bytes.
func TestDetectFilesOpensBzip2(t *testing.T) {
	if _, err := exec.LookPath("bzip2"); err != nil {
		t.Skip("bzip2 not installed (scripts/install-test-tools.sh installs it)")
	}
	cmd := exec.Command("bzip2", "-c")
	cmd.Stdin = strings.NewReader("AWS_BEARER_TOKEN_BEDROCK=" + cliKeyLong + "\n")
	data, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "env.bz2"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "detect", "files", "--format", "jsonl", dir)
	if fs := decodeJSONFindings(t, out); code != ExitFound || len(fs) != 1 || !strings.HasSuffix(fs[0].Path, "env.bz2") {
		t.Errorf("exit %d, stdout %q, stderr %q; want %d and one finding in env.bz2", code, out, errOut, ExitFound)
	}
	if code, _, errOut := runCLI(t, string(data), "detect", "stdin"); code != ExitFound {
		t.Errorf("bzip2 on stdin: exit %d, stderr %q; want %d", code, errOut, ExitFound)
	}
}

// TestDetectFilesReadsNamedPipe: `bks detect files <(cmd)` reads the pipe
// bash passes as /dev/fd/N. Before: exit 2, "not a regular file or
// directory".
func TestDetectFilesReadsNamedPipe(t *testing.T) {
	if _, err := os.Stat("/dev/fd/0"); err != nil {
		t.Skip("no /dev/fd")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		defer w.Close()
		w.WriteString("AWS_BEARER_TOKEN_BEDROCK=" + cliKeyLong + "\n")
	}()
	name := fmt.Sprintf("/dev/fd/%d", r.Fd())
	code, out, errOut := runCLI(t, "", "detect", "files", "--format", "jsonl", name)
	if fs := decodeJSONFindings(t, out); code != ExitFound || len(fs) != 1 || fs[0].Path != name {
		t.Errorf("exit %d, stdout %q, stderr %q; want %d and one finding in %s", code, out, errOut, ExitFound, name)
	}
}

// TestDetectGitNotesSubmodules: without --submodules, stderr says which
// submodules were not scanned. Before: nothing said.
func TestDetectGitNotesSubmodules(t *testing.T) {
	sub := newGitRepo(t)
	sub.Write("s.txt", "AWS_BEARER_TOKEN_BEDROCK="+gitKey(2)+"\n")
	sub.Commit("sub")
	r := newGitRepo(t)
	r.Write("top.txt", "top\n")
	r.Commit("top")
	r.Git("submodule", "add", "-q", sub.Dir, "vendor/sub")
	r.Commit("add submodule")
	code, _, errOut := runCLI(t, "", "detect", "git", r.Dir)
	if code != ExitOK || !strings.Contains(errOut, "1 submodule not scanned (vendor/sub): --submodules scans checked-out ones") {
		t.Errorf("exit %d, stderr %q; want 0 and the submodule named", code, errOut)
	}
	if code, _, errOut := runCLI(t, "", "detect", "git", "--submodules", r.Dir); code != ExitFound || strings.Contains(errOut, "not scanned") {
		t.Errorf("--submodules: exit %d, stderr %q; want %d", code, errOut, ExitFound)
	}
}
