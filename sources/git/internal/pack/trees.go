package pack

// Visiting every tree object of the store once, as Blobs visits blobs: each
// pack's tree forests walked from their full objects down, every delta
// applied once onto its base still in memory. The in-process attribution
// walk reads trees this way to learn which trees hold a wanted blob
// without reading each commit's root tree by id (on git/git that re-read
// 7 GB of delta chains through a bounded cache).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
)

// Tree is one tree object handed to a TreeVisitor. Data and Base are
// valid only during the call.
type Tree struct {
	ID ID
	// Num numbers the tree objects of one Trees call (0..n-1; a tree in
	// two packs, or packed and loose, has two numbers).
	Num int32
	// BaseNum is the number of the tree this one is stored as a delta
	// of, and Base that tree's content; -1 and nil for a whole object.
	BaseNum int32
	Data    []byte
	Base    []byte
	// Copies, for a delta, are its copy ops: Data[c.At:c.At+c.Len] is
	// Base[c.From:c.From+c.Len]; the rest of Data was inserted.
	Copies []Copy
	// Depth is the tree's depth in its delta forest: 0 for a whole
	// object, its base's plus one for a delta. The tree visited last at
	// Depth-1 by the same worker is its base: a visitor may keep what it
	// learnt of a tree by depth, until the next tree of that depth.
	Depth int
}

// TreeVisitor is called for every tree, concurrently from several
// goroutines (worker is 0..workers-1), a base always before its deltas
// (depth first: see Tree.Depth). An error stops the walk.
type TreeVisitor func(worker int, t *Tree) error

