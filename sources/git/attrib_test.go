package git

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/internal/testgit"
)

// The in-process attribution walk (attrib.go) against its oracle, the git
// log walk (fast.go): on generated histories (merges that bring content of
// their own, renames, reverts, one blob at two paths, octopus and
// criss-cross merges, symlinks, gitlinks, notes, tags, refs naming a tree
// or a blob, detached HEAD, packed with deltas or not), on bks's own
// repository, and under go test -fuzz over random commit DAGs.

// attribution is every blob's origin as one walk gives it, in order: the
// blob id and the whole location (every field) as JSON.
func attribution(t testing.TB, dir string, inProcess bool, want map[plumbing.Hash]bool) []string {
	t.Helper()
	ctx := context.Background()
	repo, closeRepo, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRepo()
	var problems []string
	s := New(Options{
		Path: dir, Reader: ReaderGit, Matcher: detectors.New(detectors.Options{}),
		OnError: func(path string, err error) { problems = append(problems, path+": "+err.Error()) },
		Warn:    func(msg string) { problems = append(problems, msg) },
	})
	h, err := newHistory(ctx, s, repo, dir, "repo")
	if err != nil {
		t.Fatal(err)
	}
	defer h.closeStore()
	if h.store == nil {
		t.Fatal("the object store was not opened")
	}
	h.objs = h.store.NewReader()
	err = h.collectGit(ctx, nil)
	h.objs = nil
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	add := func(r record) error {
		if _, ok := want[r.blob]; want != nil && !ok {
			return nil
		}
		j, err := json.Marshal(h.recOrigin(&r))
		out = append(out, r.blob.String()+" "+string(j))
		return err
	}
	if inProcess {
		err = h.attributeStore(ctx, want, add)
	} else {
		if err = h.walkHeadAndBoundary(ctx); err == nil {
			err = h.walkRecords(ctx, add)
		}
	}
	if err != nil {
		t.Fatalf("in process %v: %v", inProcess, err)
	}
	if len(problems) > 0 {
		t.Fatalf("in process %v: %q", inProcess, problems)
	}
	return out
}

// sameAttribution compares both walks over every blob, then over a few
// subsets (the in-process walk stops early).
func sameAttribution(t testing.TB, dir string, seed uint64) {
	t.Helper()
	oracle := attribution(t, dir, false, nil)
	got := attribution(t, dir, true, nil)
	if !slices.Equal(got, oracle) {
		t.Fatalf("in-process attribution differs from git log's (%d and %d records):\n%s", len(got), len(oracle), firstDiff(got, oracle))
	}
	// Cut into parts walked at once (walkCommitTrees), as long histories are.
	defer func(n, procs int) { logSplitMin = n; runtime.GOMAXPROCS(procs) }(logSplitMin, runtime.GOMAXPROCS(4))
	logSplitMin = 4
	if got := attribution(t, dir, true, nil); !slices.Equal(got, oracle) {
		t.Fatalf("in-process attribution in parts differs from git log's (%d and %d records):\n%s", len(got), len(oracle), firstDiff(got, oracle))
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	for range 3 {
		want := map[plumbing.Hash]bool{}
		var sub []string
		for _, line := range oracle {
			if rng.IntN(4) == 0 {
				want[plumbing.NewHash(line[:40])] = true
				sub = append(sub, line)
			}
		}
		if len(want) == 0 {
			continue
		}
		if got := attribution(t, dir, true, want); !slices.Equal(got, sub) {
			t.Fatalf("in-process attribution of %d blobs differs:\n%s", len(want), firstDiff(got, sub))
		}
		// The holding set made again after each tree read in vain.
		recheckAfter = 1
		got := attribution(t, dir, true, want)
		recheckAfter = 32
		if !slices.Equal(got, sub) {
			t.Fatalf("in-process attribution of %d blobs, holding set made again, differs:\n%s", len(want), firstDiff(got, sub))
		}
	}
}

func firstDiff(got, want []string) string {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("record %d:\n in process: %s\n git log:    %s", i, g, w)
		}
	}
	return ""
}

