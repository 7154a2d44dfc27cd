package git

import (
	"hash/maphash"
	"runtime"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing"
)

// internTable interns the tree ids of the pass over the tree objects
// (treeindex.go): an interned id is the number of the id's slot in one
// open-addressing table, shared by the pass's workers without locks (a
// slot is claimed by compare-and-swap). Interning was a third of the
// recording on git/git (1.4 million ids, 400,000 distinct), nearly all of
// it the cache misses of Go maps sharded under 256 locks; a slot here
// holds the whole id, so an id found costs one miss, and no lock.
//
// The table never grows (that would renumber the ids): it is made for at
// most limit distinct ids, the number of tree objects the pass can visit
// plus two. Every id interned is a tree the pass visits or one a tree
// names; so when more than limit are asked for, at least one of them (not
// the empty tree) is a tree the store lacks, found once the pass has
// visited every tree (missing). Past limit, intern refuses new ids.
type internTable struct {
	slots []internSlot
	mask  uint64
	seed  maphash.Seed // ids are hostile: slots come from a seeded hash of all 20 bytes
	limit int64
	n     atomic.Int64 // ids interned
	full  atomic.Bool  // an id was refused
}

// internSlot is one id's slot: 32 bytes, so that it is in one cache line.
type internSlot struct {
	tag   atomic.Uint64 // 0: free; else the id's hash | 1
	state atomic.Uint32 // slotWritten, slotPresent
	id    plumbing.Hash // valid once slotWritten is set
}

const (
	slotWritten = 1 << iota
	slotPresent // a tree the pass visited
)

// newInternTable makes a table for limit distinct ids, twice as big at
// least (linear probing stays short at that load).
func newInternTable(limit int) *internTable {
	limit = max(limit, 1024)
	size := 1
	for size < 2*limit+64 { // + room for the workers' races past limit
		size *= 2
	}
	return &internTable{slots: make([]internSlot, size), mask: uint64(size - 1),
		seed: maphash.MakeSeed(), limit: int64(limit)}
}

// hash is h's seeded hash. All 20 bytes count: a repository can name any
// number of tree ids sharing their first bytes (a subtree entry need not
// exist), and a hash of those alone piled them into one run of slots,
// every probe comparing whole ids (40,000 such ids took 2.6 s,
// TestInternPrefixCluster).
func (t *internTable) hash(h *plumbing.Hash) uint64 { return maphash.Bytes(t.seed, h[:]) }

func (t *internTable) home(h *plumbing.Hash) uint64 { return t.hash(h) & t.mask }

// intern returns the interned id of h, marking it present if own, or -1
// when h is new and the table holds limit ids already. Safe for
// concurrent use.
func (t *internTable) intern(h *plumbing.Hash, own bool) int32 {
	x := t.hash(h)
	tag := x | 1
	for i := x & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		g := s.tag.Load()
		if g == 0 {
			if t.n.Load() >= t.limit {
				t.full.Store(true)
				return -1
			}
			if s.tag.CompareAndSwap(0, tag) {
				s.id = *h
				t.n.Add(1)
				st := uint32(slotWritten)
				if own {
					st |= slotPresent
				}
				s.state.Store(st)
				return int32(i)
			}
			g = s.tag.Load() // another worker claimed it first
		}
		if g != tag {
			continue
		}
		st := s.state.Load()
		for st&slotWritten == 0 { // being written by another worker
			runtime.Gosched()
			st = s.state.Load()
		}
		if s.id == *h {
			if own && st&slotPresent == 0 {
				s.state.Or(slotPresent)
			}
			return int32(i)
		}
	}
}

// touch reads the first slot of each id of ps (atomic loads: the
// compiler keeps them).
func (t *internTable) touch(ps []pendingID) {
	for i := range ps {
		t.slots[t.home(&ps[i].id)].tag.Load()
	}
}

// find returns the interned id of h and whether it is present, or -1.
func (t *internTable) find(h plumbing.Hash) (int32, bool) {
	x := t.hash(&h)
	tag := x | 1
	for i := x & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		switch s.tag.Load() {
		case 0:
			return -1, false
		case tag:
			if st := s.state.Load(); st&slotWritten != 0 && s.id == h {
				return int32(i), st&slotPresent != 0
			}
		}
	}
}

// missing returns an interned id that is not present and not the empty
// tree, if there is one; once the pass has ended.
func (t *internTable) missing() (plumbing.Hash, bool) {
	for i := range t.slots {
		s := &t.slots[i]
		if st := s.state.Load(); st&slotWritten != 0 && st&slotPresent == 0 && s.id != emptyTree {
			return s.id, true
		}
	}
	return plumbing.ZeroHash, false
}