// Trees calls visit for every tree object in the store, with workers
// goroutines, and returns how many it numbered. It first calls begin, if
// not nil, with how many calls of visit there can be at most (the packs'
// tree objects and the loose objects).
func (s *Store) Trees(ctx context.Context, workers int, begin func(trees int), visit TreeVisitor) (int, error) {
	workers = max(workers, 1)
	start := make([]int32, len(s.packs))
	n, trees := 0, 0
	for i, p := range s.packs {
		if err := s.scanHeaders(p); err != nil {
			return 0, err
		}
		if int64(n)+int64(p.n) > 1<<31-1 {
			return 0, fmt.Errorf("%s: too many objects", p.name)
		}
		start[i] = int32(n)
		n += p.n
		trees += p.trees
	}
	loose, err := s.looseFiles()
	if err != nil {
		return 0, err
	}
	if begin != nil {
		begin(trees + len(loose))
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type job struct {
		pack int
		root int32
	}
	jobs := make(chan job, 4*workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			tw := &treeWorker{id: w, visit: visit}
			for j := range jobs {
				if ctx.Err() != nil {
					continue
				}
				p := s.packs[j.pack]
				if err := s.tree(tw, p, start[j.pack], j.root); err != nil {
					cancel(fmt.Errorf("%s: %w", p.name, err))
				}
			}
		})
	}
	func() {
		defer close(jobs)
		for i, p := range s.packs {
			for _, r := range p.treeRoots {
				select {
				case jobs <- job{i, r}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return 0, err
	}
	// Loose trees, after the packs' (few: git packs them on gc).
	tw := &treeWorker{visit: visit}
	for _, path := range loose {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		ok, err := tw.looseTree(path, int32(n))
		if err != nil {
			return 0, err
		}
		if ok {
			if n == 1<<31-1 {
				return 0, fmt.Errorf("too many objects")
			}
			n++
		}
	}
	return n, nil
}

// looseFiles lists the loose object files of every object directory.
func (s *Store) looseFiles() ([]string, error) {
	var out []string
	err := s.eachLoose(func(path string) bool {
		out = append(out, path)
		return true
	})
	return out, err
}

// treeWorker holds one goroutine's buffers.
type treeWorker struct {
	id     int
	visit  TreeVisitor
	w      worker // inflater and compressed-data buffer
	delta  []byte
	copies []Copy
	bufs   [][]byte // content by depth
	t      Tree
}

func (tw *treeWorker) at(depth int) []byte {
	for len(tw.bufs) <= depth {
		tw.bufs = append(tw.bufs, nil)
	}
	return tw.bufs[depth]
}

// tree is tw.tree, a fault reading a mapped pack an error (mmap.go).
func (s *Store) tree(tw *treeWorker, p *packFile, start, root int32) (err error) {
	defer s.guard(debug.SetPanicOnFault(true), &err)
	return tw.tree(p, start, root)
}

// tree visits the whole tree object root (number start+root) and every
// delta under it, depth first.
func (tw *treeWorker) tree(p *packFile, start, root int32) error {
	data, err := tw.w.inflate(p, root, p.size64[root], tw.at(0))
	if err != nil {
		return err
	}
	tw.bufs[0] = data
	tw.t = Tree{ID: p.id(root), Num: start + root, BaseNum: -1, Data: data}
	if err := tw.visit(tw.id, &tw.t); err != nil {
		return err
	}
	return tw.kids(p, start, root, 1)
}

func (tw *treeWorker) kids(p *packFile, start, k int32, depth int) error {
	for _, c := range p.kids[p.first[k]:p.first[k+1]] {
		d, err := tw.w.inflate(p, c, p.size64[c], tw.delta)
		if err != nil {
			return err
		}
		tw.delta = d
		out, _, copies, err := patch(tw.bufs[depth-1], d, tw.at(depth), nil, tw.copies[:0], true)
		if err != nil {
			return fmt.Errorf("object %s: %v", p.id(c), err)
		}
		tw.bufs[depth], tw.copies = out, copies
		tw.t = Tree{ID: p.id(c), Num: start + c, BaseNum: start + k, Data: out, Base: tw.bufs[depth-1],
			Copies: copies, Depth: depth}
		if err := tw.visit(tw.id, &tw.t); err != nil {
			return err
		}
		if p.first[c+1] > p.first[c] {
			if err := tw.kids(p, start, c, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// looseTree visits the loose object at path, numbered num, if it is a tree.
func (tw *treeWorker) looseTree(path string, num int32) (bool, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	id, err := looseID(path)
	if err != nil {
		return false, err
	}
	z := &tw.w.z
	if err := z.reset(bytes.NewReader(raw)); err != nil {
		return false, fmt.Errorf("object %s: %v", id, err)
	}
	var head [32]byte
	n, _ := io.ReadFull(z.zr, head[:])
	typ, rest, ok := bytes.Cut(head[:n], []byte{' '})
	if !ok {
		return false, fmt.Errorf("object %s: bad loose object header", id)
	}
	if string(typ) != "tree" {
		return false, nil
	}
	sz, _, ok := bytes.Cut(rest, []byte{0})
	size, err := strconv.ParseInt(string(sz), 10, 64)
	if !ok || err != nil || size < 0 || size > maxInflated(int64(len(raw))) {
		return false, fmt.Errorf("object %s: bad loose object header", id)
	}
	hl := int64(len("tree ") + len(sz) + 1)
	full, err := tw.w.inflateBytes(raw, hl+size, nil, func() string { return id.String() })
	if err != nil {
		return false, err
	}
	tw.t = Tree{ID: id, Num: num, BaseNum: -1, Data: full[hl:]}
	if err := tw.visit(tw.id, &tw.t); err != nil {
		return false, err
	}
	return true, nil
}

// windowSize is how much of a pack a window holds. The trees of one delta
// forest lie near one another in a pack: one read of the file for each
// object was a quarter of Trees' time on a generated history.
const windowSize = 64 << 10

// window is a piece of a pack read at once.
type window struct {
	p     *packFile
	start int64
	buf   []byte
}

// inflate inflates the zlib data at [start, end) of p, through the window
// (an unmapped pack's: a mapped one is inflated where it is mapped).
func (win *window) inflate(w *worker, p *packFile, start, end, want int64, dst []byte, name func() string) ([]byte, error) {
	if win.p != p || start < win.start || end > win.start+int64(len(win.buf)) {
		n := max(end-start, windowSize)
		n = min(n, p.size-start)
		if int64(cap(win.buf)) < n {
			win.buf = make([]byte, n)
		}
		win.buf = win.buf[:n]
		if _, err := p.f.ReadAt(win.buf, start); err != nil {
			win.p = nil
			return nil, fmt.Errorf("object %s: %v (truncated pack?)", name(), err)
		}
		win.p, win.start = p, start
	}
	return w.inflateBytes(win.buf[start-win.start:end-win.start], want, dst, name)
}
