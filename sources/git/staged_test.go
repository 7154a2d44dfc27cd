package git

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testgit"
	"github.com/bks-dev/bks/scan"
	"github.com/bks-dev/bks/sources"
)

func scanStaged(t testing.TB, opts StagedOptions) (map[string]string, []string) {
	t.Helper()
	eng := detectors.New(detectors.Options{})
	var errs []string
	opts.OnError = func(p string, err error) { errs = append(errs, p+": "+err.Error()) }
	got := map[string]string{} // key -> path
	err := scan.Run(context.Background(), NewStaged(opts), eng, func(f findings.Finding) error {
		got[f.RawKey()] = fmt.Sprintf("%s:%d", f.Path, f.Line)
		return nil
	})
	if err != nil {
		t.Fatalf("scan staged: %v", err)
	}
	return got, errs
}

func TestStaged(t *testing.T) {
	t.Run("before-first-commit", func(t *testing.T) {
		r := newTestRepo(t)
		r.Write("a.txt", "x\n"+key(60)+"\n")
		r.Git("add", "a.txt")
		got, errs := scanStaged(t, StagedOptions{Path: r.Dir})
		if got[key(60)] != "a.txt:2" || len(got) != 1 || len(errs) > 0 {
			t.Errorf("got %v errs %v", got, errs)
		}
	})

	r := newTestRepo(t)
	r.Write("committed.txt", key(61)+"\n") // already in HEAD: not staged
	r.Write("tracked.txt", "clean\n")
	r.Write("gone.txt", "bye\n")
	r.Write("sub/dir/deep.txt", "deep\n")
	r.Commit("base")
	r.Write("staged.txt", key(62)+"\n")
	r.Write("sub/dir/deep.txt", "deep\n"+key(63)+"\n")
	r.Git("add", "staged.txt", "sub/dir/deep.txt")
	// A staged file edited afterwards: the index copy counts.
	r.Write("staged.txt", "cleaned in the worktree only\n")
	// Unstaged edits and untracked files are not part of the commit.
	r.Write("tracked.txt", key(64)+"\n")
	r.Write("untracked.txt", key(65)+"\n")
	r.Git("rm", "-q", "gone.txt")
	r.Git("mv", "committed.txt", "moved.txt") // a staged rename of a key

	t.Run("index-vs-head", func(t *testing.T) {
		got, errs := scanStaged(t, StagedOptions{Path: filepath.Join(r.Dir, "sub")})
		want := map[string]string{key(62): "staged.txt:1", key(63): "sub/dir/deep.txt:2", key(61): "moved.txt:1"}
		if fmt.Sprint(got) != fmt.Sprint(want) || len(errs) > 0 {
			t.Errorf("got %v\nwant %v\nerrs %v", got, want, errs)
		}
	})
	t.Run("given-files", func(t *testing.T) {
		// pre-commit run --all-files passes every file, staged or not.
		got, errs := scanStaged(t, StagedOptions{Path: r.Dir, Dir: r.Dir, Files: []string{"moved.txt", "tracked.txt", "untracked.txt", "staged.txt", "nope.txt"}})
		want := map[string]string{key(61): "moved.txt:1", key(62): "staged.txt:1", key(65): "untracked.txt:1"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("got %v\nwant %v", got, want)
		}
		sort.Strings(errs)
		if len(errs) != 1 || errs[0][:8] != "nope.txt" {
			t.Errorf("errs = %v, want one for nope.txt", errs)
		}
	})
	t.Run("given-files-absolute-and-outside", func(t *testing.T) {
		got, errs := scanStaged(t, StagedOptions{Path: r.Dir, Files: []string{filepath.Join(r.Dir, "sub/dir/deep.txt"), filepath.Join(os.TempDir(), "elsewhere.txt")}})
		if got[key(63)] != "sub/dir/deep.txt:2" || len(got) != 1 || len(errs) != 1 {
			t.Errorf("got %v errs %v", got, errs)
		}
	})
	t.Run("bare", func(t *testing.T) {
		bare := filepath.Join(t.TempDir(), "b.git")
		testgit.Run(t, t.TempDir(), r.Env(), "init", "-q", "--bare", bare)
		_, err := scanErrStaged(StagedOptions{Path: bare})
		if err == nil {
			t.Error("no error for a bare repository")
		}
	})
}

func scanErrStaged(opts StagedOptions) (int, error) {
	eng := detectors.New(detectors.Options{})
	n := 0
	err := scan.Run(context.Background(), NewStaged(opts), eng, func(findings.Finding) error { n++; return nil })
	return n, err
}

