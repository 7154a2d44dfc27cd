package cli

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// A key written in pieces (issue 13's repros) is reported once, whole,
// with the fingerprint of the key written whole, at its first piece.
func TestDetectJoinsSplitKeys(t *testing.T) {
	k := cliKeyLong
	b64 := base64.StdEncoding.EncodeToString([]byte("TOKEN=" + k + "\n"))
	gnu := ""
	for len(b64) > 0 {
		n := min(76, len(b64))
		gnu += b64[:n] + "\n"
		b64 = b64[n:]
	}
	dir := writeTree(t, map[string]string{
		"whole.env":   "K=" + k + "\n",
		"split.py":    fmt.Sprintf("k = (\"%s\"\n     \"%s\")\n", k[:60], k[60:]),
		"concat.js":   fmt.Sprintf("const k = '%s' +\n  '%s';\n", k[:60], k[60:]),
		"cont.sh":     fmt.Sprintf("export K=%s\\\n%s\n", k[:60], k[60:]),
		"folded.yaml": fmt.Sprintf("env:\n  key: >-\n    %s\n    %s\n", k[:60], k[60:]),
		"token.b64":   gnu,
	})
	code, out, errOut := runCLI(t, "", "detect", "files", "--format", "jsonl", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errOut)
	}
	fps := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var f struct {
			Fingerprint, Confidence, Path string
			Line, Pieces                  int
		}
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatal(err)
		}
		name := f.Path[strings.LastIndex(f.Path, "/")+1:]
		if f.Confidence != "high" {
			t.Errorf("%s: confidence %s", name, f.Confidence)
		}
		if name != "whole.env" && (f.Pieces < 2 || f.Line > 3) {
			t.Errorf("%s: pieces %d line %d", name, f.Pieces, f.Line)
		}
		if _, dup := fps[name]; dup {
			t.Errorf("%s: reported twice", name)
		}
		fps[name] = f.Fingerprint
	}
	if len(fps) != 6 {
		t.Fatalf("%d files with findings, want 6: %v", len(fps), fps)
	}
	for name, fp := range fps {
		if fp != fps["whole.env"] {
			t.Errorf("%s: fingerprint %s, want the whole key's %s", name, fp, fps["whole.env"])
		}
	}
	_, text, _ := runCLI(t, "", "detect", "files", dir+"/split.py")
	if !strings.Contains(text, "joined from 2 pieces") {
		t.Errorf("text report does not say the key was joined:\n%s", text)
	}
}
