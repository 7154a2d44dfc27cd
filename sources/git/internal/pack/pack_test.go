package pack

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bks-dev/bks/internal/testgit"
)

// git runs git in dir (a repository buildRepo made).
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	return testgit.Open(t, dir, testgit.Options{}).Git(args...)
}

// buildRepo makes a repository whose blobs are spread over an aggressive
// pack (long delta chains), a second pack, loose objects and an
// alternate, with the literal "ABSK" coming and going between versions.
func buildRepo(t *testing.T) (dir string) {
	t.Helper()
	up := testgit.New(t, testgit.Options{})
	var body strings.Builder
	for i := range 300 {
		fmt.Fprintf(&body, "setting_%03d = %d\n", i, i*7)
	}
	lines := strings.SplitAfter(body.String(), "\n")
	for v := range 40 {
		// Versions edit a few lines; some add the literal, some drop it,
		// some put it across an edit.
		ls := slices.Clone(lines)
		ls[v*5%300] = fmt.Sprintf("changed %d\n", v)
		switch v % 4 {
		case 1:
			ls[100] = "token = ABSK" + strings.Repeat("Q", v) + "\n"
		case 2:
			ls[150] = "AB" + ls[150] + "SK"
		}
		up.Write("config.txt", strings.Join(ls, ""))
		up.Write(fmt.Sprintf("small%d.txt", v%3), strings.Repeat("row\n", v+1))
		up.Commit(fmt.Sprintf("v%d", v))
		if v == 25 {
			up.Git("gc", "-q", "--aggressive")
		}
	}
	up.Git("repack", "-q", "-d") // the later commits: a second pack
	// A clone borrowing up's objects (an alternate), with loose objects.
	clone := up.At(filepath.Join(t.TempDir(), "clone"))
	testgit.Run(t, "", clone.Env(), "clone", "-q", "--shared", up.Dir, clone.Dir)
	for v := range 3 {
		clone.Write("loose.txt", fmt.Sprintf("loose %d ABSK\n", v))
		clone.Commit("loose")
	}
	return clone.Dir
}

