package cli

import (
	"strings"
	"testing"
)

func TestDemoFindsEverySample(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "", "demo", "--files-only", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"service/.env:3:26", "service/app.py:4:", "notebooks/explore.ipynb:1:", "deploy/secret.yaml:6:10 (base64-encoded)",
		"deploy/windows.ps1:1:", "(from utf-16le)", "web/client.min.js:1:", "service/backup.zip!backup/.env:1:26",
		"claude/config.toml:2:12", "EXPIRED", "5 keys in 8 places",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if strings.Contains(out, "docs/README.md") {
		t.Error("a decoy in docs/README.md was reported")
	}
}
