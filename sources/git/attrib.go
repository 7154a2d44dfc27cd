package git

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/bks-dev/bks/sources/git/internal/pack"
)

// The attribution walk in process. Once the blob-first scan knows which
// blobs hold a candidate, each must be given the commit that introduced it
// and its path there: the first commit, in bks's topological order, whose
// diff against its parents shows the blob (fast.go's `git log --raw -c`
// walk, which costs a process reading every commit's diff).
//
// A commit's diff against its parents (for a merge, the combined diff: the
// paths that differ from every parent) shows every blob of its tree that no
// parent has; a blob a parent has was shown by an earlier commit already.
// So "the first commit whose diff shows blob B, at the first path in tree
// order" is "the first commit whose tree holds B, at its first path in tree
// order". The walk here goes through the commits in topological order and
// diffs each one's tree against its first parent's: an entry the parent
// has too (same name, mode and id) holds only blobs seen before, and so
// does a subtree id seen before, so neither is read (Nosey Parker's walk).
// What is left are the few entries each commit changed; those blobs not
// seen before are the commit's. Raw trees are parsed in place, without
// allocating, and kept in a bounded cache (the parent's trees were read for
// the parent, most often just before), over a bounded cache of delta
// bases; trees come from the object store the blob scan read (packs.go).
// The walk stops once every wanted blob is attributed.
//
// When only some blobs are wanted (the blob-first scan's candidates), the
// commits' trees are not diffed: each tree object is read once, in its
// pack's delta forest, to learn which trees hold a wanted blob
// (treeindex.go), and the walk reads only those (attributeHolding). On
// git/git with 2 planted keys that took the attribution from 29 to 14 s
// of CPU on a loaded machine. The diff walk stays for every blob (want
// nil).
//
// HEAD's tree (in_head) and trees that refs name are read the same way. An
// object the store cannot give (a partial clone's promisor objects, a thin
// pack) is errStoreMiss: the git log walk then runs instead. The git log
// walk is also the oracle of the equivalence tests (attrib_test.go).

// errStoreMiss: the object store did not hold an object the walk needs.
var errStoreMiss = errors.New("object not in the object store")

// errAllFound stops the walk once every wanted blob is attributed.
var errAllFound = errors.New("every wanted blob attributed")

// deltaCacheBytes bounds the delta bases each part of the walk keeps,
// treeCacheBytes its raw trees.
const (
	deltaCacheBytes = 8 << 20
	treeCacheBytes  = 8 << 20
)

// emptyTree is git's empty tree, which git knows without storing it.
var emptyTree = plumbing.NewHash("4b825dc642cb6eb9a060e54bf8d69288fbee4904")

// attributeStore calls add with the first record of each blob in
// topological order, as walkRecords does, reading the object store. With
// want set, only wanted blobs are passed on, and the walk stops once each
// is. It fills headBlobs first.
func (h *history) attributeStore(ctx context.Context, want map[plumbing.Hash]bool, add func(record) error) error {
	r := h.store.NewReader()
	r.SetCache(deltaCacheBytes)
	h.trees = r
	defer func() { h.trees = nil }()
	if err := h.walkHeadAndBoundary(ctx); err != nil {
		return err
	}
	left := len(want)
	first := func(r record) error {
		if _, ok := h.seenBlobs[r.blob]; ok {
			return nil
		}
		h.seenBlobs[r.blob] = struct{}{}
		if want == nil {
			return add(r)
		}
		if _, ok := want[r.blob]; !ok {
			return nil
		}
		if err := add(r); err != nil {
			return err
		}
		if left--; left == 0 {
			return errAllFound
		}
		return nil
	}
	var err error
	if want != nil {
		err = h.attributeHolding(ctx, want, first)
	} else {
		err = h.walkCommitTrees(ctx, want, first)
	}
	if err == nil {
		err = h.looseRecords(ctx, first)
	}
	if errors.Is(err, errAllFound) {
		return nil
	}
	return err
}

// walkCommitTrees diffs the included commits' trees, in topological
// order, against their first parent's, and calls add with what each shows.
//
// A commit's diff does not depend on the others', so a long history is cut
// into parts walked at once (inParts), as the git log walk is; a part holds
// only the wanted blobs' first records. What add sees is what one walk
// would show, less entries under trees another part had diffed, whose
// blobs add sees first anyway.
func (h *history) walkCommitTrees(ctx context.Context, want map[plumbing.Hash]bool, add func(record) error) error {
	var mu sync.Mutex
	var seens []map[plumbing.Hash]struct{} // the parts' diffed trees
	err := inParts(ctx, h.topoOrder(), func(ctx context.Context, k int, part []int32, add func(record) error) error {
		seen := h.seenTrees
		if k > 0 {
			seen = map[plumbing.Hash]struct{}{}
			mu.Lock()
			seens = append(seens, seen)
			mu.Unlock()
		}
		kept := map[plumbing.Hash]struct{}{}
		return h.diffCommits(ctx, newTreeDiff(h.store, seen, func(r record) error {
			if _, ok := want[r.blob]; want != nil && !ok {
				return nil
			}
			if _, ok := kept[r.blob]; ok {
				return nil
			}
			kept[r.blob] = struct{}{}
			return add(r)
		}), part)
	}, add)
	if err == nil {
		// Every blob under the parts' trees has now been seen.
		for _, seen := range seens {
			for id := range seen {
				h.seenTrees[id] = struct{}{}
			}
		}
	}
	return err
}

