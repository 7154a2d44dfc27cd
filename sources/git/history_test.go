package git

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testgit"
	"github.com/bks-dev/bks/scan"
)

// buildHistory makes a repository where a key hides in every corner of git
// the issue names, and returns where each must be reported.
func buildHistory(t *testing.T) (*testRepo, map[string]result) {
	r := newTestRepo(t)
	want := map[string]result{}
	r.Write("README.md", "hello\n")
	r.Commit("initial")

	// 1. Added, then deleted.
	r.Write("config/keys.env", "X=1\nAWS_BEARER_TOKEN_BEDROCK="+key(1)+"\n")
	c := r.Commit("add config")
	want[key(1)] = result{Commit: c, Path: "config/keys.env", InHead: boolp(false), Line: 2}
	r.Git("rm", "-q", "config/keys.env")
	r.Commit("remove config")

	// 2. In a file renamed afterwards: reported at its first path.
	r.Write("old/name.txt", "token: "+key(2)+"\n")
	c = r.Commit("add name")
	want[key(2)] = result{Commit: c, Path: "old/name.txt", InHead: boolp(true), Line: 1}
	r.Git("mv", "old", "new")
	r.Commit("rename")

	// 3. In a commit message.
	c = r.Commit("debug: tried " + key(3) + "\n\nbody")
	want[key(3)] = result{Commit: c, Kind: "commit-message", Line: 1}

	// 4. Only on an unmerged branch.
	r.Git("checkout", "-q", "-b", "feature")
	r.Write("feature.go", "const k = \""+key(4)+"\"\n")
	c = r.Commit("feature work")
	want[key(4)] = result{Commit: c, Path: "feature.go", InHead: boolp(false), Line: 1}
	r.Git("checkout", "-q", "main")

	// 5. Reachable only from a (lightweight) tag; 6. in an annotated tag's message.
	r.Git("checkout", "-q", "-b", "tmp")
	r.Write("tagged.txt", key(5)+"\n")
	c = r.Commit("tagged only")
	want[key(5)] = result{Commit: c, Path: "tagged.txt", InHead: boolp(false), Line: 1}
	r.Git("tag", "only-here")
	r.Git("checkout", "-q", "main")
	r.Git("branch", "-q", "-D", "tmp")
	r.Tick++
	head := r.Git("rev-parse", "HEAD")
	r.Git("tag", "-a", "v1.0", "-m", "release\n\nsigned with "+key(6))
	want[key(6)] = result{Commit: head, Path: "refs/tags/v1.0", Kind: "tag-message", Line: 3, Author: "Cy Committer"}

	// 7. Introduced by a merge commit (the resolution adds it).
	r.Git("checkout", "-q", "-b", "side")
	r.Write("side.txt", "side\n")
	r.Commit("side work")
	r.Git("checkout", "-q", "main")
	r.Write("main.txt", "main\n")
	r.Commit("main work")
	r.Tick++
	r.Git("merge", "-q", "--no-ff", "--no-commit", "side")
	r.Write("merged.txt", "a\nb\n"+key(7)+"\n")
	r.Git("add", "merged.txt")
	r.Git("commit", "-q", "-m", "Merge side")
	c = r.Git("rev-parse", "HEAD")
	want[key(7)] = result{Commit: c, Path: "merged.txt", InHead: boolp(true), Line: 3}

	// 8. In the stash (an older stash entry, only in the stash reflog),
	// and 9. the newest stash.
	r.Write("README.md", "hello\n"+key(8)+"\n")
	r.Tick++
	r.Git("stash", "-q")
	stash1 := r.Git("rev-parse", "refs/stash")
	want[key(8)] = result{Commit: stash1, Path: "README.md", InHead: boolp(false), Line: 2}
	r.Write("README.md", "hello\n\n"+key(9)+"\n")
	r.Tick++
	r.Git("stash", "-q")
	stash0 := r.Git("rev-parse", "refs/stash")
	want[key(9)] = result{Commit: stash0, Path: "README.md", InHead: boolp(false), Line: 3}

	// 10. In a git note.
	r.Tick++
	r.Git("notes", "add", "-m", "ops: "+key(10), "HEAD")
	c = r.Git("rev-parse", "refs/notes/commits")
	want[key(10)] = result{Commit: c, Path: r.Git("rev-parse", "HEAD"), InHead: boolp(false), Line: 1}

	return r, want
}

