package cli

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/bks-dev/bks/internal/testkeys"
)

// TestSARIFBangInFileName is the issue's "SARIF splits real file names at
// !": a file literally named report!final.txt keeps its whole name as the
// SARIF uri, while a zip member (whose own name has a !) points at the
// zip with the member named beside it.
func TestSARIFBangInFileName(t *testing.T) {
	key := testkeys.LongTerm("BedrockAPIKey-bang", "111122223333", testkeys.Secret(72))
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, err := zw.Create("in!ner.env")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("k=" + key + "\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, map[string]string{"s/report!final.txt": "k=" + key + "\n", "s/a.zip": zbuf.String()})
	t.Chdir(dir)
	code, out, errOut := runCLI(t, "", "detect", "files", "--format", "sarif", "s")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
					} `json:"physicalLocation"`
					Properties map[string]any `json:"properties"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var got []string
	for _, r := range log.Runs[0].Results {
		l := r.Locations[0]
		got = append(got, l.PhysicalLocation.ArtifactLocation.URI+" member="+anyString(l.Properties["archive_member"]))
	}
	sort.Strings(got)
	want := []string{"s/a.zip member=in!ner.env", "s/report%21final.txt member=", "s/report!final.txt member="}
	if len(got) != 2 || got[0] != want[0] || (got[1] != want[1] && got[1] != want[2]) {
		t.Errorf("locations %q, want %q and %q (or with ! escaped)", got, want[0], want[2])
	}
	if _, err := os.Stat(filepath.Join(dir, "s", "report!final.txt")); err != nil {
		t.Fatal(err)
	}
}

func anyString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}
