package cli

import (
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