func checkFound(t *testing.T, out *scanOut, want map[string]result) {
	t.Helper()
	for k, w := range want {
		fs := out.byKey[k]
		if len(fs) == 0 {
			t.Errorf("key %s (want commit %.8s path %q kind %q) not found", k[:12], w.Commit, w.Path, w.Kind)
			continue
		}
		if len(fs) != 1 {
			t.Errorf("key %s found %d times, want once", k[:12], len(fs))
		}
		f := fs[0]
		if f.Commit != w.Commit || f.Path != w.Path || f.Kind != w.Kind || (w.Line != 0 && f.Line != w.Line) {
			t.Errorf("key %s at commit %.8s path %q kind %q line %d; want %.8s %q %q line %d", k[:12], f.Commit, f.Path, f.Kind, f.Line, w.Commit, w.Path, w.Kind, w.Line)
		}
		if (f.InHead == nil) != (w.InHead == nil) || (f.InHead != nil && *f.InHead != *w.InHead) {
			t.Errorf("key %s in_head = %v, want %v", k[:12], ptr(f.InHead), ptr(w.InHead))
		}
		author := w.Author
		if author == "" {
			author = "Ann Author"
		}
		if f.Author != author || f.Email == "" || f.Date == nil || f.Message == "" {
			t.Errorf("key %s: attribution incomplete: %q %q %v %q", k[:12], f.Author, f.Email, f.Date, f.Message)
		}
	}
	if len(out.byKey) != len(want) {
		t.Errorf("found %d distinct keys, want %d", len(out.byKey), len(want))
	}
	if len(out.errs) > 0 {
		t.Errorf("errors: %v", out.errs)
	}
}

