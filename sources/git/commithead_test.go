package git

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/bks-dev/bks/internal/testgit"
)

const (
	tHex = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
	pHex = "0123456789abcdef0123456789abcdef01234567"
	qHex = "89ABCDEF0123456789abcdef0123456789ABCDEF"
)

// oddCommits are raw commit objects git writes, and some it never would,
// for TestCommitHeadMatchesGoGit and the fuzz corpus.
var oddCommits = []string{
	// A root commit, a merge, an octopus.
	"tree " + tHex + "\nauthor A U Thor <a@example.com> 1700000000 +0100\ncommitter C O Mitter <c@example.com> 1700000060 -0730\n\nroot\n",
	"tree " + tHex + "\nparent " + pHex + "\nparent " + qHex + "\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 2 +0000\n\nMerge\n\nbody\n",
	"tree " + tHex + "\nparent " + pHex + "\nparent " + qHex + "\nparent " + pHex + "\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 2 +0000\n\noctopus",
	// gpgsig, mergetag (a continuation holding a blank line), encoding,
	// an extra header continued, gpgsig-sha256.
	"tree " + tHex + "\nparent " + pHex + "\nauthor A <a@x> 1600000000 +0200\ncommitter C <c@x> 1600000001 +0200\nmergetag object " + pHex + "\n type commit\n tag v1\n tagger T <t@x> 5 +0000\n \n signed tag\n -----BEGIN PGP SIGNATURE-----\n xyz\n -----END PGP SIGNATURE-----\nencoding ISO-8859-1\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\nx-extra one\n two\ngpgsig-sha256 zzz\n more\n\nsigned merge\n",
	// Messages: none, no trailing newline, CRLF, leading blank lines.
	"tree " + tHex + "\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 2 +0000\n",
	"tree " + tHex + "\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 2 +0000\n\n",
	"tree " + tHex + "\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 2 +0000\n\nno newline at the end",
	"tree " + tHex + "\r\nauthor A <a@x> 1 +0000\r\ncommitter C <c@x> 2 +0000\r\n\r\nall CRLF\r\n",
	"tree " + tHex + "\nauthor A <a@x> 1 +0000\r\ncommitter C <c@x> 2 +0000\r\n\r\nCRLF headers\r\n\nthen LF\r\n",
	"tree " + tHex + "\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 2 +0000\n\n\n\n  subject after blank lines\r\nbody\n",
	// Out of place: no author, author after committer, a parent after
	// the author, a second tree, upper-case ids.
	"tree " + tHex + "\ncommitter C <c@x> 2 +0000\nauthor A <a@x> 1 +0000\n\nm\n",
	"tree " + tHex + "\nauthor A <a@x> 1 +0000\nparent " + pHex + "\ncommitter C <c@x> 2 +0000\ntree " + pHex + "\n\nm\n",
	"tree " + strings.ToUpper(tHex) + "\nparent " + qHex + "\nauthor A <a@x> 1 +0000\n\nm\n",
	"tree " + tHex + "\nparent " + pHex + "\n\nparents then message\n",
	"tree " + tHex + "\nparent " + pHex,
	"tree " + tHex + "\nauthor A <a@x> 1 +0000",
	"tree " + tHex + "\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 2 +0000",
	"tree " + tHex + "\nfoo bar\ncommitter C <c@x> 2 +0000\n\nm\n",
	"tree " + tHex,
	"tree " + tHex + "\n",
	// Signatures: odd names and times.
	"tree " + tHex + "\nauthor   Spaced  Name   <a@x>   1 +0000\ncommitter <c@x> 2\n\nm\n",
	"tree " + tHex + "\nauthor No Email 1 +0000\ncommitter C >c@x< 2 +0000\n\nm\n",
	"tree " + tHex + "\nauthor A <a@x> abc +0000\ncommitter C <c@x> +42 -0030\n\nm\n",
	"tree " + tHex + "\nauthor A <a@x> -5 +0000\ncommitter C <c@x> 99999999999999999999 +0000\n\nm\n",
	"tree " + tHex + "\nauthor A <a@x> -9223372036854775808 +0000\ncommitter C <c@x> 9223372036854775807 +9999\n\nm\n",
	"tree " + tHex + "\nauthor A <a@x>\ncommitter C <c@x> \n\nm\n",
	"tree " + tHex + "\nauthor A <a@x>x1 +0000\ncommitter C <a<b@x>> 7 +0000\n\nm\n",
	"tree " + tHex + "\nauthor\ncommitter\n\nm\n",
	"tree " + tHex + "\nauthor A <a@x> -62135596800 +0000\ncommitter C <c@x> +-1 +0000\n\nm\n",
	// Refused by go-git: no tree, tree not first, bad ids.
	"",
	"\n",
	"\ntree " + tHex + "\n",
	"author A <a@x> 1 +0000\ntree " + tHex + "\n",
	"tree " + tHex[:39] + "\n",
	"tree " + tHex + "0\n",
	"tree  " + tHex + "\n",
	"tree " + tHex + "\nparent " + pHex[:39] + "g\n",
	"tree " + tHex + "\nparent\n",
	"tree\n",
}

