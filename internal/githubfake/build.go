package githubfake

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"time"
)

// Commit is one commit of a repository built by BuildRepo.
type Commit struct {
	Branch  string // "main" when empty
	Message string
	// Files sets file contents; a nil value deletes the file.
	Files map[string][]byte
	// When is the commit time; a fixed date plus the commit's index when
	// zero, so repositories built twice are identical.
	When time.Time
}

// BuildRepo creates a bare repository at dir (which must not exist or be
// empty) holding commits, in order, with one `git fast-import`: fast
// enough to build hundreds of repositories in a test. HEAD names the first
// commit's branch.
func BuildRepo(dir string, commits []Commit) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("build repo %s: %w", dir, err)
	}
	head := "main"
	if len(commits) > 0 && commits[0].Branch != "" {
		head = commits[0].Branch
	}
	if out, err := exec.Command("git", "init", "-q", "--bare", "--initial-branch="+head, dir).CombinedOutput(); err != nil {
		return fmt.Errorf("build repo %s: git init: %w: %s", dir, err, out)
	}
	if len(commits) == 0 {
		return nil
	}
	var st bytes.Buffer
	base := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	tips := map[string]int{}
	for i, c := range commits {
		br := c.Branch
		if br == "" {
			br = "main"
		}
		when := c.When
		if when.IsZero() {
			when = base.Add(time.Duration(i) * time.Minute)
		}
		msg := c.Message
		if msg == "" {
			msg = fmt.Sprintf("commit %d", i+1)
		}
		mark := i + 1
		fmt.Fprintf(&st, "commit refs/heads/%s\nmark :%d\n", br, mark)
		fmt.Fprintf(&st, "author Dev <dev@example.com> %d +0000\n", when.Unix())
		fmt.Fprintf(&st, "committer Dev <dev@example.com> %d +0000\n", when.Unix())
		fmt.Fprintf(&st, "data %d\n%s\n", len(msg), msg)
		if from, ok := tips[br]; ok {
			fmt.Fprintf(&st, "from :%d\n", from)
		} else if prev, ok := tips[head]; ok && br != head {
			// A new branch starts from the head branch's tip.
			fmt.Fprintf(&st, "from :%d\n", prev)
		}
		names := make([]string, 0, len(c.Files))
		for n := range c.Files {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			data := c.Files[n]
			if data == nil {
				fmt.Fprintf(&st, "D %s\n", n)
				continue
			}
			fmt.Fprintf(&st, "M 100644 inline %s\ndata %d\n", n, len(data))
			st.Write(data)
			st.WriteByte('\n')
		}
		st.WriteByte('\n')
		tips[br] = mark
	}
	cmd := exec.Command("git", "--git-dir", dir, "fast-import", "--quiet")
	cmd.Stdin = &st
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build repo %s: git fast-import: %w: %s", dir, err, out)
	}
	return nil
}

// Head returns the commit a revision of the bare repository at dir names.
func Head(dir, rev string) (string, error) {
	out, err := gitOut(dir, "rev-parse", "--verify", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("rev-parse %s in %s: %w", rev, dir, err)
	}
	return out, nil
}
