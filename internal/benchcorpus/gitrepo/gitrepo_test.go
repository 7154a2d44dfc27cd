package gitrepo

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/scan"
	gitsrc "github.com/bks-dev/bks/sources/git"
)

// The generated history's planted keys are all found by the git source,
// each with the commit that introduced it, by every way of reading history;
// and Verify notices a wrong or a missing finding.
func TestGeneratedRepoGroundTruth(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git CLI not installed (scripts/install-test-tools.sh installs it)")
	}
	dir := filepath.Join(t.TempDir(), "repo")
	truth, err := Generate(dir, Options{Commits: 400, Seed: 7, PlantEvery: 30})
	if err != nil {
		t.Fatal(err)
	}
	places := map[string]int{}
	for _, tr := range truth {
		places[tr.Place]++
	}
	for _, p := range Places {
		if places[p] == 0 {
			t.Errorf("no key planted at %s: %v", p, places)
		}
	}
	eng := detectors.New(detectors.Options{})
	for _, tc := range []struct {
		name    string
		reader  string
		matcher gitsrc.Matcher
	}{{"git", gitsrc.ReaderGit, nil}, {"git+prefilter", gitsrc.ReaderGit, eng}, {"go-git", gitsrc.ReaderGoGit, nil}} {
		t.Run(tc.name, func(t *testing.T) {
			var found []findings.Finding
			src := gitsrc.New(gitsrc.Options{Path: dir, Reader: tc.reader, Matcher: tc.matcher,
				OnError: func(p string, err error) { t.Errorf("%s: %v", p, err) }})
			err := scan.Run(context.Background(), src, eng, func(f findings.Finding) error {
				found = append(found, f)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if p := Verify(truth, found); len(p) > 0 {
				t.Errorf("verify:\n%s", strings.Join(p, "\n"))
			}
			if len(found) != len(truth) {
				t.Errorf("%d findings for %d planted keys", len(found), len(truth))
			}
			// Verify is not a test that cannot fail.
			bad := append([]findings.Finding(nil), found[1:]...)
			bad[0].Commit = strings.Repeat("0", 40)
			if p := Verify(truth, bad); len(p) != 2 {
				t.Errorf("verify of a wrong and a missing finding: %q", p)
			}
		})
	}
}