// sameAsGoGit says how parseCommitHead and go-git's Commit.Decode differ
// on data ("" when they agree).
func sameAsGoGit(id plumbing.Hash, data []byte) string {
	var c commitHead
	err := parseCommitHead(id, data, &c)
	g := &object.Commit{}
	gerr := g.Decode(&rawObject{id: id, typ: plumbing.CommitObject, data: data})
	if (err == nil) != (gerr == nil) {
		return fmt.Sprintf("error %v, go-git's %v", err, gerr)
	}
	if err != nil {
		return ""
	}
	var diffs []string
	add := func(field string, got, want any) {
		diffs = append(diffs, fmt.Sprintf("%s %v, go-git's %v", field, got, want))
	}
	if c.hash != g.Hash {
		add("hash", c.hash, g.Hash)
	}
	if c.tree != g.TreeHash {
		add("tree", c.tree, g.TreeHash)
	}
	if !slices.Equal(c.parents, g.ParentHashes) {
		add("parents", c.parents, g.ParentHashes)
	}
	if string(c.author) != g.Author.Name || string(c.email) != g.Author.Email {
		add("author", fmt.Sprintf("%q <%q>", c.author, c.email), fmt.Sprintf("%q <%q>", g.Author.Name, g.Author.Email))
	}
	if !c.authorWhen.Equal(g.Author.When) {
		add("author time", c.authorWhen, g.Author.When)
	}
	if !c.committerWhen.Equal(g.Committer.When) {
		add("committer time", c.committerWhen, g.Committer.When)
	}
	if string(c.message) != g.Message {
		add("message", strconv.Quote(string(c.message)), strconv.Quote(g.Message))
	}
	if firstLineBytes(c.message) != firstLine(g.Message) {
		add("subject", firstLineBytes(c.message), firstLine(g.Message))
	}
	return strings.Join(diffs, "; ")
}

