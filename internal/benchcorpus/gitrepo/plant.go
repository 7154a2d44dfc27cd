package gitrepo

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bks-dev/bks/detectors"
)

// Plant adds two keys to an existing repository (a clone of a real one,
// for the bench's "with keys" rows) and returns their ground truth:
//
//   - "deleted-branch": on a new branch bench-side, forked back from
//     HEAD by back first-parent commits (or from the root, if HEAD has
//     fewer), a commit adds bench-leak/side.env with a key and the next
//     one deletes it;
//   - "head": a commit on top of HEAD's branch appends a key to the file
//     at path (README.md in git/git), which must exist at HEAD; the repo
//     is then repacked (git repack -ad: existing deltas kept, the new
//     blob packed, as a delta where git finds one).
func Plant(dir, path string, back int) ([]Truth, error) {
	run := func(stdin []byte, args ...string) (string, error) {
		var in io.Reader
		if stdin != nil {
			in = bytes.NewReader(stdin)
		}
		out, err := git(dir, in, args...)
		if err != nil {
			return "", fmt.Errorf("gitrepo: git %s: %v: %s", args[0], err, bytes.TrimSpace(out))
		}
		return strings.TrimSpace(string(out)), nil
	}
	head, err := run(nil, "rev-parse", "--verify", "HEAD")
	if err != nil {
		return nil, err
	}
	branch, err := run(nil, "symbolic-ref", "HEAD")
	if err != nil {
		return nil, fmt.Errorf("%w (HEAD must name a branch)", err)
	}
	firstParents, err := run(nil, "rev-list", "--first-parent", fmt.Sprintf("--max-count=%d", back+1), "HEAD")
	if err != nil {
		return nil, err
	}
	chain := strings.Fields(firstParents)
	base := chain[len(chain)-1]
	old, err := run(nil, "cat-file", "blob", "HEAD:"+path)
	if err != nil {
		return nil, err
	}
	g := &gen{nkey: 90} // keys of their own: BedrockAPIKey-g00091, -g00092
	k1, fp1 := g.key()
	k2, fp2 := g.key()
	side := "bench-leak/side.env"
	var s strings.Builder
	when := "1700000000 +0000"
	commit := func(ref, from, msg string) {
		fmt.Fprintf(&s, "commit %s\nmark :%d\nauthor Bench Planter <bench@example.com> %s\ncommitter Bench Planter <bench@example.com> %s\ndata %d\n%s\nfrom %s\n",
			ref, strings.Count(s.String(), "\nmark :")+1, when, when, len(msg), msg, from)
	}
	commit("refs/heads/bench-side", base, "add local settings")
	body := "AWS_REGION=us-east-1\nAWS_BEARER_TOKEN_BEDROCK=" + k1 + "\n"
	fmt.Fprintf(&s, "M 100644 inline %s\ndata %d\n%s\n", side, len(body), body)
	commit("refs/heads/bench-side", ":1", "remove local settings")
	fmt.Fprintf(&s, "D %s\n\n", side)
	commit(branch, head, "docs: example settings")
	body = old + "\n\nAWS_BEARER_TOKEN_BEDROCK=" + k2 + "\n"
	fmt.Fprintf(&s, "M 100644 inline %s\ndata %d\n%s\n\ndone\n", path, len(body), body)
	marks := filepath.Join(dir, ".git", "bench-plant.marks")
	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		marks = filepath.Join(dir, "bench-plant.marks") // bare
	}
	if _, err := run([]byte(s.String()), "fast-import", "--quiet", "--done", "--export-marks="+marks); err != nil {
		return nil, err
	}
	ids, err := readMarks(marks)
	os.Remove(marks)
	if err != nil {
		return nil, err
	}
	if _, err := run(nil, "repack", "-adq"); err != nil {
		return nil, err
	}
	return []Truth{
		{Fingerprint: fp1, Rule: detectors.RuleLongTerm, Place: "deleted-branch", Commit: ids[1], Path: side, InHead: boolp(false)},
		{Fingerprint: fp2, Rule: detectors.RuleLongTerm, Place: "head", Commit: ids[3], Path: path, InHead: boolp(true)},
	}, nil
}