// attributeHolding calls add with what the included commits' trees hold of
// want, in topological order, reading only the trees that hold some of it
// (treeindex.go): the first commit whose tree holds a wanted blob, at the
// blob's first path in tree order, is the one whose diff shows it first.
// A blob that stays in the tree for long keeps its trees in the holding
// set once attributed: after recheckAfter trees read that attributed
// nothing, the set is made again for the blobs left.
func (h *history) attributeHolding(ctx context.Context, want map[plumbing.Hash]bool, add func(record) error) error {
	x, err := h.scanTrees(ctx, want)
	if err != nil {
		return err
	}
	active := make([]bool, len(x.want))
	for i := range active {
		active[i] = true
	}
	holding := x.holding(active)
	isHolding := func(t plumbing.Hash) bool { return x.holds(holding, t) }
	found, idle := 0, 0 // attributed since holding was made; trees read in vain since
	d := newTreeDiff(h.store, h.seenTrees, func(r record) error {
		if i, ok := x.want[r.blob]; ok && active[i] {
			active[i] = false
			found++
		}
		return add(r)
	})
	for _, i := range h.topoOrder() {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := h.nodes[i].tree
		if !isHolding(t) {
			continue
		}
		d.node = i
		before := found
		if err := d.walkHolding(t, "", isHolding, x.want); err != nil {
			return err
		}
		if found == before {
			idle++
		}
		if idle >= recheckAfter && found > 0 {
			holding, found, idle = x.holding(active), 0, 0
		}
	}
	return nil
}

// recheckAfter: see attributeHolding. Making the holding set again costs
// a few passes over one record per tree object (milliseconds on git/git).
// A variable for tests.
var recheckAfter = 32

// diffCommits diffs the trees of the commits of order with d.
func (h *history) diffCommits(ctx context.Context, d *treeDiff, order []int32) error {
	for _, i := range order {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := &h.nodes[i]
		var parent plumbing.Hash
		for _, p := range n.parents {
			if pi, ok := h.index[p]; ok {
				parent = h.nodes[pi].tree
				break
			}
		}
		d.node = i
		if err := d.diff(n.tree, parent, ""); err != nil {
			return err
		}
	}
	return nil
}

// getTree reads tree id: through h.trees while it is set, else with go-git.
func (h *history) getTree(id plumbing.Hash) (*object.Tree, error) {
	if h.trees == nil {
		return object.GetTree(h.repo.Storer, id)
	}
	if id == emptyTree {
		return &object.Tree{Hash: id}, nil
	}
	o, err := storeObject(h.trees, id, plumbing.TreeObject)
	if err != nil {
		return nil, err
	}
	t := &object.Tree{}
	if err := t.Decode(o); err != nil {
		return nil, fmt.Errorf("decode tree %s: %w", id, err)
	}
	return t, nil
}

// storeObject reads object id from r; want, unless AnyObject, is its type.
func storeObject(r *pack.Reader, id plumbing.Hash, want plumbing.ObjectType) (plumbing.EncodedObject, error) {
	typ, data, err := r.Object(pack.ID(id), nil)
	if err != nil {
		return nil, err
	}
	t, err := plumbing.ParseObjectType(typ)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", id, err)
	}
	if want != plumbing.AnyObject && t != want {
		return nil, fmt.Errorf("object %s is a %s, not a %s", id, t, want)
	}
	return &rawObject{id: id, typ: t, data: data}, nil
}

func storeCommit(r *pack.Reader, id plumbing.Hash) (*object.Commit, error) {
	o, err := storeObject(r, id, plumbing.CommitObject)
	if err != nil {
		return nil, err
	}
	c := &object.Commit{}
	if err := c.Decode(o); err != nil {
		return nil, fmt.Errorf("decode commit %s: %w", id, err)
	}
	return c, nil
}

func storeTag(r *pack.Reader, id plumbing.Hash) (*object.Tag, error) {
	o, err := storeObject(r, id, plumbing.TagObject)
	if err != nil {
		return nil, err
	}
	t := &object.Tag{}
	if err := t.Decode(o); err != nil {
		return nil, fmt.Errorf("decode tag %s: %w", id, err)
	}
	return t, nil
}
