package git

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"

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
// drops from them: wanted blobs, and subtrees (their ids interned in one
// table the workers share without locks: intern.go). Counting along each delta
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
	tab     *internTable            // the tree ids (intern.go)
	workers []treeScanWorker
}

// treeScanWorker is what one goroutine of the pass recorded, in the order
// it visited the trees (a base before its deltas).
type treeScanWorker struct {
	recs        []treeRec
	chg, wch    []int32
	wscratch    []int32
	added, gone []plumbing.Hash // scratch
	pend        []pendingID     // to intern (flush)
	kept        [][2]int32      // scratch: the base's entries t copied whole
	levels      []treeLevel     // what is known of the tree last visited at each depth
	flat        []int32         // scratch for flatten
}

// A tree's entry ends (where each of its entries ends in its raw object)
// are kept as segments, not one number per entry: a delta copies most of
// its base's entries whole, so its ends are mostly its base's, shifted.
// Writing them out per entry cost more than the rest of the pass (5.8 GB
// of trees on git/git: 145 million entries).
type treeLevel struct {
	segs []endSeg
	own  []int32 // the ends parsed at this depth, which segs point into
	n    int32   // entries
}

// endSeg is entries first.. of a tree: their ends are
// levels[src].own[lo:hi], each plus shift; last is the last of them (kept
// here, the search of above reads only the segments, not the ends of
// other depths: that was half of above).
type endSeg struct{ src, lo, hi, shift, first, last int32 }

// maxSegs: a tree whose ends take more segments has them written out
// (flatten), or deep delta chains would pile up segments (each delta of a
// chain splits its base's at what it changed) and copying them would cost
// what writing out the ends did. A variable for tests.
var maxSegs = 24

// flatten writes lv's ends out, at depth, in one segment.
func (ws *treeScanWorker) flatten(lv *treeLevel, depth int) {
	flat := ws.flat[:0]
	for _, g := range lv.segs {
		for _, e := range ws.levels[g.src].own[g.lo:g.hi] {
			flat = append(flat, e+g.shift)
		}
	}
	ws.flat, lv.own = lv.own, flat
	lv.segs = lv.segs[:0]
	if lv.n > 0 {
		lv.segs = append(lv.segs, endSeg{src: int32(depth), hi: lv.n, last: flat[lv.n-1]})
	}
}

func (ws *treeScanWorker) level(depth int) *treeLevel {
	for len(ws.levels) <= depth {
		ws.levels = append(ws.levels, treeLevel{})
	}
	lv := &ws.levels[depth]
	lv.segs, lv.own, lv.n = lv.segs[:0], lv.own[:0], 0
	return lv
}

// end returns where entry j of lv ends.
func (ws *treeScanWorker) end(lv *treeLevel, j int32) int32 {
	s := sort.Search(len(lv.segs), func(i int) bool { return lv.segs[i].first > j }) - 1
	g := &lv.segs[s]
	return ws.levels[g.src].own[g.lo+j-g.first] + g.shift
}

// start returns where entry j of lv starts.
func (ws *treeScanWorker) start(lv *treeLevel, j int32) int32 {
	if j == 0 {
		return 0
	}
	return ws.end(lv, j-1)
}

// above returns the first entry of lv that ends after q (lv.n if none),
// where the entry before it ends (0 if none): where it starts, and the
// segment it is in. Most copy ops copy from the base's start or to its
// end: those two are answered without a search.
func (ws *treeScanWorker) above(lv *treeLevel, q int32) (k, at int32, s int) {
	segs := lv.segs
	if len(segs) == 0 {
		return 0, 0, 0
	}
	if last := segs[len(segs)-1].last; q >= last {
		return lv.n, last, len(segs)
	}
	if g := &segs[0]; ws.levels[g.src].own[g.lo]+g.shift > q {
		return 0, 0, 0
	}
	s = sort.Search(len(segs), func(i int) bool { return segs[i].last > q })
	g := &segs[s]
	own := ws.levels[g.src].own[g.lo:g.hi]
	i := sort.Search(len(own), func(i int) bool { return own[i]+g.shift > q })
	switch {
	case i > 0:
		return g.first + int32(i), own[i-1] + g.shift, s
	case s > 0:
		return g.first, segs[s-1].last, s
	}
	return g.first, 0, s
}

// parsed appends an entry of lv (at depth) parsed in place, ending at end.
func (lv *treeLevel) parsed(depth int, end int32) {
	lv.own = append(lv.own, end)
	i := int32(len(lv.own))
	if k := len(lv.segs) - 1; k >= 0 && lv.segs[k].src == int32(depth) && lv.segs[k].hi == i-1 && lv.segs[k].shift == 0 {
		lv.segs[k].hi, lv.segs[k].last = i, end
	} else {
		lv.segs = append(lv.segs, endSeg{src: int32(depth), lo: i - 1, hi: i, first: lv.n, last: end})
	}
	lv.n++
}