func gitBlobs(t *testing.T, dir string) []string {
	out := git(t, dir, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)")
	var ids []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if id, ok := strings.CutSuffix(l, " blob"); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Every blob git knows is visited, with the content its id hashes to, and
// the state passed down a delta chain lets NearFresh decide exactly; with
// Store.Lazy, Blob.Near decides the same without the content of the
// deltas no delta has as a base, and Content gives it.
func TestStoreMatchesGit(t *testing.T) {
	dir := buildRepo(t)
	for _, lazy := range []bool{false, true} {
		t.Run(fmt.Sprintf("lazy=%v", lazy), func(t *testing.T) { storeMatchesGit(t, dir, lazy) })
	}
}

func storeMatchesGit(t *testing.T, dir string, lazyStore bool) {
	s, err := Open(filepath.Join(dir, ".git", "objects"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Lazy = lazyStore
	if len(s.packs) < 2 {
		t.Fatalf("%d packs, want 2 or more (the test repository is not what it should be)", len(s.packs))
	}
	const clean, dirty = 1, 2
	lit := []byte("ABSK")
	has := func(b []byte) bool { return bytes.Contains(b, lit) }
	var (
		mu                    sync.Mutex
		seen                  = map[string]bool{}
		deltas, skipped, lazy int
	)
	st, err := s.Blobs(context.Background(), 3, func(w int, b *Blob) uint8 {
		wasLazy := b.Data == nil && b.lazy != nil
		got := false
		if b.Delta && b.Base == clean {
			got = b.Near(len(lit)-1, has) // before Content, for a lazy blob
		}
		data := b.Content()
		h := sha1.New()
		fmt.Fprintf(h, "blob %d\x00", len(data))
		h.Write(data)
		ok := ID(h.Sum(nil)) == b.ID && b.Size == int64(len(data))
		full := has(data)
		if !b.Delta || b.Base != clean {
			got = full
		} else if near := NearFresh(data, b.Fresh, len(lit)-1, has); near != got {
			t.Errorf("blob %s: Near says %v, NearFresh %v", b.ID, got, near)
		}
		mu.Lock()
		defer mu.Unlock()
		if wasLazy {
			lazy++
		}
		if !ok {
			t.Errorf("blob %s: content does not hash to its id", b.ID)
		}
		if got != full {
			t.Errorf("blob %s: NearFresh says %v, the content %v (fresh %v)", b.ID, got, full, b.Fresh)
		}
		if b.Delta {
			deltas++
			if b.Base == clean && !full {
				skipped++
			}
		}
		seen[b.ID.String()] = true
		if full {
			return dirty
		}
		return clean
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if want := gitBlobs(t, dir); !slices.Equal(ids, want) {
		t.Errorf("visited %d blobs, git has %d", len(ids), len(want))
	}
	if deltas < 20 || skipped == 0 || st.Loose == 0 || st.Packs < 2 {
		t.Errorf("deltas %d, deltas of clean bases checked near changes only %d, stats %+v: the repository does not exercise the reader", deltas, skipped, st)
	}
	if lazy > 0 != s.Lazy || s.Lazy && lazy < 10 {
		t.Errorf("Lazy %v: %d deltas passed without their content", s.Lazy, lazy)
	}
}

// Reader reads every object git knows (commits, trees, blobs, tags;
// packed, deltified, loose, in the alternate) with the content its id
// hashes to.
//
// Mapped, and read with ReadAt, where an object whose zlib data lies
// within the Reader's first read of the file is inflated from it and a
// longer one (the random blob: about 8 KB of zlib data) is streamed.
func TestReaderMatchesGit(t *testing.T) {
	dir := buildRepo(t)
	git(t, dir, "tag", "-a", "-m", "a tag", "v1")
	rng := rand.New(rand.NewPCG(3, 4))
	big := make([]byte, 8<<10)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	os.WriteFile(filepath.Join(dir, "big.txt"), []byte(hex.EncodeToString(big)), 0o644)
	git(t, dir, "add", "big.txt")
	git(t, dir, "commit", "-q", "-m", "big")
	git(t, dir, "repack", "-q") // the loose objects, the big blob too, into a pack
	for _, mapped := range []bool{true, false} {
		t.Run(fmt.Sprintf("mmap=%v", mapped), func(t *testing.T) {
			defer func(old bool) { useMmap = old }(useMmap)
			useMmap = mapped
			readerMatchesGit(t, dir)
		})
	}
}

func readerMatchesGit(t *testing.T, dir string) {
	s, err := Open(filepath.Join(dir, ".git", "objects"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := git(t, dir, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)")
	// Without a cache of delta bases, with one, and with one too small to
	// keep much; twice over, so that cached bases are read again (whole,
	// into the caller's buf, which must not write into the cache).
	for _, cache := range []int64{0, 1 << 20, 4096} {
		r := s.NewReader()
		r.SetCache(cache)
		types := map[string]int{}
		var buf []byte
		for range 2 {
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				hexID, wantTyp, _ := strings.Cut(l, " ")
				var id ID
				if _, err := hex.Decode(id[:], []byte(hexID)); err != nil {
					t.Fatal(err)
				}
				typ, data, err := r.Object(id, buf)
				if err != nil || typ != wantTyp {
					t.Fatalf("cache %d: Object(%s) = %q, %v; want a %s", cache, hexID, typ, err, wantTyp)
				}
				h := sha1.New()
				fmt.Fprintf(h, "%s %d\x00", typ, len(data))
				h.Write(data)
				if ID(h.Sum(nil)) != id {
					t.Fatalf("cache %d: object %s: content does not hash to its id", cache, hexID)
				}
				types[typ]++
				for i := range data {
					data[i] = 'x' // the caller owns what it got
				}
				buf = data
			}
		}
		if types["commit"] < 80 || types["tree"] < 80 || types["tag"] != 2 {
			t.Errorf("cache %d: objects read: %v", cache, types)
		}
		if cache > 0 && r.cache.size == 0 {
			t.Errorf("cache %d: nothing cached", cache)
		}
	}
	r := s.NewReader()
	if _, _, err := r.Object(ID{1, 2, 3}, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing object: err = %v, want ErrNotFound", err)
	}
}

func TestStoreErrors(t *testing.T) {
	dir := buildRepo(t)
	alt, err := os.ReadFile(filepath.Join(dir, ".git/objects/info/alternates"))
	if err != nil {
		t.Fatal(err)
	}
	packs, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(alt)), "pack", "*.pack"))
	if len(packs) == 0 {
		t.Fatal("no pack")
	}
	big := packs[0]
	for _, p := range packs {
		if fi, _ := os.Stat(p); fi != nil {
			if bi, _ := os.Stat(big); fi.Size() > bi.Size() {
				big = p
			}
		}
	}

	t.Run("truncated pack: the object is named", func(t *testing.T) {
		raw, err := os.ReadFile(big)
		if err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(big, raw, 0o644)
		os.Chmod(big, 0o644)
		if err := os.WriteFile(big, raw[:len(raw)*2/3], 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(filepath.Join(dir, ".git", "objects"))
		var again error
		if err == nil {
			_, err = s.Blobs(context.Background(), 2, func(int, *Blob) uint8 { return 0 })
			// The same store asked again fails again: its half-read headers
			// are not taken for a whole pack.
			_, again = s.Trees(context.Background(), 2, nil, func(int, *Tree) error { return nil })
			s.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "object ") {
			t.Errorf("err = %v, want one naming an object", err)
		}
		if again == nil {
			t.Error("a second pass over the truncated pack succeeded")
		}
	})
	t.Run("corrupt loose object", func(t *testing.T) {
		id := strings.TrimSpace(git(t, dir, "rev-parse", "HEAD:loose.txt"))
		p := filepath.Join(dir, ".git/objects", id[:2], id[2:])
		os.Chmod(p, 0o644)
		raw, _ := os.ReadFile(p)
		defer os.WriteFile(p, raw, 0o644)
		os.WriteFile(p, []byte("garbage"), 0o644)
		s, err := Open(filepath.Join(dir, ".git", "objects"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = s.Blobs(context.Background(), 2, func(int, *Blob) uint8 { return 0 })
		if err == nil || !strings.Contains(err.Error(), id) {
			t.Errorf("err = %v, want one naming %s", err, id)
		}
	})
	t.Run("index version 1: unsupported", func(t *testing.T) {
		d := t.TempDir()
		os.MkdirAll(filepath.Join(d, "pack"), 0o755)
		os.WriteFile(filepath.Join(d, "pack", "pack-x.idx"), make([]byte, 1100), 0o644)
		os.WriteFile(filepath.Join(d, "pack", "pack-x.pack"), []byte("PACK"), 0o644)
		if _, err := Open(d); !errors.Is(err, ErrUnsupported) {
			t.Errorf("err = %v, want ErrUnsupported", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		s, err := Open(filepath.Join(dir, ".git", "objects"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Blobs(ctx, 2, func(int, *Blob) uint8 { return 0 }); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

// A blob over Store.SkipOver, loose or packed, is visited with its size
// and no data: it is never read whole into memory (a 400 MB blob under
// --max-file-size).
func TestStoreSkipOver(t *testing.T) {
	r := testgit.New(t, testgit.Options{})
	r.Write("big.txt", strings.Repeat("0123456789abcdef", 4096))
	r.Write("small.txt", "small\n")
	r.Commit("c")
	for _, packed := range []bool{false, true} {
		if packed {
			r.Git("repack", "-adq")
		}
		storeSkipOver(t, r.Dir, packed)
	}
}

func storeSkipOver(t *testing.T, dir string, packed bool) {
	t.Helper()
	s, err := Open(filepath.Join(dir, ".git", "objects"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SkipOver = 1000
	var mu sync.Mutex
	got := map[int64]bool{} // size: skipped
	_, err = s.Blobs(context.Background(), 2, func(_ int, b *Blob) uint8 {
		mu.Lock()
		defer mu.Unlock()
		if b.Skipped {
			got[b.Size] = b.Data == nil
		} else {
			got[int64(len(b.Data))] = false
		}
		return 2
	})
	if err != nil || len(got) != 2 || !got[16*4096] || got[6] {
		t.Errorf("packed %v: err %v, visited (size: skipped) %v", packed, err, got)
	}
}
