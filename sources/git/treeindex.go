package git

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bks-dev/bks/sources/git/internal/pack"
)

// Which trees hold a wanted blob, from one pass over the tree objects.
//
// The attribution of a wanted blob B is the first commit in topological
// order whose tree holds B, at B's first path in that tree (attrib.go).
// Diffing every commit's tree against its parent's finds it, but reads
// every commit's root tree: on git/git (203,000 commits, root trees of
// 15-35 KB stored as deltas in chains up to 50 long) that resolved 7 GB of
// trees through a bounded cache of delta bases, re-reading chains. Whether
// a tree holds B does not depend on the commit, so here each tree object
// of the store is read once, in its pack's delta forest
// (pack.Store.Trees), and parsed only where its delta did not copy whole
// entries of its base (the base's entry ends are kept to know where they
// are). Each tree's record is what it adds to its base's entries and
// drops from them: wanted blobs, and subtrees. Counting along each delta
// chain then gives, for every tree, how many of its entries are a wanted
// blob or a tree known to hold one; repeated until no tree is added, that
// is the set of trees holding a wanted blob. The commit walk then reads
// only the trees of that set (attributeHolding).

// treeRec is one tree object's record from the pass.
type treeRec struct {
	num, base int32
	own       int32 // its id, interned
	// the interned ids of the subtrees it added, then of those it
	// removed, follow the previous record's in treeScanWorker.chg; the
	// wanted blobs it added (+1+index) and removed (-1-index) in wch
	add, drop, wanted int32
}

// treeScan is the pass over the tree objects.
type treeScan struct {
	want    map[plumbing.Hash]int32 // wanted blob -> index
	n       int                     // tree numbers
	filter  [1 << 16 / 64]uint64    // the wanted ids' first two bytes
	mu      sync.Mutex
	intern  map[plumbing.Hash]int32
	present []bool // by interned id: a tree the store holds
	workers []treeScanWorker
}

// treeScanWorker is what one goroutine of the pass recorded, in the order
// it visited the trees (a base before its deltas).
type treeScanWorker struct {
	recs        []treeRec
	chg, wch    []int32
	wscratch    []int32
	added, gone []plumbing.Hash // scratch
	kept        []uint64        // scratch: the base's entries t copied
}

func (x *treeScan) id(h plumbing.Hash) int32 {
	i, ok := x.intern[h]
	if !ok {
		i = int32(len(x.present))
		x.intern[h] = i
		x.present = append(x.present, false)
	}
	return i
}

// scanTrees reads every tree object of the store once (treeScan.visit),
// and checks that the store holds every tree a tree or an included commit
// names. A tree the store lacks is errStoreMiss; a malformed tree too.
func (h *history) scanTrees(ctx context.Context, want map[plumbing.Hash]bool) (*treeScan, error) {
	x := &treeScan{want: make(map[plumbing.Hash]int32, len(want)), intern: map[plumbing.Hash]int32{},
		workers: make([]treeScanWorker, runtime.GOMAXPROCS(0))}
	for id := range want {
		x.want[id] = int32(len(x.want))
		k := int(id[0])<<8 | int(id[1])
		x.filter[k/64] |= 1 << (k % 64)
	}
	n, err := h.store.Trees(ctx, len(x.workers), x.visit)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %v", errStoreMiss, err)
	}
	x.n = n
	for t, i := range x.intern {
		if !x.present[i] && t != emptyTree {
			return nil, fmt.Errorf("%w: tree %s", errStoreMiss, t)
		}
	}
	for i := range h.nodes {
		if t := h.nodes[i].tree; t != emptyTree {
			if j, ok := x.intern[t]; !ok || !x.present[j] {
				return nil, fmt.Errorf("%w: tree %s of commit %s", errStoreMiss, t, h.nodes[i].hash)
			}
		}
	}
	return x, nil
}

// holding returns the ids of the trees that hold (at any depth) a wanted
// blob whose index is in active: how many entries of each tree are such a
// blob or a tree holding one, counted along each delta chain, until no
// tree is added.
func (x *treeScan) holding(active []bool) map[plumbing.Hash]struct{} {
	holds := make([]bool, len(x.present)) // by interned id
	cnt := make([]int32, x.n)
	for grew := true; grew; {
		grew = false
		for w := range x.workers {
			ws := &x.workers[w]
			c, wc := ws.chg, ws.wch
			for _, r := range ws.recs {
				var k int32
				if r.base >= 0 {
					k = cnt[r.base]
				}
				for _, i := range wc[:r.wanted] {
					if i > 0 && active[i-1] {
						k++
					} else if i < 0 && active[-i-1] {
						k--
					}
				}
				wc = wc[r.wanted:]
				for _, i := range c[:r.add] {
					if holds[i] {
						k++
					}
				}
				for _, i := range c[r.add : r.add+r.drop] {
					if holds[i] {
						k--
					}
				}
				c = c[r.add+r.drop:]
				cnt[r.num] = k
			}
			for _, r := range ws.recs {
				if cnt[r.num] > 0 && !holds[r.own] {
					holds[r.own], grew = true, true
				}
			}
		}
	}
	out := map[plumbing.Hash]struct{}{}
	for t, i := range x.intern {
		if holds[i] {
			out[t] = struct{}{}
		}
	}
	return out
}

