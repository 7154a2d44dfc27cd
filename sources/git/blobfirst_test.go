package git

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testgit"
)

// The blob-first scan (the default scan with a Prefilter): which scans
// take it, that the attribution walk runs only for candidates, and what it
// does with unreachable and oversized blobs.
func TestBlobFirst(t *testing.T) {
	testgit.Need(t)
	clean := newTestRepo(t)
	for i := range 30 {
		clean.Write("f.txt", strings.Repeat("line\n", i+1))
		clean.Commit("edit")
	}
	// A key only in a commit message: messages are scanned without the
	// attribution walk.
	msg := clean.Commit("debug: " + key(70))

	hit := newTestRepo(t)
	hit.Write("a.txt", "x\n")
	hit.Commit("one")
	hit.Write("b.txt", "AWS_BEARER_TOKEN_BEDROCK="+key(72)+"\n")
	c2 := hit.Commit("two")
	hit.Write("big.txt", strings.Repeat("0123456789abcdef", 4096)+key(73)+"\n")
	c3 := hit.Commit("three")
	hit.Git("rm", "-q", "b.txt")
	hit.Commit("four")

	tests := []struct {
		name       string
		opts       Options
		blobFirst  bool
		attributed bool
		want       map[string]result
		errs       []string
	}{
		{
			name: "clean history: no attribution walk", opts: Options{Path: clean.Dir},
			blobFirst: true, attributed: false,
			want: map[string]result{key(70): {Commit: msg, Kind: "commit-message"}},
		},
		{
			name: "candidates: attributed", opts: Options{Path: hit.Dir},
			blobFirst: true, attributed: true,
			want: map[string]result{
				key(72): {Commit: c2, Path: "b.txt", InHead: boolp(false)},
				key(73): {Commit: c3, Path: "big.txt", InHead: boolp(true)},
			},
		},
		{
			name: "over the size cap: reported at its origin", opts: Options{Path: hit.Dir, MaxBlobSize: 1024},
			blobFirst: true, attributed: true,
			want: map[string]result{key(72): {Commit: c2, Path: "b.txt", InHead: boolp(false)}},
			errs: []string{"@" + c3[:12] + ":big.txt: blob", "over the 1024-byte cap"},
		},
		{
			name: "range: the walk", opts: Options{Path: hit.Dir, Range: "HEAD~3..HEAD"},
			blobFirst: false, attributed: true,
			want: map[string]result{
				key(72): {Commit: c2, Path: "b.txt", InHead: boolp(false)},
				key(73): {Commit: c3, Path: "big.txt", InHead: boolp(true)},
			},
		},
		{
			name: "branch: the walk", opts: Options{Path: clean.Dir, Branch: "main"},
			blobFirst: false, attributed: true,
			want: map[string]result{key(70): {Commit: msg, Kind: "commit-message"}},
		},
	}
	for _, tt := range tests {
		for _, reader := range []string{readerGitPrefilter, readerGitCatFile} {
			t.Run(tt.name+"/"+reader, func(t *testing.T) {
				tt.opts.Reader = reader
				out := scanRepo(t, tt.opts)
				if out.stats.BlobFirst != tt.blobFirst || out.stats.Attributed != tt.attributed {
					t.Errorf("blob-first %v, attributed %v; want %v, %v", out.stats.BlobFirst, out.stats.Attributed, tt.blobFirst, tt.attributed)
				}
				for k, w := range tt.want {
					fs := out.byKey[k]
					if len(fs) != 1 {
						t.Errorf("key %.12s found %d times, want once", k, len(fs))
						continue
					}
					f := fs[0]
					if f.Commit != w.Commit || f.Path != w.Path || f.Kind != w.Kind || ptr(f.InHead) != ptr(w.InHead) {
						t.Errorf("key %.12s at %.8s %q %q in_head %v; want %.8s %q %q %v", k, f.Commit, f.Path, f.Kind, ptr(f.InHead), w.Commit, w.Path, w.Kind, ptr(w.InHead))
					}
				}
				if len(out.byKey) != len(tt.want) {
					t.Errorf("keys found: %d, want %d (a dangling blob must not be reported)", len(out.byKey), len(tt.want))
				}
				if len(tt.errs) == 0 && len(out.errs) > 0 {
					t.Errorf("errors: %q", out.errs)
				}
				for _, e := range tt.errs {
					if !containsAll(out.errs, e) {
						t.Errorf("no error with %q: %q", e, out.errs)
					}
				}
				if len(out.warns) > 0 {
					t.Errorf("warnings: %q", out.warns)
				}
			})
		}
	}
	if out := scanRepo(t, Options{Path: clean.Dir, Reader: readerGitPrefilter}); out.stats.Blobs == 0 || out.stats.Commits != 31 {
		t.Errorf("stats %+v", out.stats)
	}
}

