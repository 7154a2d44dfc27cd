package git

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIsURL(t *testing.T) {
	for s, want := range map[string]bool{
		"https://github.com/o/r":   true,
		"file:///tmp/x":            true,
		"ssh://git@host/o/r.git":   true,
		"git@github.com:o/r.git":   true,
		".":                        false,
		"/tmp/repo":                false,
		"repo.git":                 false,
		"C:/repo":                  false,
		"dir/with@sign:not-a-host": false,
	} {
		if got := IsURL(s); got != want {
			t.Errorf("IsURL(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:hunter2@example.com/r.git": "https://user:xxxxx@example.com/r.git",
		"https://ghp_token@github.com/o/r":       "https://xxxxx@github.com/o/r",
		"ssh://git@host/o/r":                     "ssh://git@host/o/r",
		"https://github.com/o/r":                 "https://github.com/o/r",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCloneURL(t *testing.T) {
	r := newTestRepo(t)
	r.Write("a.txt", key(80)+"\n")
	c1 := r.Commit("one")
	r.Git("checkout", "-q", "-b", "feature")
	r.Write("b.txt", key(81)+"\n")
	c2 := r.Commit("two")
	r.Git("checkout", "-q", "main")
	url := "file://" + r.Dir

	t.Run("temp", func(t *testing.T) {
		dir, cleanup, err := Clone(context.Background(), url, "")
		if err != nil {
			t.Fatal(err)
		}
		out := scanRepo(t, Options{Path: dir, Repo: url})
		checkFound(t, out, map[string]result{
			key(80): {Commit: c1, Path: "a.txt", InHead: boolp(true)},
			key(81): {Commit: c2, Path: "b.txt", InHead: boolp(false)},
		})
		if f := out.byKey[key(80)]; len(f) == 1 && f[0].Repo != url {
			t.Errorf("repo = %q", f[0].Repo)
		}
		cleanup()
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("temp clone left behind: %v", err)
		}
	})
	t.Run("cache", func(t *testing.T) {
		cache := t.TempDir()
		dir, cleanup, err := Clone(context.Background(), url, cache)
		if err != nil {
			t.Fatal(err)
		}
		cleanup()
		// A new commit upstream is fetched into the cached mirror.
		r.Write("c.txt", key(82)+"\n")
		c3 := r.Commit("three")
		dir2, _, err := Clone(context.Background(), url, cache)
		if err != nil || dir2 != dir {
			t.Fatalf("second clone: %q %v (first %q)", dir2, err, dir)
		}
		out := scanRepo(t, Options{Path: dir2})
		if f := out.byKey[key(82)]; len(f) != 1 || f[0].Commit != c3 {
			t.Errorf("cached mirror not updated: %v", out.keys())
		}
	})
	t.Run("bad", func(t *testing.T) {
		_, _, err := Clone(context.Background(), "file://"+filepath.Join(t.TempDir(), "none"), "")
		if err == nil || !strings.Contains(err.Error(), "clone") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestSubmodules(t *testing.T) {
	sub := newTestRepo(t)
	sub.Write("s.txt", key(90)+"\n")
	sc := sub.Commit("sub one")
	r := newTestRepo(t)
	r.Write("top.txt", "top\n")
	r.Commit("top")
	r.Git("submodule", "add", "-q", sub.Dir, "vendor/sub")
	r.Commit("add submodule")

	// Without --submodules, a note says what was left out. Before: nothing.
	out := scanRepo(t, Options{Path: r.Dir})
	if len(out.byKey) != 0 {
		t.Errorf("without --submodules found %v", out.keys())
	}
	if want := r.Dir + ": 1 submodule not scanned (vendor/sub): --submodules scans checked-out ones"; len(out.warns) != 1 || out.warns[0] != want {
		t.Errorf("warnings %q, want %q", out.warns, want)
	}
	out = scanRepo(t, Options{Path: r.Dir, Submodules: true})
	if len(out.warns) != 0 {
		t.Errorf("with --submodules, warnings %q", out.warns)
	}
	f := out.byKey[key(90)]
	if len(f) != 1 || f[0].Commit != sc || f[0].Path != "s.txt" || f[0].Repo != r.Dir+"//vendor/sub" {
		t.Errorf("submodule finding: %+v (errs %v, warns %v)", f, out.errs, out.warns)
	}
}