// copied appends entries k..k2-1 of base, shifted by shift, to lv: k is
// in base's segment s, and entry k2-1 ends at end.
func (lv *treeLevel) copied(base *treeLevel, k, k2 int32, s int, end, shift int32) {
	for ; k < k2; s++ {
		g := base.segs[s]
		lo := g.lo + k - g.first
		hi := min(g.hi, lo+k2-k)
		sh := g.shift + shift
		last := g.last + shift
		if hi < g.hi {
			last = end + shift
		}
		if n := len(lv.segs) - 1; n >= 0 && lv.segs[n].src == g.src && lv.segs[n].hi == lo && lv.segs[n].shift == sh {
			lv.segs[n].hi, lv.segs[n].last = hi, last
		} else {
			lv.segs = append(lv.segs, endSeg{src: g.src, lo: lo, hi: hi, shift: sh, first: lv.n, last: last})
		}
		lv.n += hi - lo
		k += hi - lo
	}
}

// intern returns the interned id of h, and marks it present if own; -1
// when the table is full (then scanTrees fails: see internTable).
func (x *treeScan) intern(h plumbing.Hash, own bool) int32 {
	return x.tab.intern(&h, own)
}

// scanTrees reads every tree object of the store once (treeScan.visit),
// and checks that the store holds every tree a tree or an included commit
// names. A tree the store lacks is errStoreMiss; a malformed tree too.
func (h *history) scanTrees(ctx context.Context, want map[plumbing.Hash]bool) (*treeScan, error) {
	x := newTreeScan(want, runtime.GOMAXPROCS(0), 0)
	begin := func(trees int) { x.tab = newInternTable(trees + 2) }
	n, err := h.store.Trees(ctx, len(x.workers), begin, x.visit)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %v", errStoreMiss, err)
	}
	x.n = n
	if err := x.ended(); err != nil {
		return nil, err
	}
	for i := range h.nodes {
		if t := h.nodes[i].tree; t != emptyTree {
			if !x.has(t) {
				return nil, fmt.Errorf("%w: tree %s of commit %s", errStoreMiss, t, h.nodes[i].hash)
			}
		}
	}
	return x, nil
}

// ended interns what the workers have not yet, once the pass has visited
// every tree, and checks that every tree a tree names was visited.
func (x *treeScan) ended() error {
	for w := range x.workers {
		x.flush(&x.workers[w])
	}
	if miss, ok := x.tab.missing(); ok {
		return fmt.Errorf("%w: tree %s", errStoreMiss, miss)
	}
	if x.tab.full.Load() {
		// Not reached: see internTable.
		return fmt.Errorf("%w: more trees named than the store holds", errStoreMiss)
	}
	return nil
}

// newTreeScan makes a pass for want with workers goroutines, over at most
// trees tree objects.
func newTreeScan(want map[plumbing.Hash]bool, workers, trees int) *treeScan {
	x := &treeScan{want: make(map[plumbing.Hash]int32, len(want)), workers: make([]treeScanWorker, workers),
		tab: newInternTable(trees + 2)}
	for id := range want {
		x.want[id] = int32(len(x.want))
		k := int(id[0])<<8 | int(id[1])
		x.filter[k/64] |= 1 << (k % 64)
	}
	return x
}

// has says whether the pass read tree t.
func (x *treeScan) has(t plumbing.Hash) bool {
	_, present := x.tab.find(t)
	return present
}

// holding returns which trees (by interned id: see holds) hold, at any
// depth, a wanted blob whose index is in active: how many entries of each
// tree are such a blob or a tree holding one, counted along each delta
// chain, until no tree is added. (It made a map of their ids, which cost
// more than the rest when remade for each few blobs attributed, on a
// generated history with 40 keys.)
func (x *treeScan) holding(active []bool) []bool {
	holds := make([]bool, len(x.tab.slots)) // by interned id
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
	return holds
}

// holds says whether tree t is one of holding's.
func (x *treeScan) holds(holding []bool, t plumbing.Hash) bool {
	i, _ := x.tab.find(t)
	return i >= 0 && holding[i]
}