// commitHeadRepos lists the repositories to read every commit of: the
// one built here (what git writes: merges, an octopus, several roots, an
// encoding header; and oddCommits, written as they are), and those
// BKS_COMMITHEAD_REPOS names (a list of paths, for git/git and the
// bench repositories; not read by default).
func commitHeadRepos(t *testing.T) []string {
	r := testgit.New(t, testgit.Options{})
	r.Write("a", "a\n")
	r.Commit("first")
	r.Git("checkout", "-q", "-b", "b1")
	r.Write("b1", "b1\n")
	r.Commit("on b1\r\n\r\nwith CRLF")
	r.Git("checkout", "-q", "-b", "b2", "main")
	r.Write("b2", "b2\n")
	r.Commit("on b2")
	r.Git("checkout", "-q", "--orphan", "b3")
	r.Write("c", "c\n")
	r.Commit("a second root")
	r.Git("checkout", "-q", "main")
	r.Write("m", "m\n")
	r.Commit("on main")
	r.Tick++
	r.Git("merge", "-q", "-m", "octopus", "b1", "b2")
	r.Tick++
	r.Git("merge", "-q", "--allow-unrelated-histories", "-m", "with the second root", "b3")
	r.Tick++
	r.Git("-c", "i18n.commitEncoding=ISO-8859-1", "commit", "-q", "--allow-empty", "-m", "caf\xe9")
	for i, raw := range oddCommits {
		p := filepath.Join(t.TempDir(), strconv.Itoa(i))
		if err := os.WriteFile(p, []byte(raw), 0o644); err != nil {
			t.Fatal(err)
		}
		r.Git("hash-object", "-w", "-t", "commit", "--literally", p)
	}
	repos := []string{r.Dir}
	for _, d := range filepath.SplitList(os.Getenv("BKS_COMMITHEAD_REPOS")) {
		if d != "" {
			repos = append(repos, d)
		}
	}
	return repos
}

// eachCommit calls fn with every commit object of the repository at dir,
// as git cat-file reads it.
func eachCommit(t *testing.T, dir string, fn func(id plumbing.Hash, data []byte)) int {
	list := exec.Command("git", "-C", dir, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectname)")
	list.Env = gitEnv()
	out, err := list.Output()
	if err != nil {
		t.Fatalf("%s: git cat-file: %v", dir, err)
	}
	var ids bytes.Buffer
	for l := range strings.Lines(string(out)) {
		if id, ok := strings.CutPrefix(l, "commit "); ok {
			ids.WriteString(id)
		}
	}
	cat := exec.Command("git", "-C", dir, "cat-file", "--batch")
	cat.Env, cat.Stdin = gitEnv(), &ids
	pipe, err := cat.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.Start(); err != nil {
		t.Fatal(err)
	}
	defer cat.Wait()
	br := bufio.NewReader(pipe)
	n := 0
	for {
		head, err := br.ReadString('\n')
		if err == io.EOF && head == "" {
			return n
		}
		f := strings.Fields(head)
		if err != nil || len(f) != 3 || f[1] != "commit" {
			t.Fatalf("%s: git cat-file --batch said %q (%v)", dir, head, err)
		}
		size, _ := strconv.Atoi(f[2])
		data := make([]byte, size+1)
		if _, err := io.ReadFull(br, data); err != nil {
			t.Fatal(err)
		}
		fn(plumbing.NewHash(f[0]), data[:size])
		n++
	}
}

// parseCommitHead reads every commit of several repositories as go-git's
// Decode reads it, and fails where Decode fails.
func TestCommitHeadMatchesGoGit(t *testing.T) {
	for _, dir := range commitHeadRepos(t) {
		bad := 0
		n := eachCommit(t, dir, func(id plumbing.Hash, data []byte) {
			if d := sameAsGoGit(id, data); d != "" {
				if bad++; bad <= 10 {
					t.Errorf("%s: commit %s %q: %s", dir, id, data, d)
				}
			}
		})
		t.Logf("%s: %d commits", dir, n)
		if n < 10+len(oddCommits)/2 && !strings.Contains(os.Getenv("BKS_COMMITHEAD_REPOS"), dir) {
			t.Errorf("%s: only %d commits read", dir, n)
		}
	}
	for i, raw := range oddCommits {
		if d := sameAsGoGit(plumbing.Hash{1}, []byte(raw)); d != "" {
			t.Errorf("oddCommits[%d] %q: %s", i, raw, d)
		}
	}
}

// FuzzCommitHead: on any input parseCommitHead does not panic, and
// agrees with go-git's Decode.
func FuzzCommitHead(f *testing.F) {
	for _, raw := range oddCommits {
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if d := sameAsGoGit(plumbing.Hash{7}, data); d != "" {
			t.Errorf("%q: %s", data, d)
		}
	})
}
