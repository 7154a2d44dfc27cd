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

// Plant's two keys (a deleted file on a side branch, a packed blob at
// HEAD) are found by the blob-first scan at the commits it reports.
func TestPlant(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git CLI not installed (scripts/install-test-tools.sh installs it)")
	}
	dir := filepath.Join(t.TempDir(), "repo")
	if _, err := Generate(dir, Options{Commits: 200, Seed: 3, PlantEvery: 1000}); err != nil {
		t.Fatal(err)
	}
	if out, err := git(dir, nil, "symbolic-ref", "HEAD", "refs/heads/main"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	ls, err := git(dir, nil, "ls-tree", "-r", "--name-only", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	path := strings.Fields(string(ls))[0]
	truth, err := Plant(dir, path, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(truth) != 2 || truth[1].Path != path {
		t.Fatalf("truth: %+v", truth)
	}
	if out, _ := git(dir, nil, "count-objects", "-v"); !strings.Contains(string(out), "count: 0\n") {
		t.Errorf("loose objects left after the repack:\n%s", out)
	}
	eng := detectors.New(detectors.Options{})
	var found []findings.Finding
	src := gitsrc.New(gitsrc.Options{Path: dir, Reader: gitsrc.ReaderGit, Matcher: eng,
		OnError: func(p string, err error) { t.Errorf("%s: %v", p, err) }})
	if err := scan.Run(context.Background(), src, eng, func(f findings.Finding) error {
		found = append(found, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The generated history's own keys are not in truth: check ours.
	var ours []findings.Finding
	for _, f := range found {
		for _, tr := range truth {
			if f.Fingerprint == tr.Fingerprint {
				ours = append(ours, f)
			}
		}
	}
	if p := Verify(truth, ours); len(p) > 0 {
		t.Errorf("verify:\n%s", strings.Join(p, "\n"))
	}
}
