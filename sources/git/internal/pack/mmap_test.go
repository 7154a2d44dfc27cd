package pack

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testgit"
)

// TestMain fails the package when a test left a pack mapped.
func TestMain(m *testing.M) {
	code := m.Run()
	if n := LiveMaps(); code == 0 && n != 0 {
		fmt.Fprintf(os.Stderr, "%d pack mapping(s) never unmapped (a Store not closed)\n", n)
		code = 1
	}
	os.Exit(code)
}

// A pack that shrinks while it is open (mapped, or read with ReadAt) is
// an error naming the pack or the object, from Reader, Blobs and Trees:
// never a crash. Mapped, a read past the new end faults (SIGBUS); the
// fault is turned into the error.
func TestStoreTruncatedUnderUs(t *testing.T) {
	for _, mapped := range []bool{true, false} {
		t.Run(fmt.Sprintf("mmap=%v", mapped), func(t *testing.T) {
			defer func(old bool) { useMmap = old }(useMmap)
			useMmap = mapped
			storeTruncated(t)
		})
	}
}

func storeTruncated(t *testing.T) {
	r := testgit.New(t, testgit.Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 30 {
		b := make([]byte, 8<<10) // hex of random bytes: no deltas, little compression
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		r.Write(fmt.Sprintf("d%d/f%d.txt", i%4, i), hex.EncodeToString(b))
		r.Commit(fmt.Sprintf("c%d", i))
	}
	r.Git("repack", "-adq")
	packs, _ := filepath.Glob(filepath.Join(r.Dir, ".git/objects/pack/*.pack"))
	if len(packs) != 1 {
		t.Fatalf("%d packs, want 1", len(packs))
	}
	s, err := Open(filepath.Join(r.Dir, ".git", "objects"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.packs[0].data != nil; got != useMmap {
		t.Fatalf("pack mapped: %v, want %v", got, useMmap)
	}
	// The headers are read while the pack is whole.
	if _, err := s.Blobs(context.Background(), 2, func(int, *Blob) uint8 { return 0 }); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(packs[0], int64(os.Getpagesize())); err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(packs[0])

	_, err = s.Blobs(context.Background(), 2, func(int, *Blob) uint8 { return 0 })
	if err == nil || !strings.Contains(err.Error(), name) {
		t.Errorf("Blobs: err = %v, want one naming %s", err, name)
	}
	_, err = s.Trees(context.Background(), 2, nil, func(int, *Tree) error { return nil })
	if err == nil || !strings.Contains(err.Error(), name) {
		t.Errorf("Trees: err = %v, want one naming %s", err, name)
	}
	// The objects in the page left read; the others are errors.
	rd := s.NewReader()
	p := s.packs[0]
	ok, bad := 0, 0
	for i := range p.n {
		var id ID
		copy(id[:], p.ids[20*i:])
		if _, _, err := rd.Object(id, nil); err == nil {
			ok++
		} else if !strings.Contains(err.Error(), name) {
			t.Errorf("Object(%s): err = %v, want one naming %s", id, err, name)
		} else {
			bad++
		}
	}
	if ok == 0 || bad == 0 {
		t.Errorf("%d objects read, %d errors: want both", ok, bad)
	}
}

// A store is mapped only when its packs together fit in mapBudget (a
// larger one stays resident as a whole: git/git's 496 MB pack took peak
// RSS to 790 MB); over it, every pack is read with ReadAt, and what it
// reads is still right.
func TestStoreMapsWithinBudget(t *testing.T) {
	if !useMmap {
		t.Skip("packs not mapped")
	}
	dir := buildRepo(t)
	mapped := func() (n, total int) {
		s, err := Open(filepath.Join(dir, ".git", "objects"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, p := range s.packs {
			total++
			if p.data != nil {
				n++
			}
		}
		return n, total
	}
	n, total := mapped()
	if total == 0 {
		t.Fatal("the test repository has no pack")
	}
	if n == 0 {
		t.Skip("mmap failed here")
	}
	if n != total {
		t.Errorf("within the budget: %d of %d packs mapped, want all", n, total)
	}
	defer func(old int64) { mapBudget = old }(mapBudget)
	mapBudget = 1 // smaller than any pack
	if n, total := mapped(); n != 0 {
		t.Errorf("over the budget: %d of %d packs mapped, want none", n, total)
	}
	storeMatchesGit(t, dir, true)
}