// genHistory writes a repository in dir from prog, a byte program: each
// step reads an operation and its arguments from it (0 when it is spent).
func genHistory(t testing.TB, dir string, prog []byte) *histGen {
	t.Helper()
	r := testgit.Open(t, dir, testgit.Options{})
	r.Git("init", "-q", "-b", "main")
	g := &histGen{prog: prog, branches: []*genBranch{{name: "main", files: map[string]genFile{}}}}
	g.run()
	g.out.WriteString("done\n")
	cmd := exec.Command("git", "fast-import", "--quiet", "--done")
	cmd.Dir, cmd.Env, cmd.Stdin = dir, r.Env(), &g.out
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git fast-import: %v: %s", err, out)
	}
	g.finish(r)
	return g
}

type genFile struct {
	mode    string // 100644, 100755, 120000, 160000
	content string // for a gitlink: a commit id
}

type genBranch struct {
	name  string
	tip   int // mark; 0: no commit yet
	files map[string]genFile
}

type histGen struct {
	prog     []byte
	out      bytes.Buffer
	branches []*genBranch
	marks    int
	when     int64
	objRefs  int // refs naming a tree or a blob, set once imported
	// counts of what was made, to check the corpus covers it
	merges, octopus, crissCross int
}

// next returns the program's next byte mod n (0 once it is spent).
func (g *histGen) next(n int) int {
	if len(g.prog) == 0 {
		return 0
	}
	b := g.prog[0]
	g.prog = g.prog[1:]
	return int(b) % n
}

var genPaths = []string{"a", "b.txt", "d/x", "d/y", "d/e/z", "d/e/w", "q", "q/r", "a.b", "a/c"}

// genContents are few, so that blobs recur: at two paths, after a revert.
func genContent(n int) string { return fmt.Sprintf("content %d\n", n) }

func (g *histGen) run() {
	for steps := 0; len(g.prog) > 0 && steps < 200; steps++ {
		switch op := g.next(8); op {
		case 0, 1, 2: // a commit on a branch
			b := g.branches[g.next(len(g.branches))]
			g.edit(b, 1+g.next(3))
			g.commit(b, nil)
		case 3: // a new branch from another
			if len(g.branches) < 5 {
				from := g.branches[g.next(len(g.branches))]
				b := &genBranch{name: fmt.Sprintf("b%d", len(g.branches)), tip: from.tip, files: maps(from.files)}
				g.branches = append(g.branches, b)
				if b.tip != 0 {
					fmt.Fprintf(&g.out, "reset refs/heads/%s\nfrom :%d\n\n", b.name, b.tip)
				}
			}
		case 4, 5: // a merge: of two branches, or an octopus
			g.merge(2 + g.next(3)/2)
		case 6: // criss-cross: A and B merge each other's old tips
			a, b := g.branches[g.next(len(g.branches))], g.branches[g.next(len(g.branches))]
			if a == b || a.tip == 0 || b.tip == 0 {
				continue
			}
			ta, tb, fa := a.tip, b.tip, maps(a.files)
			g.takeSome(a, b.files)
			g.commit(a, []int{tb})
			g.takeSome(b, fa)
			b.tip = tb
			g.commit(b, []int{ta})
			g.crissCross++
		case 7: // a ref to a blob or a tree
			g.objRefs++
		}
	}
}

// edit changes n files of b: adds, modifies, deletes, renames, reverts.
func (g *histGen) edit(b *genBranch, n int) {
	for range n {
		p := genPaths[g.next(len(genPaths))]
		switch g.next(6) {
		case 0: // delete
			delete(b.files, p)
		case 1: // rename
			if f, ok := b.files[p]; ok {
				delete(b.files, p)
				setFile(b.files, genPaths[g.next(len(genPaths))], f)
			}
		case 2: // a mode of its own
			modes := []string{"100755", "120000", "160000"}
			m := modes[g.next(len(modes))]
			c := genContent(g.next(6))
			if m == "160000" {
				c = fmt.Sprintf("%040x", 1+g.next(4))
			}
			setFile(b.files, p, genFile{m, c})
		default: // content from a small pool
			setFile(b.files, p, genFile{"100644", genContent(g.next(12))})
		}
	}
}

