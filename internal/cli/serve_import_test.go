package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testkeys"
)

// TestServeImportState: the state file a real bks triage --state run
// wrote is imported by bks serve import-state into the service's SQLite
// database: three incidents, all new; a second import adds nothing; no key
// is in the database file; a missing file is an error.
func TestServeImportState(t *testing.T) {
	ours := testkeys.LongTerm("BedrockAPIKey-imp1", "111122223333", testkeys.Secret(91))
	theirs := testkeys.LongTerm("someone", "777788889999", testkeys.Secret(92))
	other := testkeys.LongTerm("BedrockAPIKey-imp3", "111122223333", testkeys.Secret(93))
	dir := writeTree(t, map[string]string{"a.env": "K=" + ours + "\nL=" + theirs + "\n", "b.env": "M=" + other + "\n"})
	report := filepath.Join(t.TempDir(), "f.jsonl")
	if code, _, errOut := runCLI(t, "", "detect", "files", dir, "--format", "jsonl", "-o", report); code != 1 {
		t.Fatalf("detect: %d %s", code, errOut)
	}
	state := filepath.Join(t.TempDir(), "state.json")
	if code, out, errOut := runCLI(t, "", "triage", report, "--state", state, "--endpoint-url", "http://127.0.0.1:9"); code != 1 {
		t.Fatalf("triage: exit %d\n%s%s", code, out, errOut)
	}
	db := filepath.Join(t.TempDir(), "serve.db")
	for i, want := range []string{"imported 3 incident(s) into " + db + ": 3 new", "imported 3 incident(s) into " + db + ": 0 new"} {
		code, out, errOut := runCLI(t, "", "serve", "import-state", state, "--db", db)
		t.Logf("import #%d: exit %d %s%s", i+1, code, out, errOut)
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("import #%d: exit %d %q %q; want %q", i+1, code, out, errOut, want)
		}
	}
	b, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{ours, theirs, other} {
		if bytes.Contains(b, []byte(k)) {
			t.Error("a key is in the database file")
		}
	}
	if code, _, errOut := runCLI(t, "", "serve", "import-state", filepath.Join(t.TempDir(), "none.json"), "--db", db); code == 0 {
		t.Errorf("missing file: exit 0 (%s)", errOut)
	}
}
