package git

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bks-dev/bks/sources/git/internal/pack"
)

// Workers interning the same ids in different orders, some as their own,
// get one interned id per id, and the ids marked present are those some
// worker interned as its own. Ids that share their first 8 bytes stay
// apart.
func TestInternTableConcurrent(t *testing.T) {
	ids := make([]plumbing.Hash, 3000)
	for i := range ids {
		ids[i][0], ids[i][1], ids[i][19] = byte(i>>8), byte(i), 7
		if i%3 == 0 { // shares its first 8 bytes with ids[i-1]
			ids[i] = ids[max(i-1, 0)]
			ids[i][19] = 8
		}
	}
	tab := newInternTable(len(ids))
	const workers = 4
	got := make([][]int32, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			got[w] = make([]int32, len(ids))
			for _, i := range rand.New(rand.NewPCG(uint64(w), 1)).Perm(len(ids)) {
				got[w][i] = tab.intern(&ids[i], i%workers == w && i%2 == 0)
			}
		})
	}
	wg.Wait()
	seen := map[int32]int{}
	for i := range ids {
		for w := range workers {
			if got[w][i] != got[0][i] || got[w][i] < 0 {
				t.Fatalf("id %d: worker %d got %d, worker 0 %d", i, w, got[w][i], got[0][i])
			}
		}
		if j, ok := seen[got[0][i]]; ok {
			t.Fatalf("ids %d and %d interned as one", j, i)
		}
		seen[got[0][i]] = i
		k, present := tab.find(ids[i])
		if k != got[0][i] || present != (i%2 == 0) {
			t.Fatalf("id %d: find = %d, %v; interned %d", i, k, present, got[0][i])
		}
	}
	if tab.full.Load() {
		t.Fatal("full")
	}
}

// Past its limit the table refuses new ids (and still finds the others),
// and a pass that named more trees than the store holds names one the
// store lacks: here one tree (the whole store) naming 2000 missing ones.
func TestTreeScanMoreTreesNamedThanHeld(t *testing.T) {
	x := newTreeScan(map[plumbing.Hash]bool{}, 1, 1)
	limit := int(x.tab.limit)
	var raw strings.Builder
	subs := make([]plumbing.Hash, limit+500)
	for i := range subs {
		subs[i][0], subs[i][1], subs[i][2] = 9, byte(i>>8), byte(i)
		fmt.Fprintf(&raw, "40000 d%05d\x00%s", i, subs[i][:])
	}
	root := pack.ID{1, 2, 3}
	if err := x.visit(0, &pack.Tree{ID: root, BaseNum: -1, Data: []byte(raw.String())}); err != nil {
		t.Fatal(err)
	}
	err := x.ended()
	if !errors.Is(err, errStoreMiss) {
		t.Fatalf("ended: %v, want errStoreMiss", err)
	}
	if !x.tab.full.Load() {
		t.Fatal("the table took every id")
	}
	named := false
	for _, s := range subs {
		named = named || strings.Contains(err.Error(), s.String())
	}
	if !named {
		t.Fatalf("ended: %v: names none of the missing trees", err)
	}
	if i, present := x.tab.find(plumbing.Hash(root)); i < 0 || !present {
		t.Fatalf("root: %d, %v", i, present)
	}
	if i := x.tab.intern(&plumbing.Hash{0xee}, false); i != -1 {
		t.Fatalf("intern past the limit: %d", i)
	}
}

// nextEntry (and entryAt, under it) takes the entries git writes and
// refuses the malformed ones.
func TestNextEntry(t *testing.T) {
	id := strings.Repeat("\x01", 20)
	for _, c := range []struct {
		data       string
		mode       uint32
		name, rest string // name "" for an entry refused
	}{
		{"100644 a\x00" + id, 0o100644, "a", ""},
		{"40000 dir\x00" + id + "x", 0o40000, "dir", "x"},
		{"10 0644 a\x00" + id, 0o10, "0644 a", ""}, // the name runs to the NUL
		{"100644 a b\x00" + id, 0o100644, "a b", ""},
		{data: ""},
		{data: " a\x00" + id},            // no mode
		{data: "100644a\x00" + id},       // no space
		{data: "1006448 a\x00" + id},     // not octal
		{data: "77777777 a\x00" + id},    // mode too long
		{data: "100644 \x00" + id},       // no name
		{data: "100644 a\x00" + id[:19]}, // id cut short
		{data: "100644 a" + id},          // no NUL
	} {
		e, rest, err := nextEntry([]byte(c.data))
		if c.name == "" {
			if err == nil {
				t.Errorf("%q: taken (mode %o, name %q), want refused", c.data, e.mode, e.name)
			}
			continue
		}
		if err != nil || e.mode != c.mode || string(e.name) != c.name || string(e.id) != id || string(rest) != c.rest ||
			len(e.raw) != len(c.data)-len(c.rest) {
			t.Errorf("%q: mode %o name %q rest %q, %v; want %o %q %q", c.data, e.mode, e.name, rest, err, c.mode, c.name, c.rest)
		}
		mode, _, end, err := entryAt([]byte("xx"+c.data), 2)
		if err != nil || mode != c.mode || end != 2+len(c.data)-len(c.rest) {
			t.Errorf("entryAt(%q, 2) = %o, %d, %v", "xx"+c.data, mode, end, err)
		}
	}
}

// A repository can name any number of tree ids that share their first
// bytes (subtree entries need not exist). Hashed by their first 8 bytes
// they all started at one slot: n ids cost n²/2 whole-id compares (40,000
// took 2.6 s). The work is counted here as each slot's distance from
// where its id's probe starts.
func TestInternPrefixCluster(t *testing.T) {
	const n = 50_000
	tab := newInternTable(n)
	for i := range n {
		var h plumbing.Hash
		for j := range 16 {
			h[j] = 0xab
		}
		binary.BigEndian.PutUint32(h[16:], uint32(i))
		if tab.intern(&h, true) < 0 {
			t.Fatalf("id %d refused", i)
		}
	}
	longest := uint64(0)
	for i := range tab.slots {
		s := &tab.slots[i]
		if s.tag.Load() == 0 {
			continue
		}
		longest = max(longest, (uint64(i)-tab.home(&s.id))&tab.mask)
	}
	if longest > 64 {
		t.Errorf("an id sits %d slots past its probe's start, want at most 64 (ids sharing a prefix pile up)", longest)
	}
}