// setFile sets p, removing what conflicts with it (a file where p needs a
// directory, files under p).
func setFile(files map[string]genFile, p string, f genFile) {
	for q := range files {
		if strings.HasPrefix(p, q+"/") || strings.HasPrefix(q, p+"/") {
			delete(files, q)
		}
	}
	files[p] = f
}

func maps(m map[string]genFile) map[string]genFile {
	c := make(map[string]genFile, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// takeSome copies some of from's files into b.
func (g *histGen) takeSome(b *genBranch, from map[string]genFile) {
	for _, p := range sortedKeys(from) {
		if g.next(2) == 0 {
			setFile(b.files, p, from[p])
		}
	}
}

func sortedKeys(m map[string]genFile) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// merge merges k branches into the first one picked; its tree takes some
// files from each, and sometimes content of its own.
func (g *histGen) merge(k int) {
	into := g.branches[g.next(len(g.branches))]
	var parents []int
	for _, b := range g.branches {
		if len(parents) == k-1 {
			break
		}
		if b != into && b.tip != 0 && b.tip != into.tip && !slices.Contains(parents, b.tip) && g.next(2) == 0 {
			parents = append(parents, b.tip)
			g.takeSome(into, b.files)
		}
	}
	if into.tip == 0 || len(parents) == 0 {
		return
	}
	if g.next(2) == 0 {
		g.edit(into, 1) // an evil merge: content no parent has
	}
	g.commit(into, parents)
	g.merges++
	if len(parents) > 1 {
		g.octopus++
	}
}

// commit writes b's files as a commit on b, with merge parents.
func (g *histGen) commit(b *genBranch, merges []int) {
	g.marks++
	mark := g.marks
	// Committer times go back as well as forward, and repeat: the
	// topological order breaks ties by date, then id.
	g.when += int64(g.next(5)-1) * 60
	fmt.Fprintf(&g.out, "commit refs/heads/%s\nmark :%d\n", b.name, mark)
	fmt.Fprintf(&g.out, "author A U <a@example.com> %d +0000\ncommitter C O <c@example.com> %d +0000\n", 1700000000+g.when, 1700000000+g.when)
	msg := fmt.Sprintf("commit %d", mark)
	fmt.Fprintf(&g.out, "data %d\n%s\n", len(msg), msg)
	if b.tip != 0 {
		fmt.Fprintf(&g.out, "from :%d\n", b.tip)
	}
	for _, m := range merges {
		fmt.Fprintf(&g.out, "merge :%d\n", m)
	}
	g.out.WriteString("deleteall\n")
	for _, p := range sortedKeys(b.files) {
		f := b.files[p]
		if f.mode == "160000" {
			fmt.Fprintf(&g.out, "M 160000 %s %s\n", f.content, p)
			continue
		}
		fmt.Fprintf(&g.out, "M %s inline %s\ndata %d\n%s\n", f.mode, p, len(f.content), f.content)
	}
	b.tip = mark
	if g.next(6) == 0 { // a note on it
		note := fmt.Sprintf("note %d\n", g.next(3))
		fmt.Fprintf(&g.out, "commit refs/notes/commits\ncommitter C O <c@example.com> %d +0000\ndata 4\nnote\nN inline :%d\ndata %d\n%s\n", 1700000000+g.when, mark, len(note), note)
	}
	if g.next(8) == 0 { // an annotated tag
		fmt.Fprintf(&g.out, "tag t%d\nfrom :%d\ntagger T G <t@example.com> %d +0000\ndata 3\ntag\n", mark, mark, 1700000000+g.when)
	}
}

// finish ends the import, then sets what fast-import cannot: refs naming
// a tree or a blob, HEAD (sometimes detached), and sometimes a repack.
func (g *histGen) finish(r *testgit.Repo) {
	for i := range min(g.objRefs, 2) {
		if g.branches[0].tip == 0 {
			break
		}
		// Main's tree, then a blob of it (which main's commits have too:
		// the ref's own path is used only for what no commit has).
		target := r.Git("rev-parse", "main^{tree}")
		if f := strings.Fields(r.Git("ls-tree", "main")); i == 1 && len(f) >= 3 && f[1] == "blob" {
			target = f[2]
		}
		r.Git("update-ref", fmt.Sprintf("refs/tags/obj%d", i), target)
	}
	if g.next(4) == 0 && g.branches[len(g.branches)-1].tip != 0 {
		r.Git("update-ref", "--no-deref", "HEAD", "refs/heads/"+g.branches[len(g.branches)-1].name)
	}
	if g.next(2) == 0 {
		r.Git("repack", "-adfq", "--depth=4", "--window=20")
	}
}

// genProg is a random program for genHistory.
func genProg(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	prog := make([]byte, n)
	for i := range prog {
		prog[i] = byte(rng.UintN(256))
	}
	return prog
}

func TestAttributionEquivalence(t *testing.T) {
	testgit.Need(t)
	seeds := 24
	if testing.Short() {
		seeds = 8
	}
	var merges, octopus, crissCross, refs int
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			dir := t.TempDir()
			prog := genProg(seed, 400)
			g := genHistory(t, dir, prog)
			merges, octopus, crissCross, refs = merges+g.merges, octopus+g.octopus, crissCross+g.crissCross, refs+g.objRefs
			sameAttribution(t, dir, seed)
		})
	}
	// The corpus holds what the walks must agree on.
	if merges < seeds || octopus < 3 || crissCross < 3 || refs < 3 {
		t.Errorf("generated %d merges, %d octopus merges, %d criss-cross merges, %d refs to trees or blobs: too few", merges, octopus, crissCross, refs)
	}
}