// BenchmarkStaged measures a pre-commit on a typical repository: 2,000
// files in 100 directories, a few files staged, one with a key.
func BenchmarkStaged(b *testing.B) {
	r := newTestRepo(b)
	for d := range 100 {
		for f := range 20 {
			r.Write(fmt.Sprintf("pkg%03d/file%02d.go", d, f), fmt.Sprintf("package p%d\n\n// file %d\nfunc F%d() {}\n", d, f, f))
		}
	}
	r.Commit("base")
	r.Git("gc", "-q")
	r.Write("pkg050/file07.go", "package p\nconst k = \""+key(70)+"\"\n")
	r.Write("pkg010/new.go", "package p\n")
	r.Write("pkg099/file19.go", "package p // edited\n")
	r.Git("add", "-A")
	b.ResetTimer()
	for b.Loop() {
		got, _ := scanStaged(b, StagedOptions{Path: r.Dir})
		if len(got) != 1 {
			b.Fatalf("got %v", got)
		}
	}
}

// A SHA-256 repository's history is read by the git CLI: the commit that
// introduced a key (64 hex), in_head, --range, and commit messages.
func TestSHA256History(t *testing.T) {
	r := newTestRepo(t)
	if err := os.RemoveAll(filepath.Join(r.Dir, ".git")); err != nil {
		t.Fatal(err)
	}
	r.Git("init", "-q", "-b", "main", "--object-format=sha256")
	base := r.Commit("base")
	r.Write("old.txt", "k="+key(1)+"\n")
	leak := r.Commit("leak")
	r.Git("rm", "-q", "old.txt")
	r.Write("kept.txt", "k="+key(2)+"\n")
	r.Commit("msg " + key(3))
	if len(leak) != 64 {
		t.Skip("no SHA-256 support in this git")
	}
	// An annotated tag's message, and two stash entries: refs/stash names
	// the newer only, the older is in the stash reflog.
	r.Git("tag", "-a", "v1", "-m", "release "+key(4))
	for _, k := range []int{5, 6} {
		r.Write("kept.txt", fmt.Sprintf("k=%s\n", key(k)))
		r.Git("stash", "-q")
	}
	out := scanRepo(t, Options{Path: r.Dir})
	if f := out.byKey[key(4)]; len(f) != 1 || f[0].Kind != "tag-message" || f[0].Path != "refs/tags/v1" {
		t.Errorf("tag message key: %+v", f)
	}
	for _, k := range []int{5, 6} {
		if f := out.byKey[key(k)]; len(f) != 1 || *f[0].InHead {
			t.Errorf("stash entry key %d: %+v", k, f)
		}
	}
	if f := out.byKey[key(1)]; len(f) != 1 || f[0].Commit != leak || f[0].Path != "old.txt" || *f[0].InHead {
		t.Errorf("old key: %+v", f)
	}
	if f := out.byKey[key(2)]; len(f) != 1 || !*f[0].InHead {
		t.Errorf("kept key: %+v", f)
	}
	// The commit's message, and the stash commits' ("WIP on main: <its
	// subject>").
	if f := out.byKey[key(3)]; len(f) != 4 || f[0].Kind != "commit-message" {
		t.Errorf("message key: %d findings, %+v", len(f), f[0])
	}
	if out := scanRepo(t, Options{Path: r.Dir, Range: leak + "..main"}); len(out.byKey) != 2 || out.byKey[key(1)] != nil {
		t.Errorf("range %s..main: %v", leak[:8], out.keys())
	}
	if out := scanRepo(t, Options{Path: r.Dir, Range: base + ".." + base}); len(out.byKey) != 0 {
		t.Errorf("empty range: %v", out.keys())
	}
	// Ranges are checked as on SHA-1 repositories, and a branch never
	// reads as a git option.
	for _, o := range []Options{{Range: "main"}, {Range: base + "...main"}, {Range: base + "..main", Branch: "main"}, {Branch: "--output=" + filepath.Join(r.Dir, "x")}} {
		o.Path = r.Dir
		err := New(o).Chunks(context.Background(), sources.Chunker{}, func(sources.Chunk) error { return nil })
		if err == nil {
			t.Errorf("range %q branch %q: no error", o.Range, o.Branch)
		}
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "x")); err == nil {
		t.Error("a --branch starting with - was read as a git option")
	}
}