// hashObject writes a blob no ref reaches.
func hashObject(t *testing.T, r *testRepo, content string) string {
	t.Helper()
	cmd := exec.Command("git", "hash-object", "-w", "--stdin")
	cmd.Dir = r.Dir
	cmd.Env = r.Env()
	cmd.Stdin = strings.NewReader(content)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git hash-object: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// Blobs no ref reaches (dangling, or left by a deleted branch): never
// reported, as no clone has them. cat-file never reads them (rev-list does
// not list them); the in-process reader reads every blob, and says how
// many with a candidate it could not attribute.
func TestBlobFirstUnreachable(t *testing.T) {
	r := newTestRepo(t)
	r.Write("a.txt", "clean\n")
	r.Commit("one")
	hashObject(t, r, "leaked "+key(71)+"\n")
	r.Git("checkout", "-q", "-b", "gone")
	r.Write("b.txt", key(74)+"\n")
	r.Commit("on a branch deleted later")
	r.Git("checkout", "-q", "main")
	r.Git("branch", "-q", "-D", "gone")
	for _, reader := range []string{readerGitPrefilter, readerGitCatFile} {
		t.Run(reader, func(t *testing.T) {
			out := scanRepo(t, Options{Path: r.Dir, Reader: reader})
			if len(out.found) != 0 || len(out.errs) != 0 {
				t.Errorf("found %d, errors %q; want nothing", len(out.found), out.errs)
			}
			if !out.stats.BlobFirst {
				t.Errorf("not a blob-first scan: %+v", out.stats)
			}
			if reader == readerGitCatFile {
				if len(out.warns) != 0 {
					t.Errorf("warnings: %q", out.warns)
				}
				return
			}
			if len(out.warns) != 1 || !strings.Contains(out.warns[0], "2 blob(s) with a possible key") || !strings.Contains(out.warns[0], "no ref reaches them") {
				t.Errorf("want one warning counting 2 unreachable blobs: %q", out.warns)
			}
		})
	}
}

// An unreadable blob stops the blob-first scan early
// (while git rev-list still has ids to write) and hands the scan to the
// walk, which reports the blob by id and scans the rest.
func TestBlobFirstUnreadableBlobFallsBack(t *testing.T) {
	r := newTestRepo(t)
	for i := range 3000 {
		r.Write(fmt.Sprintf("d/f%04d.txt", i), fmt.Sprintf("file %d\n", i))
	}
	r.Write("z.txt", key(75)+"\n")
	r.Commit("many files")
	ids := strings.Fields(r.Git("rev-list", "--objects", "--no-object-names", "--filter=object:type=blob", "--all"))
	if len(ids) < 3000 {
		t.Fatalf("rev-list listed %d ids", len(ids))
	}
	missing := ids[1]
	// Small blocks: many are still to come when the scan stops.
	defer func(n int) { blobFirstBlock = n }(blobFirstBlock)
	blobFirstBlock = 4
	// Corrupt, not removed: rev-list checks that blobs exist, not that
	// they can be read, so it goes on listing while cat-file fails.
	p := filepath.Join(r.Dir, ".git/objects", missing[:2], missing[2:])
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, reader := range []string{readerGitPrefilter, readerGitCatFile} {
		t.Run(reader, func(t *testing.T) {
			out := scanRepo(t, Options{Path: r.Dir, Reader: reader})
			if out.stats.BlobFirst {
				t.Errorf("blob-first scan did not fall back")
			}
			if len(out.byKey[key(75)]) != 1 {
				t.Errorf("keys found: %v", out.keys())
			}
			if len(out.errs) != 1 || !containsAll(out.errs, missing) {
				t.Errorf("want one error naming %s: %q", missing, out.errs)
			}
		})
	}
}

// A clone made with --shared (or --reference) borrows its objects through
// objects/info/alternates: every reader finds keys in the borrowed history
// and in the clone's own commits, with the commit that introduced them.
func TestHistoryAlternates(t *testing.T) {
	up := newTestRepo(t)
	up.Write("old.env", "TOKEN="+key(80)+"\n")
	c1 := up.Commit("borrowed")
	up.Git("rm", "-q", "old.env")
	up.Commit("removed")
	up.Git("gc", "-q")

	clone := up.At(filepath.Join(t.TempDir(), "clone"))
	testgit.Run(t, "", clone.Env(), "clone", "-q", "--shared", up.Dir, clone.Dir)
	if _, err := os.Stat(filepath.Join(clone.Dir, ".git/objects/info/alternates")); err != nil {
		t.Fatalf("no alternates: %v", err)
	}
	clone.Write("new.env", "TOKEN="+key(81)+"\n")
	c2 := clone.Commit("own")
	want := map[string]result{
		key(80): {Commit: c1, Path: "old.env", InHead: boolp(false)},
		key(81): {Commit: c2, Path: "new.env", InHead: boolp(true)},
	}
	readers(t, func(t *testing.T, reader string) {
		out := scanRepo(t, Options{Path: clone.Dir, Reader: reader})
		if len(out.errs) > 0 {
			t.Errorf("errors: %q", out.errs)
		}
		for k, w := range want {
			fs := out.byKey[k]
			if len(fs) != 1 {
				t.Errorf("key %.12s found %d times, want once", k, len(fs))
				continue
			}
			if f := fs[0]; f.Commit != w.Commit || f.Path != w.Path || ptr(f.InHead) != ptr(w.InHead) {
				t.Errorf("key %.12s at %.8s %q in_head %v; want %.8s %q %v", k, f.Commit, f.Path, ptr(f.InHead), w.Commit, w.Path, ptr(w.InHead))
			}
		}
	})
}

// A blob missing from the object store is reported by id (with the commit
// and path that have it: the blob-first scan leaves it to the walk), with
// the blobs read in process or by git cat-file, and the rest is scanned.
func TestBlobFirstMissingBlob(t *testing.T) {
	r := newTestRepo(t)
	r.Write("a.txt", "first\n")
	r.Commit("a")
	r.Write("b.txt", "k="+key(1)+"\n")
	r.Commit("b")
	gone := r.DeleteObject("HEAD~1:a.txt")
	for _, reader := range []string{readerGitPrefilter, readerGitCatFile} {
		out := scanRepo(t, Options{Path: r.Dir, Reader: reader})
		if len(out.errs) != 1 || !strings.Contains(out.errs[0], gone) || !strings.Contains(out.errs[0], "a.txt") || len(out.byKey) != 1 {
			t.Errorf("%s: errs %q, keys %d, stats %+v", reader, out.errs, len(out.byKey), out.stats)
		}
	}
}

// A blob over streamOver is not held whole: it is streamed through the
// chunker, loose or packed, and its key found with commit and in_head.
func TestBlobFirstStreamsLargeBlobs(t *testing.T) {
	defer func(n int64) { streamOver = n }(streamOver)
	streamOver = 4096
	r := newTestRepo(t)
	r.Write("big.txt", strings.Repeat("filler line of a large log\n", 1000)+"k="+key(1)+"\n")
	r.Write("small.txt", "k="+key(2)+"\n")
	leak := r.Commit("big")
	for _, packed := range []bool{false, true} {
		if packed {
			r.Git("repack", "-adq")
		}
		out := scanRepo(t, Options{Path: r.Dir, Reader: readerGitPrefilter})
		f := out.byKey[key(1)]
		if len(out.errs) != 0 || len(f) != 1 || f[0].Commit != leak || f[0].Path != "big.txt" || !*f[0].InHead || len(out.byKey[key(2)]) != 1 || !out.stats.Packs || out.stats.Streamed != 1 {
			t.Errorf("packed %v: errs %q, findings %+v, stats %+v", packed, out.errs, f, out.stats)
		}
		// Under the cap it is skipped, and said so.
		out = scanRepo(t, Options{Path: r.Dir, Reader: readerGitPrefilter, MaxBlobSize: 10000})
		if len(out.errs) != 1 || !strings.Contains(out.errs[0], "over the 10000-byte cap") || len(out.byKey) != 1 {
			t.Errorf("packed %v, capped: errs %q, keys %d", packed, out.errs, len(out.byKey))
		}
	}
}

// The missing-object check (git rev-list --unpacked) is not run on a store
// with nothing loose: it would list nothing and walk every commit (on
// git/git: ~1 s CPU). A loose commit, or a ref naming a tree, brings it
// back, and a blob deleted under a loose commit is still reported.
func TestBlobFirstMissingCheckOnlyWhenLoose(t *testing.T) {
	r := newTestRepo(t)
	r.Write("a.txt", "k="+key(1)+"\n")
	r.Commit("a")
	r.Git("repack", "-adq")
	out := scanRepo(t, Options{Path: r.Dir, Reader: readerGitPrefilter})
	if len(out.errs) != 0 || len(out.byKey) != 1 || !out.stats.Packs || out.stats.MissingChecked {
		t.Errorf("all packed: errs %q, keys %d, stats %+v", out.errs, len(out.byKey), out.stats)
	}

	r.Git("tag", "tree-tag", "HEAD^{tree}")
	out = scanRepo(t, Options{Path: r.Dir, Reader: readerGitPrefilter})
	if len(out.errs) != 0 || !out.stats.MissingChecked {
		t.Errorf("a ref naming a tree: errs %q, stats %+v", out.errs, out.stats)
	}
	r.Git("tag", "-d", "tree-tag")

	r.Write("b.txt", "second\n")
	r.Commit("b")
	out = scanRepo(t, Options{Path: r.Dir, Reader: readerGitPrefilter})
	if len(out.errs) != 0 || !out.stats.MissingChecked {
		t.Errorf("a loose commit: errs %q, stats %+v", out.errs, out.stats)
	}
	gone := r.DeleteObject("HEAD:b.txt")
	out = scanRepo(t, Options{Path: r.Dir, Reader: readerGitPrefilter})
	if len(out.errs) != 1 || !strings.Contains(out.errs[0], gone) {
		t.Errorf("a loose blob deleted: errs %q, stats %+v", out.errs, out.stats)
	}
}