// bks's own repository, when the tests run in a clone of it.
func TestAttributionOwnRepository(t *testing.T) {
	testgit.Need(t)
	if testing.Short() {
		t.Skip("-short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("not in a git checkout")
	}
	sameAttribution(t, root, 1)
}

// FuzzAttribution: random commit DAGs (go test -fuzz=FuzzAttribution).
func FuzzAttribution(f *testing.F) {
	testgit.Need(f)
	for seed := range uint64(4) {
		f.Add(genProg(100+seed, 120))
	}
	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) > 600 {
			return
		}
		dir := t.TempDir()
		genHistory(t, dir, prog)
		sameAttribution(t, dir, uint64(len(prog)))
	})
}

// A partial clone without trees (--filter=tree:0) whose key blob was
// fetched: the blob scan finds it, the in-process walk cannot read the
// trees and hands over to the git log walk, and the scan ends as it did
// with the git log walk alone (which, bks never fetching, cannot read them
// either: the go-git walk reports each missing tree).
func TestAttributionFallsBackToGitLog(t *testing.T) {
	testgit.Need(t)
	src := newTestRepo(t)
	src.Git("config", "uploadpack.allowFilter", "true")
	src.Git("config", "uploadpack.allowAnySHA1InWant", "true")
	src.Write("a.txt", "x\n")
	src.Commit("one")
	src.Write("d/b.txt", "AWS_BEARER_TOKEN_BEDROCK="+key(80)+"\n")
	c2 := src.Commit("two")
	src.Write("a.txt", "y\n")
	src.Commit("three")
	blob := src.Git("rev-parse", c2+":d/b.txt")
	dir := filepath.Join(t.TempDir(), "partial")
	src.Git("clone", "-q", "--no-checkout", "--filter=tree:0", "file://"+src.Dir, dir)
	src.At(dir).Git("cat-file", "-e", blob) // fetched from the promisor remote

	got := scanRepo(t, Options{Path: dir, Reader: readerGitPrefilter})
	if !slices.ContainsFunc(got.warns, func(w string) bool { return strings.Contains(w, "attributing with git log") }) {
		t.Errorf("warnings %q: want the hand-over to git log", got.warns)
	}
	want := scanRepo(t, Options{Path: dir, Reader: readerGitPrefilter, logAttribution: true})
	if len(got.found) != len(want.found) || !slices.Equal(got.errs, want.errs) {
		t.Errorf("in process, then git log: findings %d, errors %q\ngit log alone: findings %d, errors %q", len(got.found), got.errs, len(want.found), want.errs)
	}
	if len(got.errs) == 0 {
		t.Errorf("no error: the missing trees are not reported")
	}
}
