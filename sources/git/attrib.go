package git

import (
	"context"
	"errors"
	"fmt"

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
// order", and the walk here reads the commits' trees in topological order,
// each tree id once: a subtree read before holds only blobs seen before
// (Nosey Parker's walk, and the go-git walk's, history.go). Trees are read
// from the object store the blob scan read (packs.go), with a bounded cache
// of delta bases; the walk stops once every wanted blob is attributed.
//
// HEAD's tree (in_head) and trees that refs name are read the same way. An
// object the store cannot give (a partial clone's promisor objects, a thin
// pack) is errStoreMiss: the git log walk then runs instead. The git log
// walk is also the oracle of the equivalence tests (attrib_test.go).

// errStoreMiss: the object store did not hold an object the walk needs.
var errStoreMiss = errors.New("object not in the object store")

// errAllFound stops the walk once every wanted blob is attributed.
var errAllFound = errors.New("every wanted blob attributed")

// treeCacheBytes bounds the delta bases the walk keeps.
const treeCacheBytes = 64 << 20

// emptyTree is git's empty tree, which git knows without storing it.
var emptyTree = plumbing.NewHash("4b825dc642cb6eb9a060e54bf8d69288fbee4904")

// attributeStore calls add with the first record of each blob in
// topological order, as walkRecords does, reading the object store. With
// want set, only wanted blobs are passed on, and the walk stops once each
// is. It fills headBlobs first.
func (h *history) attributeStore(ctx context.Context, want map[plumbing.Hash]bool, add func(record) error) error {
	r := h.store.NewReader()
	r.SetCache(treeCacheBytes)
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
	err := h.walkCommitTrees(ctx, first)
	if err == nil {
		err = h.looseRecords(ctx, first)
	}
	if errors.Is(err, errAllFound) {
		return nil
	}
	return err
}

// walkCommitTrees walks the included commits' trees in topological order.
func (h *history) walkCommitTrees(ctx context.Context, add func(record) error) error {
	for _, i := range h.topoOrder() {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := h.walkTree(ctx, h.nodes[i].tree, "", h.seenTrees, func(p string, id plumbing.Hash) error {
			return add(record{blob: id, node: i, path: p})
		})
		if err != nil {
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
