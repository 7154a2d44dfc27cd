package rules

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/scan"
)

// TestRepositoryConfig checks the project's own .bks.toml: it is valid, and
// with it every tracked file of the repository scans clean (what `bks
// detect git .` checks over the whole history).
func TestRepositoryConfig(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(filepath.Join(root, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed (scripts/install-test-tools.sh)")
	}
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	e := detectors.New(detectors.Options{Extra: cfg.Detectors(detectors.DecodeOptions{})})
	f := NewFilter(cfg, nil)
	scanned := 0
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			continue // deleted in the work tree
		}
		scanned++
		e.Scan(data, len(data), func(m detectors.Match) {
			fnd := findings.New(m, findings.Location{Path: filepath.ToSlash(name)})
			if f.Apply(&fnd, scan.LineAt(data, m.Start, m.End)) {
				t.Errorf("%s: %s %s (%s) is reported: allowlist it in .bks.toml with the reason, or build it in code",
					name, fnd.RuleID, fnd.Redacted, fnd.Fingerprint)
			}
		})
	}
	if scanned == 0 {
		t.Fatal("no files scanned")
	}
}