// visit records tree t: the entries it adds to its base's and those it
// drops. An entry of the base that a copy op of t's delta copies whole,
// from an entry boundary on both sides, is one of t's entries unparsed.
func (x *treeScan) visit(w int, t *pack.Tree) ([]int32, error) {
	ws := &x.workers[w]
	ws.added, ws.gone, ws.wscratch = ws.added[:0], ws.gone[:0], ws.wscratch[:0]
	cur, be, ends := t.Data, t.BaseEnds, t.Ends
	m := len(be)
	ws.kept = ws.kept[:0]
	for range (m + 63) / 64 {
		ws.kept = append(ws.kept, 0)
	}
	start := func(j int) int { // where base entry j starts
		if j == 0 {
			return 0
		}
		return int(be[j-1])
	}
	p, ci := 0, 0
	for p < len(cur) {
		for ci < len(t.Copies) && t.Copies[ci].At+t.Copies[ci].Len <= p {
			ci++
		}
		if ci < len(t.Copies) && t.Copies[ci].At <= p {
			c := t.Copies[ci]
			q, lim := c.From+p-c.At, c.From+c.Len
			k := sort.Search(m, func(i int) bool { return int(be[i]) > q })
			if k < m && start(k) == q {
				k2 := k + sort.Search(m-k, func(i int) bool { return int(be[k+i]) > lim })
				if k2 > k {
					shift := int32(p - q)
					for j := k; j < k2; j++ {
						if ws.kept[j/64]&(1<<(j%64)) != 0 {
							// Copied twice: this copy is an entry added.
							if _, err := x.entry(t.Base, start(j), 1, &ws.wscratch, &ws.added); err != nil {
								return nil, fmt.Errorf("base of tree %s: %w", t.ID, err)
							}
						}
						ws.kept[j/64] |= 1 << (j % 64)
						ends = append(ends, be[j]+shift)
					}
					p = int(be[k2-1] + shift)
					continue
				}
			}
		}
		end, err := x.entry(cur, p, 1, &ws.wscratch, &ws.added)
		if err != nil {
			return nil, fmt.Errorf("tree %s: %w", t.ID, err)
		}
		p = end
		ends = append(ends, int32(p))
	}
	// The base's entries not copied were dropped.
	for i, word := range ws.kept {
		for b := 0; b < 64 && word != ^uint64(0); b++ {
			j := i*64 + b
			if j >= m {
				break
			}
			if word&(1<<b) == 0 {
				if _, err := x.entry(t.Base, start(j), -1, &ws.wscratch, &ws.gone); err != nil {
					return nil, fmt.Errorf("base of tree %s: %w", t.ID, err)
				}
			}
		}
	}
	x.mu.Lock()
	r := treeRec{num: t.Num, base: t.BaseNum, own: x.id(plumbing.Hash(t.ID)),
		add: int32(len(ws.added)), drop: int32(len(ws.gone)), wanted: int32(len(ws.wscratch))}
	ws.wch = append(ws.wch, ws.wscratch...)
	x.present[r.own] = true
	for _, s := range ws.added {
		ws.chg = append(ws.chg, x.id(s))
	}
	for _, s := range ws.gone {
		ws.chg = append(ws.chg, x.id(s))
	}
	x.mu.Unlock()
	ws.recs = append(ws.recs, r)
	return ends, nil
}

// entry parses the entry of data at pos, lists it in wanted (as sign times
// 1+index) when it is a wanted blob, or in subs when it is a subtree, and
// returns where it ends.
func (x *treeScan) entry(data []byte, pos int, sign int32, wanted *[]int32, subs *[]plumbing.Hash) (int, error) {
	e, rest, err := nextEntry(data[pos:])
	if err != nil {
		return 0, err
	}
	switch e.mode & modeTypeMask {
	case modeDir:
		*subs = append(*subs, plumbing.Hash(e.id))
	case modeGitlink:
	default:
		k := int(e.id[0])<<8 | int(e.id[1])
		if x.filter[k/64]&(1<<(k%64)) != 0 {
			if i, ok := x.want[plumbing.Hash(e.id)]; ok {
				*wanted = append(*wanted, sign*(i+1))
			}
		}
	}
	return len(data) - len(rest), nil
}