// visit records tree t: the entries it adds to its base's and those it
// drops. An entry of the base that a copy op of t's delta copies whole,
// from an entry boundary on both sides, is one of t's entries unparsed.
func (x *treeScan) visit(w int, t *pack.Tree) error {
	ws := &x.workers[w]
	ws.added, ws.gone, ws.wscratch, ws.kept = ws.added[:0], ws.gone[:0], ws.wscratch[:0], ws.kept[:0]
	lv := ws.level(t.Depth)
	var base *treeLevel
	if t.Depth > 0 {
		base = &ws.levels[t.Depth-1]
	}
	cur := t.Data
	p, ci := 0, 0
	for p < len(cur) {
		for ci < len(t.Copies) && t.Copies[ci].At+t.Copies[ci].Len <= p {
			ci++
		}
		if base != nil && ci < len(t.Copies) && t.Copies[ci].At <= p {
			c := t.Copies[ci]
			q, lim := int32(c.From+p-c.At), int32(c.From+c.Len)
			k, at, s := ws.above(base, q)
			if k < base.n && at == q {
				if k2, end, _ := ws.above(base, lim); k2 > k {
					shift := int32(p) - q
					lv.copied(base, k, k2, s, end, shift)
					ws.kept = append(ws.kept, [2]int32{k, k2})
					p = int(end + shift)
					continue
				}
			}
		}
		end, err := x.entry(cur, p, 1, &ws.wscratch, &ws.added)
		if err != nil {
			return fmt.Errorf("tree %s: %w", t.ID, err)
		}
		p = end
		lv.parsed(t.Depth, int32(p))
	}
	if base != nil {
		if err := x.unkept(ws, base, t.Base); err != nil {
			return fmt.Errorf("base of tree %s: %w", t.ID, err)
		}
	}
	if len(lv.segs) > maxSegs {
		ws.flatten(lv, t.Depth)
	}
	r := treeRec{num: t.Num, base: t.BaseNum, add: int32(len(ws.added)), drop: int32(len(ws.gone)),
		wanted: int32(len(ws.wscratch))}
	ws.wch = append(ws.wch, ws.wscratch...)
	ws.pend = append(ws.pend, pendingID{plumbing.Hash(t.ID), -1 - int32(len(ws.recs))})
	for _, s := range ws.added {
		ws.pend = append(ws.pend, pendingID{s, int32(len(ws.chg))})
		ws.chg = append(ws.chg, -1)
	}
	for _, s := range ws.gone {
		ws.pend = append(ws.pend, pendingID{s, int32(len(ws.chg))})
		ws.chg = append(ws.chg, -1)
	}
	ws.recs = append(ws.recs, r)
	if len(ws.pend) >= internBatch {
		x.flush(ws)
	}
	return nil
}

// pendingID is an id to intern: into ws.chg[at], or, if at < 0, as
// ws.recs[-1-at].own.
type pendingID struct {
	id plumbing.Hash
	at int32
}

// internBatch: the ids a worker records are interned in batches, their
// slots read once first: the reads of one batch then miss the cache side
// by side, not one after the other (nearly every read of the table is a
// miss on git/git).
const internBatch = 256

// flush interns ws.pend.
func (x *treeScan) flush(ws *treeScanWorker) {
	x.tab.touch(ws.pend)
	for _, p := range ws.pend {
		if p.at < 0 {
			ws.recs[-1-p.at].own = x.tab.intern(&p.id, true)
		} else {
			ws.chg[p.at] = x.tab.intern(&p.id, false)
		}
	}
	ws.pend = ws.pend[:0]
}

// unkept records what the base's entries ws.kept does not copy once
// mean: one not copied was dropped, one copied twice or more is added
// again for each copy after the first.
func (x *treeScan) unkept(ws *treeScanWorker, base *treeLevel, data []byte) error {
	kept := ws.kept
	slices.SortFunc(kept, func(a, b [2]int32) int { return cmp.Compare(a[0], b[0]) })
	var upto int32 // entries before upto are copied
	each := func(from, to, sign int32, subs *[]plumbing.Hash) error {
		if from >= to {
			return nil
		}
		at := int(ws.start(base, from))
		for range to - from { // each entry starts where the one before ends
			end, err := x.entry(data, at, sign, &ws.wscratch, subs)
			if err != nil {
				return err
			}
			at = end
		}
		return nil
	}
	for _, r := range kept {
		if err := each(upto, r[0], -1, &ws.gone); err != nil {
			return err
		}
		if err := each(r[0], min(r[1], upto), 1, &ws.added); err != nil {
			return err
		}
		upto = max(upto, r[1])
	}
	return each(upto, base.n, -1, &ws.gone)
}

// entry parses the entry of data at pos, lists it in wanted (as sign times
// 1+index) when it is a wanted blob, or in subs when it is a subtree, and
// returns where it ends.
func (x *treeScan) entry(data []byte, pos int, sign int32, wanted *[]int32, subs *[]plumbing.Hash) (int, error) {
	mode, _, end, err := entryAt(data, pos)
	if err != nil {
		return 0, err
	}
	id := data[end-20 : end]
	switch mode & modeTypeMask {
	case modeDir:
		*subs = append(*subs, plumbing.Hash(id))
	case modeGitlink:
	default:
		k := int(id[0])<<8 | int(id[1])
		if x.filter[k/64]&(1<<(k%64)) != 0 {
			if i, ok := x.want[plumbing.Hash(id)]; ok {
				*wanted = append(*wanted, sign*(i+1))
			}
		}
	}
	return end, nil
}
