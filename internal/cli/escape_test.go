//go:build unix

package cli

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostileName is issue 14's file name: it sets the terminal's title and
// clears the screen when printed raw.
const hostileName = "a\x1b]0;OWNED\a\x1b[2J"

// hostileEscaped is how bks shows it: Go's escapes, as on stdout.
const hostileEscaped = `a\x1b]0;OWNED\a\x1b[2J`

// TestStderrEscapesFileNames: a warning about a file (here a .zip that is
// not one) names it with its control characters escaped.
func TestStderrEscapesFileNames(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, hostileName+".zip"), []byte("PK\x03\x04 not a zip"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, errOut := runCLI(t, "", "detect", "files", dir)
	if strings.ContainsAny(errOut, "\x1b\a") {
		t.Errorf("stderr has raw control characters: %q", errOut)
	}
	if !strings.Contains(errOut, hostileEscaped+".zip") {
		t.Errorf("stderr does not name the file escaped %s: %q", hostileEscaped, errOut)
	}
}

// TestCSVEscapesControlCharacters: a CSV report shows control characters
// in a path as Go escapes (\x1b), not raw, and stays valid CSV.
func TestCSVEscapesControlCharacters(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, hostileName+".txt"), []byte("key = "+cliKeyLong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "detect", "files", "--format", "csv", dir)
	if code != 1 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	if strings.ContainsAny(out, "\x1b\a") {
		t.Errorf("CSV has raw control characters: %q", out)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("CSV: %d rows, %v:\n%s", len(rows), err, out)
	}
	if path := rows[1][3]; !strings.HasSuffix(path, hostileEscaped+".txt") {
		t.Errorf("path cell %q, want it to end in %s.txt", path, hostileEscaped)
	}
}
