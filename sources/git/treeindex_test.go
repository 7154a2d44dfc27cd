package git

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bks-dev/bks/sources/git/internal/pack"
)

// treeScan.visit against a full parse of every tree, on chains of trees
// stored as deltas whose copy ops start and end anywhere (inside names and
// ids), copy one entry of the base twice, and names that read like the
// start of another entry ("x 100644 a"), so that bytes copied from an
// entry boundary of the base need not be one in the tree.
func TestTreeScanVisit(t *testing.T) {
	for _, segs := range []int{maxSegs, 3, 0} { // 0: every tree's ends written out
		t.Run(fmt.Sprint("maxSegs=", segs), func(t *testing.T) {
			defer func(n int) { maxSegs = n }(maxSegs)
			maxSegs = segs
			testTreeScanVisit(t)
		})
	}
}

func testTreeScanVisit(t *testing.T) {
	ids := make([]plumbing.Hash, 6)
	for i := range ids {
		ids[i] = plumbing.NewHash(fmt.Sprintf("%02x", i+1) + "3456789012345678901234567890123456789a"[:38])
	}
	want := map[plumbing.Hash]bool{ids[0]: true, ids[1]: false}
	names := []string{"a", "b", "ab", "x 100644 a", "100644 a", "a\x01", "40000 b", "zz"}
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 3))
		x := newTreeScan(want, 1, 0)
		var entries []string
		var base []byte
		for step := range 12 {
			entries = mutateEntries(rng, entries, names, ids)
			data := []byte(strings0(entries))
			tr := &pack.Tree{Num: int32(step), BaseNum: int32(step - 1), Data: data, Depth: step}
			if step > 0 {
				tr.Base, tr.Copies = base, copyOps(rng, data, base)
			} else {
				tr.BaseNum = -1
			}
			if err := x.visit(0, tr); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			ws := &x.workers[0]
			x.flush(ws)
			lv := &ws.levels[step]
			var ends []int32
			for j := range lv.n {
				ends = append(ends, ws.end(lv, j))
			}
			wantEnds, subs, wanted := parseAll(t, data, want)
			if !slices.Equal(ends, wantEnds) {
				t.Fatalf("seed %d step %d: ends %v, want %v", seed, step, ends, wantEnds)
			}
			for _, g := range lv.segs {
				if l := ends[g.first+g.hi-g.lo-1]; g.last != l {
					t.Fatalf("seed %d step %d: segment %+v ends at %d", seed, step, g, l)
				}
			}
			_, baseSubs, baseWanted := parseAll(t, base, want)
			r := ws.recs[len(ws.recs)-1]
			var got int32
			for _, i := range ws.wch[len(ws.wch)-int(r.wanted):] {
				got += i / max(i, -i)
			}
			if got != wanted-baseWanted {
				t.Fatalf("seed %d step %d: wanted %+d, want %+d", seed, step, got, wanted-baseWanted)
			}
			chg := ws.chg[len(ws.chg)-int(r.add+r.drop):]
			diff := map[int32]int{}
			for _, s := range subs {
				diff[x.intern(s, false)]++
			}
			for _, s := range baseSubs {
				diff[x.intern(s, false)]--
			}
			for _, i := range chg[:r.add] {
				diff[i]--
			}
			for _, i := range chg[r.add:] {
				diff[i]++
			}
			for i, d := range diff {
				if d != 0 {
					t.Fatalf("seed %d step %d: subtree %d counted %+d off", seed, step, i, d)
				}
			}
			base = data
		}
	}
}

func strings0(entries []string) string {
	var b bytes.Buffer
	for _, e := range entries {
		b.WriteString(e)
	}
	return b.String()
}

// mutateEntries adds, drops, changes or duplicates a few raw entries.
func mutateEntries(rng *rand.Rand, entries, names []string, ids []plumbing.Hash) []string {
	entry := func() string {
		mode := []string{"100644", "40000", "160000", "120000"}[rng.IntN(4)]
		id := ids[rng.IntN(len(ids))]
		return mode + " " + names[rng.IntN(len(names))] + "\x00" + string(id[:])
	}
	for range 1 + rng.IntN(4) {
		i := 0
		if len(entries) > 0 {
			i = rng.IntN(len(entries) + 1)
		}
		switch op := rng.IntN(4); {
		case op == 0 || len(entries) == 0 || i == len(entries):
			entries = slices.Insert(entries, i, entry())
		case op == 1:
			entries = slices.Delete(entries, i, i+1)
		case op == 2:
			entries[i] = entry()
		default:
			entries = slices.Insert(entries, rng.IntN(len(entries)+1), entries[i])
		}
	}
	return entries
}

// copyOps lists the copy ops a delta of data against base could have:
// greedy longest matches, cut at random points, some left as inserts.
func copyOps(rng *rand.Rand, data, base []byte) []pack.Copy {
	var ops []pack.Copy
	for p := 0; p < len(data); {
		from, n := 0, 0
		for f := range base {
			l := 0
			for p+l < len(data) && f+l < len(base) && data[p+l] == base[f+l] {
				l++
			}
			if l > n {
				from, n = f, l
			}
		}
		if n > 1 && rng.IntN(3) == 0 {
			n = 1 + rng.IntN(n) // cut inside an entry
		}
		if n < 4 || rng.IntN(10) == 0 {
			p++ // an inserted byte
			continue
		}
		ops = append(ops, pack.Copy{At: p, From: from, Len: n})
		p += n
	}
	return ops
}

// parseAll parses every entry of data: its ends, subtrees and how many
// wanted blobs it lists.
func parseAll(t *testing.T, data []byte, want map[plumbing.Hash]bool) ([]int32, []plumbing.Hash, int32) {
	var ends []int32
	var subs []plumbing.Hash
	var wanted int32
	for p := 0; p < len(data); {
		e, rest, err := nextEntry(data[p:])
		if err != nil {
			t.Fatal(err)
		}
		p = len(data) - len(rest)
		ends = append(ends, int32(p))
		switch e.mode & modeTypeMask {
		case modeDir:
			subs = append(subs, plumbing.Hash(e.id))
		case modeGitlink:
		default:
			if _, ok := want[plumbing.Hash(e.id)]; ok {
				wanted++
			}
		}
	}
	return ends, subs, wanted
}