func ptr(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func TestHistoryFindsEveryCorner(t *testing.T) {
	r, want := buildHistory(t)
	readers(t, func(t *testing.T, reader string) {
		out := scanRepo(t, Options{Path: r.Dir, Reader: reader})
		checkFound(t, out, want)
		wantReader := ReaderGit
		if reader == ReaderGoGit {
			wantReader = ReaderGoGit
		}
		if out.stats.Reader != wantReader {
			t.Errorf("reader used = %q, want %q", out.stats.Reader, wantReader)
		}
		if inProcess := reader == readerGitPrefilter; out.stats.Packs != inProcess {
			t.Errorf("blobs read in process: %v, want %v (stats %+v)", out.stats.Packs, inProcess, out.stats)
		}
	})
}

// A key in a blob stored as a delta in a pack made by git gc --aggressive.
func TestHistoryPackedDelta(t *testing.T) {
	r := newTestRepo(t)
	var body strings.Builder
	for i := range 400 {
		body.WriteString("line of configuration number ")
		body.WriteString(strings.Repeat("x", i%7))
		body.WriteString("\n")
	}
	base := body.String()
	r.Write("big.conf", base)
	r.Commit("base")
	r.Write("big.conf", base+"key = "+key(20)+"\n")
	c := r.Commit("add key")
	r.Write("big.conf", base+strings.Repeat("# removed, and the file grew\n", 80))
	r.Commit("remove key")
	r.Git("gc", "-q", "--aggressive", "--prune=now")
	blob := r.Git("rev-parse", c+":big.conf")
	// The key's blob must really be a delta in the pack.
	idx, err := filepath.Glob(filepath.Join(r.Dir, ".git/objects/pack/*.idx"))
	if err != nil || len(idx) != 1 {
		t.Fatalf("pack index: %v %v", idx, err)
	}
	vp := r.Git("verify-pack", "-v", idx[0])
	isDelta := false
	for _, line := range strings.Split(vp, "\n") {
		f := strings.Fields(line)
		if len(f) >= 7 && f[0] == blob {
			isDelta = true // delta lines carry depth and base id
		}
	}
	if !isDelta {
		t.Fatalf("blob %s is not stored as a delta:\n%s", blob, vp)
	}
	readers(t, func(t *testing.T, reader string) {
		out := scanRepo(t, Options{Path: r.Dir, Reader: reader})
		checkFound(t, out, map[string]result{key(20): {Commit: c, Path: "big.conf", InHead: boolp(false), Line: 401}})
	})
}

func TestHistoryRangeSinceBranch(t *testing.T) {
	r := newTestRepo(t)
	r.Write("a.txt", key(30)+"\n")
	c1 := r.Commit("one")
	r.Write("b.txt", key(31)+"\n")
	c2 := r.Commit("two")
	r.Git("rm", "-q", "a.txt")
	c3 := r.Commit("three")
	r.Write("a.txt", key(30)+"\n") // re-added: introduced again by this range
	c4 := r.Commit("four")
	r.Write("c.txt", key(32)+"\n")
	c5 := r.Commit("five " + key(33))
	r.Git("checkout", "-q", "-b", "other", c1)
	r.Write("o.txt", key(34)+"\n")
	c6 := r.Commit("other")
	r.Git("checkout", "-q", "main")

	cases := []struct {
		name string
		opts Options
		want map[string]result
	}{
		// a.txt is not in c3: c4 adds it again.
		{"range", Options{Range: c3 + "..main"}, map[string]result{
			key(30): {Commit: c4, Path: "a.txt", InHead: boolp(true)},
			key(32): {Commit: c5, Path: "c.txt", InHead: boolp(true)},
			key(33): {Commit: c5, Kind: "commit-message"},
		}},
		// c2 still has a.txt: re-adding it in the range is not new.
		{"range-base-has-it", Options{Range: c2 + "..main"}, map[string]result{
			key(32): {Commit: c5, Path: "c.txt", InHead: boolp(true)},
			key(33): {Commit: c5, Kind: "commit-message"},
		}},
		{"range-empty", Options{Range: c5 + ".." + c5}, map[string]result{}},
		{"since", Options{Since: mustTime(t, r, c5)}, map[string]result{
			key(32): {Commit: c5, Path: "c.txt", InHead: boolp(true)},
			key(33): {Commit: c5, Kind: "commit-message"},
			key(34): {Commit: c6, Path: "o.txt", InHead: boolp(false)},
		}},
		{"branch", Options{Branch: "other"}, map[string]result{
			key(30): {Commit: c1, Path: "a.txt", InHead: boolp(true)},
			key(34): {Commit: c6, Path: "o.txt", InHead: boolp(false)},
		}},
		// a new branch pushed: only what no other ref has (bks serve).
		{"branch-exclude", Options{Branch: "other", Exclude: []string{"refs/heads/main"}}, map[string]result{
			key(34): {Commit: c6, Path: "o.txt", InHead: boolp(false)},
		}},
		{"range-exclude", Options{Range: c1 + "..main", Exclude: []string{c3}}, map[string]result{
			key(30): {Commit: c4, Path: "a.txt", InHead: boolp(true)},
			key(32): {Commit: c5, Path: "c.txt", InHead: boolp(true)},
			key(33): {Commit: c5, Kind: "commit-message"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			readers(t, func(t *testing.T, reader string) {
				opts := tc.opts
				opts.Path, opts.Reader = r.Dir, reader
				checkFound(t, scanRepo(t, opts), tc.want)
			})
		})
	}
	t.Run("exclude-alone", func(t *testing.T) {
		_, err := scanErr(Options{Path: r.Dir, Exclude: []string{"main"}})
		if err == nil || !strings.Contains(err.Error(), "Exclude") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("bad-range", func(t *testing.T) {
		_, err := scanErr(Options{Path: r.Dir, Range: "nope..main"})
		if err == nil || !strings.Contains(err.Error(), "nope") {
			t.Errorf("err = %v", err)
		}
	})
}

func mustTime(t *testing.T, r *testRepo, commit string) time.Time {
	t.Helper()
	s := r.Git("show", "-s", "--format=%cI", commit)
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestHistoryBareWorktreeShallow(t *testing.T) {
	r := newTestRepo(t)
	r.Write("a.txt", key(40)+"\n")
	c1 := r.Commit("one")
	r.Write("b.txt", key(41)+"\n")
	c2 := r.Commit("two")
	r.Write("c.txt", "clean\n")
	c3 := r.Commit("three")
	all := map[string]result{
		key(40): {Commit: c1, Path: "a.txt", InHead: boolp(true)},
		key(41): {Commit: c2, Path: "b.txt", InHead: boolp(true)},
	}
	parent := filepath.Dir(r.Dir)
	t.Run("bare", func(t *testing.T) {
		bare := filepath.Join(t.TempDir(), "bare.git")
		testgit.Run(t, parent, r.Env(), "clone", "-q", "--bare", r.Dir, bare)
		checkFound(t, scanRepo(t, Options{Path: bare}), all)
	})
	t.Run("dotgit", func(t *testing.T) {
		checkFound(t, scanRepo(t, Options{Path: filepath.Join(r.Dir, ".git")}), all)
	})
	t.Run("worktree", func(t *testing.T) {
		wt := filepath.Join(t.TempDir(), "wt")
		r.Git("worktree", "add", "-q", "-b", "wtb", wt, c2)
		out := scanRepo(t, Options{Path: wt})
		checkFound(t, out, all)
	})
	t.Run("shallow", func(t *testing.T) {
		sh := filepath.Join(t.TempDir(), "shallow")
		testgit.Run(t, parent, r.Env(), "clone", "-q", "--depth", "1", "file://"+r.Dir, sh)
		readers(t, func(t *testing.T, reader string) {
			out := scanRepo(t, Options{Path: sh, Reader: reader})
			// The one commit there holds both files.
			checkFound(t, out, map[string]result{
				key(40): {Commit: c3, Path: "a.txt", InHead: boolp(true)},
				key(41): {Commit: c3, Path: "b.txt", InHead: boolp(true)},
			})
			if len(out.warns) == 0 || !strings.Contains(out.warns[0], "shallow") {
				t.Errorf("no shallow warning: %v", out.warns)
			}
		})
	})
}

func TestHistoryCorrupt(t *testing.T) {
	r := newTestRepo(t)
	r.Write("a.txt", key(50)+"\n")
	r.Commit("one")
	r.Write("b.txt", key(51)+"\n")
	c2 := r.Commit("two")
	r.Write("c.txt", key(52)+"\n")
	c3 := r.Commit("three")
	t.Run("missing-object", func(t *testing.T) {
		readers(t, func(t *testing.T, reader string) {
			dir := t.TempDir()
			testgit.Run(t, dir, r.Env(), "clone", "-q", "--no-local", r.Dir, "c")
			dir = filepath.Join(dir, "c")
			blob := testgit.Run(t, dir, r.Env(), "rev-parse", c2+":b.txt")
			explode(t, dir)
			if err := os.Remove(filepath.Join(dir, ".git/objects", blob[:2], blob[2:])); err != nil {
				t.Fatal(err)
			}
			// And one corrupt object: its zlib stream is garbage.
			bad := testgit.Run(t, dir, r.Env(), "rev-parse", c3+":c.txt")
			badPath := filepath.Join(dir, ".git/objects", bad[:2], bad[2:])
			os.Chmod(badPath, 0o644)
			if err := os.WriteFile(badPath, []byte("garbage"), 0o644); err != nil {
				t.Fatal(err)
			}
			out := scanRepo(t, Options{Path: dir, Reader: reader})
			if len(out.byKey[key(50)]) != 1 || len(out.byKey[key(52)]) != 0 || len(out.byKey[key(51)]) != 0 {
				t.Errorf("found %v", out.keys())
			}
			if !containsAll(out.errs, blob) || !containsAll(out.errs, bad) || len(out.errs) != 2 {
				t.Errorf("want one error naming %s and one naming %s: %q", blob, bad, out.errs)
			}
		})
	})
	t.Run("truncated-pack", func(t *testing.T) {
		readers(t, func(t *testing.T, reader string) {
			dir := t.TempDir()
			testgit.Run(t, dir, r.Env(), "clone", "-q", "--no-local", r.Dir, "c")
			dir = filepath.Join(dir, "c")
			packs, _ := filepath.Glob(filepath.Join(dir, ".git/objects/pack/*.pack"))
			if len(packs) != 1 {
				t.Fatalf("packs: %v", packs)
			}
			// A later commit is loose and must still be scanned.
			wr := r.At(dir)
			wr.Tick = 100
			wr.Write("d.txt", key(53)+"\n")
			c4 := wr.Commit("four")
			st, _ := os.Stat(packs[0])
			if err := os.Truncate(packs[0], st.Size()/2); err != nil {
				t.Fatal(err)
			}
			out := scanRepo(t, Options{Path: dir, Reader: reader})
			if f := out.byKey[key(53)]; len(f) != 1 || f[0].Commit != c4 {
				t.Errorf("loose key after a truncated pack: %+v (errs %v)", f, out.errs)
			}
			if len(out.errs) == 0 {
				t.Errorf("no error for the truncated pack")
			}
			for _, e := range out.errs {
				if !strings.Contains(e, "object") && !strings.Contains(e, "blob") && !strings.Contains(e, "tree") && !strings.Contains(e, "commit") {
					t.Errorf("error does not name the object: %s", e)
				}
			}
			t.Logf("errors: %q warnings: %q", out.errs, out.warns)
		})
	})
}

// explode turns the repository's packs into loose objects.
func explode(t *testing.T, dir string) {
	t.Helper()
	packs, _ := filepath.Glob(filepath.Join(dir, ".git/objects/pack/*.pack"))
	for _, p := range packs {
		moved := filepath.Join(t.TempDir(), filepath.Base(p))
		if err := os.Rename(p, moved); err != nil {
			t.Fatal(err)
		}
		os.Remove(strings.TrimSuffix(p, ".pack") + ".idx")
		os.Remove(strings.TrimSuffix(p, ".pack") + ".rev")
		f, err := os.Open(moved)
		if err != nil {
			t.Fatal(err)
		}
		cmd := execGit(dir, "unpack-objects", "-q")
		cmd.Stdin = f
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("unpack-objects: %v %s", err, out)
		}
		f.Close()
	}
}

func containsAll(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func execGit(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	return cmd
}

func scanErr(opts Options) ([]findings.Finding, error) {
	eng := detectors.New(detectors.Options{})
	var out []findings.Finding
	err := scan.Run(context.Background(), New(opts), eng, func(f findings.Finding) error {
		out = append(out, f)
		return nil
	})
	return out, err
}

// Blobs still at HEAD are yielded before all others, whatever the history
// order: a consumer then knows a key is at HEAD before it meets the key in
// older blobs (in_head is per key; see internal/cli runDetect).
func TestHistoryHeadBlobsFirst(t *testing.T) {
	r := newTestRepo(t)
	r.Write("b.txt", "x\n"+key(60)+"\n")
	r.Write("gone.txt", key(61)+"\n")
	r.Commit("old b")
	r.Write("b.txt", "x\n")
	r.Git("rm", "-q", "gone.txt")
	r.Commit("edit b")
	r.Write("a.txt", key(60)+"\n")
	r.Write("c.txt", key(62)+"\n")
	r.Commit("add a")
	readers(t, func(t *testing.T, reader string) {
		out := scanRepo(t, Options{Path: r.Dir, Reader: reader})
		var order []string
		seenOld := false
		for _, f := range out.found {
			order = append(order, fmt.Sprintf("%s:%v", f.Path, ptr(f.InHead)))
			if f.InHead == nil {
				continue
			}
			if !*f.InHead {
				seenOld = true
			} else if seenOld {
				t.Errorf("a HEAD blob came after an older one: %v", order)
			}
		}
		if len(out.found) != 4 {
			t.Errorf("findings: %v", order)
		}
	})
}

// git log in parts (as for long histories): the same findings as in one.
func TestHistoryLogInParts(t *testing.T) {
	defer func(n int) { logSplitMin = n }(logSplitMin)
	logSplitMin = 2
	r, want := buildHistory(t)
	// The same blob in an early and in a late commit's diff, which land
	// in different parts: the early one introduced it.
	again := newTestRepo(t)
	again.Write("a.env", key(90)+"\n")
	first := again.Commit("added")
	for i := range 10 {
		again.Write("filler.txt", strings.Repeat("x\n", i+1))
		again.Commit("filler")
	}
	again.Git("rm", "-q", "a.env")
	again.Commit("removed")
	for i := range 10 {
		again.Write("filler.txt", strings.Repeat("y\n", i+1))
		again.Commit("filler")
	}
	again.Write("b.env", key(90)+"\n")
	again.Commit("added again elsewhere")
	for _, reader := range []string{ReaderGit, readerGitPrefilter} {
		t.Run(reader, func(t *testing.T) {
			out := scanRepo(t, Options{Path: again.Dir, Reader: reader})
			checkFound(t, out, map[string]result{key(90): {Commit: first, Path: "a.env", InHead: boolp(true)}})
			out = scanRepo(t, Options{Path: r.Dir, Reader: reader})
			checkFound(t, out, want)
			if !out.stats.Attributed {
				t.Errorf("the attribution walk did not run: %+v", out.stats)
			}
		})
	}
}
