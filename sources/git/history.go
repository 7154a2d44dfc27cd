package git

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"github.com/bks-dev/bks/sources/git/internal/pack"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/go-git/go-billy/v5"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
)

// history is one scan of one repository.
type history struct {
	s        *Source
	promisor struct {
		once sync.Once
		name string
	} // promisorRemote's answer, read once
	split    sources.Chunker // the consumer's, from Chunks
	repo     *gogit.Repository
	path     string
	repoName string
	// objs, while set, reads commits in process instead of by git
	// cat-file (the blob-first scan, packs.go).
	objs *pack.Reader
	// trees, while set, reads the trees (and HEAD's commit) the tree
	// walks read in process: the in-process attribution walk (attrib.go).
	// An object it cannot read is then an error, not reported and skipped.
	trees *pack.Reader
	// store is the object store opened for the blob-first scan, when the
	// git CLI is used and bks can read it (nil: git cat-file reads it).
	store *pack.Store

	tips     []plumbing.Hash // commits to start from
	bases    []plumbing.Hash // --range BASE: it and its ancestors are excluded
	excluded map[plumbing.Hash]struct{}
	shallow  map[plumbing.Hash]struct{}
	tags     []*object.Tag // annotated tags whose messages are scanned
	loose    []looseRoot   // trees and blobs that refs or tags point at directly
	nodes    []commitNode  // included commits
	index    map[plumbing.Hash]int32
	boundary map[plumbing.Hash]struct{} // excluded parents of included commits

	seenTrees map[plumbing.Hash]struct{}
	seenBlobs map[plumbing.Hash]struct{}
	headBlobs map[plumbing.Hash]struct{}
	inHead    *bool
	notInHead *bool

	// errMu guards held: while the git CLI walk may still give up and
	// leave the scan to go-git, errors are held, not reported.
	errMu sync.Mutex
	hold  bool
	held  []heldError
}

type heldError struct {
	path string
	err  error
}

// onError reports what could not be read, or holds it (see hold).
func (h *history) onError(path string, err error) {
	h.errMu.Lock()
	if h.hold {
		h.held = append(h.held, heldError{path, err})
		h.errMu.Unlock()
		return
	}
	h.errMu.Unlock()
	h.s.onError(path, err)
}

// release reports the held errors (report) or drops them, and stops holding.
func (h *history) release(report bool) {
	h.errMu.Lock()
	held := h.held
	h.held, h.hold = nil, false
	h.errMu.Unlock()
	if report {
		for _, e := range held {
			h.s.onError(e.path, e.err)
		}
	}
}

// reset forgets what a walk found, keeping the tips, tags and loose roots.
func (h *history) reset() {
	h.excluded = map[plumbing.Hash]struct{}{}
	h.nodes = nil
	h.index = map[plumbing.Hash]int32{}
	h.boundary = map[plumbing.Hash]struct{}{}
	h.seenTrees = map[plumbing.Hash]struct{}{}
	h.seenBlobs = map[plumbing.Hash]struct{}{}
	h.headBlobs = map[plumbing.Hash]struct{}{}
	if st := h.s.opts.Stats; st != nil {
		*st = Stats{}
	}
}

type commitNode struct {
	hash    plumbing.Hash
	when    int64
	parents []plumbing.Hash
	tree    plumbing.Hash // set by the git CLI walk (collectGit)
	meta    *commitMeta   // kept by the git CLI walk; nil in go-git's
}

// commitMeta is what findings say of a commit.
type commitMeta struct {
	author, email string
	date          *time.Time // location.Date of the author date
	subject       string
	message       string // the whole message, when it is to be scanned
	scanMessage   bool
}

type looseRoot struct {
	name string // the ref or tag naming it
	hash plumbing.Hash
	typ  plumbing.ObjectType
}

// item is one thing to scan, in the order found.
type item struct {
	blob   plumbing.Hash // zero for a message
	text   string        // a commit or tag message
	origin *location.Location
}

func storerFS(repo *gogit.Repository) billy.Filesystem {
	if st, ok := repo.Storer.(*filesystem.Storage); ok {
		return st.Filesystem()
	}
	return nil
}

func newHistory(ctx context.Context, s *Source, repo *gogit.Repository, path, repoName string) (*history, error) {
	t, f := true, false
	h := &history{
		s: s, repo: repo, path: path, repoName: repoName,
		excluded:  map[plumbing.Hash]struct{}{},
		shallow:   map[plumbing.Hash]struct{}{},
		index:     map[plumbing.Hash]int32{},
		boundary:  map[plumbing.Hash]struct{}{},
		seenTrees: map[plumbing.Hash]struct{}{},
		seenBlobs: map[plumbing.Hash]struct{}{},
		headBlobs: map[plumbing.Hash]struct{}{},
		inHead:    &t, notInHead: &f,
	}
	if sh, err := repo.Storer.Shallow(); err == nil && len(sh) > 0 {
		for _, c := range sh {
			h.shallow[c] = struct{}{}
		}
		s.warn("%s is a shallow clone: history before %d commit(s) is cut and not scanned (git fetch --unshallow to scan it all)", repoName, len(sh))
	}
	// A blob-first scan with the git CLI reads the object store in process
	// (packs.go): refs are resolved through it too, so go-git never loads
	// its own index of the packs (66 MB and a few hundred ms on git/git).
	// Other scans walk with go-git and git cat-file, and do not open it.
	if h.useGitCLI() && !s.opts.catFileBlobs && h.blobFirstOK() {
		if store, err := h.openStore(ctx); err == nil {
			h.store, h.objs = store, store.NewReader()
		}
	}
	err := h.resolveTips(ctx)
	h.objs = nil
	if err != nil {
		h.closeStore()
		return nil, err
	}
	return h, nil
}

func (h *history) closeStore() {
	if h.store != nil {
		_ = h.store.Close()
		h.store = nil
	}
}

func (h *history) resolve(rev string) (plumbing.Hash, error) {
	if plumbing.IsHash(rev) {
		return plumbing.NewHash(rev), nil
	}
	for _, name := range []string{rev, "refs/heads/" + rev, "refs/remotes/" + rev, "refs/tags/" + rev} {
		if ref, err := h.repo.Reference(plumbing.ReferenceName(name), true); err == nil {
			return h.peelToCommit(ref.Hash())
		}
	}
	p, err := h.repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("resolve revision %q: %w", rev, err)
	}
	return *p, nil
}

// peelToCommit follows tag objects to the commit they name.
func (h *history) peelToCommit(id plumbing.Hash) (plumbing.Hash, error) {
	for range 16 {
		var tag *object.Tag
		var err error
		if h.trees != nil {
			tag, err = storeTag(h.trees, id)
		} else {
			tag, err = object.GetTag(h.repo.Storer, id)
		}
		if err != nil {
			return id, nil // not a tag
		}
		id = tag.Target
	}
	return id, fmt.Errorf("tag chain too long at %s", id)
}

// parseRange splits Options.Range, BASE..HEAD (BASE.. is BASE..HEAD, as
// in git), and refuses what the scan cannot honour, each with a message
// naming the form: no "..", git's A...B (which means something else), a
// second "..", an empty BASE (it read as "everything HEAD reaches", so
// --range ..HEAD scanned the whole history), spaces or control characters
// (never in a revision), or --branch as well.
func (o *Options) parseRange() (base, head string, err error) {
	r := o.Range
	base, head, ok := strings.Cut(r, "..")
	switch {
	case o.Branch != "":
		return "", "", errors.New("--range and --branch cannot be combined")
	case strings.IndexFunc(r, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }) >= 0:
		return "", "", fmt.Errorf("--range %q: a space or control character; want BASE..HEAD", r)
	case !ok || strings.HasPrefix(head, "."):
		return "", "", fmt.Errorf("--range %q: want BASE..HEAD, e.g. origin/main..HEAD", r)
	case base == "":
		return "", "", fmt.Errorf("--range %q: no BASE before \"..\"; want BASE..HEAD, e.g. origin/main..HEAD (--branch HEAD scans all HEAD reaches)", r)
	case strings.Contains(head, ".."):
		return "", "", fmt.Errorf("--range %q: more than one \"..\"; want BASE..HEAD", r)
	case head == "":
		head = "HEAD"
	}
	return base, head, nil
}

func (h *history) resolveTips(ctx context.Context) error {
	o := h.s.opts
	switch {
	case o.Range != "":
		base, head, err := o.parseRange()
		if err != nil {
			return err
		}
		tip, err := h.resolve(head)
		if err != nil {
			return fmt.Errorf("--range: %w", err)
		}
		h.tips = append(h.tips, tip)
		if base != "" {
			b, err := h.resolve(base)
			if err != nil {
				return fmt.Errorf("--range: %w", err)
			}
			h.bases = append(h.bases, b)
		}
	case o.Branch != "":
		tip, err := h.resolve(o.Branch)
		if err != nil {
			return fmt.Errorf("--branch: %w", err)
		}
		h.tips = append(h.tips, tip)
	default:
		if len(o.Exclude) > 0 {
			return errors.New("git source: Exclude needs Range or Branch")
		}
		return h.allRefs()
	}
	for _, rev := range o.Exclude {
		b, err := h.resolve(rev)
		if err != nil {
			return fmt.Errorf("exclude: %w", err)
		}
		h.bases = append(h.bases, b)
	}
	return nil
}

// allRefs collects every ref's target: branches, tags (with their messages),
// remote-tracking refs, notes, the stash and its reflog, a detached HEAD.
func (h *history) allRefs() error {
	iter, err := h.repo.Storer.IterReferences()
	if err != nil {
		return fmt.Errorf("list refs: %w", err)
	}
	seenTags := map[plumbing.Hash]struct{}{}
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() != plumbing.HashReference {
			return nil // symbolic: its target is listed too
		}
		h.addRoot(ref.Name().String(), ref.Hash(), seenTags, 0)
		return nil
	})
	if err != nil {
		return fmt.Errorf("list refs: %w", err)
	}
	// A detached HEAD is not in the ref list.
	if ref, err := h.repo.Storer.Reference(plumbing.HEAD); err == nil && ref.Type() == plumbing.HashReference {
		h.addRoot("HEAD", ref.Hash(), seenTags, 0)
	}
	stash, err := readStashReflog(h.repo)
	if err != nil {
		h.onError("refs/stash", err)
	}
	for i, c := range stash {
		h.addRoot(fmt.Sprintf("stash@{%d}", len(stash)-1-i), c, seenTags, 0)
	}
	return nil
}

func (h *history) addRoot(name string, id plumbing.Hash, seenTags map[plumbing.Hash]struct{}, depth int) {
	if depth > 16 {
		h.onError(name, errors.New("tag chain too long"))
		return
	}
	obj, err := h.rootObject(id)
	if err != nil {
		h.onError(name, fmt.Errorf("object %s: %w", id, err))
		return
	}
	switch obj.Type() {
	case plumbing.CommitObject:
		h.tips = append(h.tips, id)
	case plumbing.TagObject:
		if _, dup := seenTags[id]; dup {
			return
		}
		seenTags[id] = struct{}{}
		tag, err := object.DecodeTag(h.repo.Storer, obj)
		if err != nil {
			h.onError(name, fmt.Errorf("tag object %s: %w", id, err))
			return
		}
		h.tags = append(h.tags, tag)
		h.addRoot(name, tag.Target, seenTags, depth+1)
	case plumbing.TreeObject, plumbing.BlobObject:
		h.loose = append(h.loose, looseRoot{name: name, hash: id, typ: obj.Type()})
	}
}

// rootObject reads an object a ref names: from the in-process store when
// it is open, else with go-git.
func (h *history) rootObject(id plumbing.Hash) (plumbing.EncodedObject, error) {
	if h.objs != nil {
		typ, data, err := h.objs.Object(pack.ID(id), nil)
		if err == nil {
			t, terr := plumbing.ParseObjectType(typ)
			if terr == nil {
				return &rawObject{id: id, typ: t, data: data}, nil
			}
		}
	}
	if h.trees != nil {
		return storeObject(h.trees, id, plumbing.AnyObject)
	}
	return h.repo.Storer.EncodedObject(plumbing.AnyObject, id)
}

// exclude marks base and all its ancestors as already seen.
func (h *history) exclude(ctx context.Context, base plumbing.Hash) error {
	stack := []plumbing.Hash{base}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := h.excluded[id]; ok {
			continue
		}
		h.excluded[id] = struct{}{}
		if _, ok := h.shallow[id]; ok {
			continue
		}
		c, err := object.GetCommit(h.repo.Storer, id)
		if err != nil {
			h.onError("commit "+id.String(), fmt.Errorf("read commit %s: %w", id, err))
			continue
		}
		stack = append(stack, c.ParentHashes...)
	}
	return nil
}

// collect finds the included commits: reachable from the tips, not
// excluded, not older than Since.
func (h *history) collect(ctx context.Context) error {
	since := h.s.opts.Since
	stack := append([]plumbing.Hash(nil), h.tips...)
	visited := map[plumbing.Hash]struct{}{}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := visited[id]; ok {
			continue
		}
		visited[id] = struct{}{}
		if _, ok := h.excluded[id]; ok {
			h.boundary[id] = struct{}{}
			continue
		}
		c, err := object.GetCommit(h.repo.Storer, id)
		if err != nil {
			h.onError("commit "+id.String(), fmt.Errorf("read commit %s: %w", id, err))
			continue
		}
		if !since.IsZero() && c.Committer.When.Before(since) {
			h.boundary[id] = struct{}{}
			continue
		}
		n := commitNode{hash: id, when: c.Committer.When.Unix()}
		if _, ok := h.shallow[id]; !ok {
			n.parents = c.ParentHashes
			stack = append(stack, c.ParentHashes...)
		}
		h.index[id] = int32(len(h.nodes))
		h.nodes = append(h.nodes, n)
	}
	return nil
}

// topoOrder returns the included commits parents first; among commits that
// are ready at the same time, the oldest (by committer date, then id) first.
func (h *history) topoOrder() []int32 {
	children := make([][]int32, len(h.nodes))
	pending := make([]int, len(h.nodes))
	for i, n := range h.nodes {
		for _, p := range n.parents {
			if pi, ok := h.index[p]; ok {
				children[pi] = append(children[pi], int32(i))
				pending[i]++
			}
		}
	}
	q := &readyQueue{nodes: h.nodes}
	for i := range h.nodes {
		if pending[i] == 0 {
			q.idx = append(q.idx, int32(i))
		}
	}
	heap.Init(q)
	order := make([]int32, 0, len(h.nodes))
	for q.Len() > 0 {
		i := heap.Pop(q).(int32)
		order = append(order, i)
		for _, c := range children[i] {
			pending[c]--
			if pending[c] == 0 {
				heap.Push(q, c)
			}
		}
	}
	return order
}

type readyQueue struct {
	nodes []commitNode
	idx   []int32
}

func (q *readyQueue) Len() int { return len(q.idx) }
func (q *readyQueue) Less(a, b int) bool {
	na, nb := &q.nodes[q.idx[a]], &q.nodes[q.idx[b]]
	if na.when != nb.when {
		return na.when < nb.when
	}
	return strings.Compare(na.hash.String(), nb.hash.String()) < 0
}
func (q *readyQueue) Swap(a, b int) { q.idx[a], q.idx[b] = q.idx[b], q.idx[a] }
func (q *readyQueue) Push(x any)    { q.idx = append(q.idx, x.(int32)) }
func (q *readyQueue) Pop() any {
	x := q.idx[len(q.idx)-1]
	q.idx = q.idx[:len(q.idx)-1]
	return x
}

// headTree returns the tree of HEAD of the default branch: HEAD, or the
// remote's HEAD when HEAD names no commit. Reading through h.trees, a
// commit it cannot read is an error (the store may lack what git has).
func (h *history) headTree() (plumbing.Hash, bool, error) {
	for _, name := range []plumbing.ReferenceName{plumbing.HEAD, "refs/remotes/origin/HEAD"} {
		ref, err := h.repo.Reference(name, true)
		if err != nil {
			continue
		}
		id, err := h.peelToCommit(ref.Hash())
		if err != nil {
			continue
		}
		var c *object.Commit
		if h.trees != nil {
			c, err = storeCommit(h.trees, id)
			if errors.Is(err, pack.ErrNotFound) {
				return plumbing.ZeroHash, false, fmt.Errorf("%w: HEAD commit %s: %v", errStoreMiss, id, err)
			}
		} else {
			c, err = object.GetCommit(h.repo.Storer, id)
		}
		if err != nil {
			continue
		}
		return c.TreeHash, true, nil
	}
	return plumbing.ZeroHash, false, nil
}

// walkTree calls blob for every blob under tree id not seen before (when
// seen is not nil), skipping subtrees already seen.
func (h *history) walkTree(ctx context.Context, id plumbing.Hash, prefix string, seen map[plumbing.Hash]struct{}, blob func(path string, id plumbing.Hash) error) error {
	if _, ok := seen[id]; ok {
		return nil
	}
	seen[id] = struct{}{}
	if err := ctx.Err(); err != nil {
		return err
	}
	t, err := h.getTree(id)
	if err != nil && h.trees != nil {
		return fmt.Errorf("%w: read tree %s: %v", errStoreMiss, id, err)
	}
	if err != nil {
		name := prefix
		if name == "" {
			name = "/"
		}
		h.onError(h.repoName+":"+name, fmt.Errorf("read tree %s: %w", id, err))
		return nil
	}
	for _, e := range t.Entries {
		p := e.Name
		if prefix != "" && !strings.HasSuffix(prefix, ":") {
			p = prefix + "/" + e.Name
		} else if prefix != "" {
			p = prefix + e.Name
		}
		switch e.Mode {
		case filemode.Dir:
			if err := h.walkTree(ctx, e.Hash, p, seen, blob); err != nil {
				return err
			}
		case filemode.Submodule:
			// A gitlink names a commit of another repository.
		default:
			if err := blob(p, e.Hash); err != nil {
				return err
			}
		}
	}
	return nil
}

// walk runs the history walk's first steps: commits to scan, boundary and
// HEAD contents. emit does the rest.
func (h *history) walk(ctx context.Context) error {
	for _, b := range h.bases {
		if err := h.exclude(ctx, b); err != nil {
			return err
		}
	}
	if err := h.collect(ctx); err != nil {
		return err
	}
	return h.walkHeadAndBoundary(ctx)
}

// walkHeadAndBoundary lists the blobs at HEAD and marks what the boundary
// commits have as seen.
func (h *history) walkHeadAndBoundary(ctx context.Context) error {
	t, ok, err := h.headTree()
	if err != nil {
		return err
	}
	if ok {
		err := h.walkTree(ctx, t, "", map[plumbing.Hash]struct{}{}, func(_ string, id plumbing.Hash) error {
			h.headBlobs[id] = struct{}{}
			return nil
		})
		if err != nil {
			return err
		}
	}
	// What the boundary commits have was introduced before the range.
	for id := range h.boundary {
		c, err := object.GetCommit(h.repo.Storer, id)
		if err != nil {
			h.onError("commit "+id.String(), fmt.Errorf("read commit %s: %w", id, err))
			continue
		}
		err = h.walkTree(ctx, c.TreeHash, "", h.seenTrees, func(_ string, id plumbing.Hash) error {
			h.seenBlobs[id] = struct{}{}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimLeft(s, "\n")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	// A copy: kept for every commit, it must not keep the whole message.
	return strings.Clone(strings.TrimRight(s, "\r"))
}

// produce walks the included commits in order and calls sink for every
// message and every blob not seen before.
func (h *history) produce(ctx context.Context, sink func(item) error) error {
	for _, i := range h.topoOrder() {
		n := &h.nodes[i]
		c, err := object.GetCommit(h.repo.Storer, n.hash)
		if err != nil {
			h.onError("commit "+n.hash.String(), fmt.Errorf("read commit %s: %w", n.hash, err))
			continue
		}
		if h.s.opts.Stats != nil {
			h.s.opts.Stats.Commits++
		}
		base := location.Location{
			Repo:    h.repoName,
			Commit:  n.hash.String(),
			Author:  c.Author.Name,
			Email:   c.Author.Email,
			Date:    location.Date(c.Author.When),
			Message: firstLine(c.Message),
		}
		msg := base
		msg.Kind = "commit-message"
		if err := sink(item{text: c.Message, origin: &msg}); err != nil {
			return err
		}
		err = h.walkTree(ctx, c.TreeHash, "", h.seenTrees, func(p string, id plumbing.Hash) error {
			if _, ok := h.seenBlobs[id]; ok {
				return nil
			}
			h.seenBlobs[id] = struct{}{}
			o := base
			o.Path = p
			o.InHead = h.inHeadFor(id)
			return sink(item{blob: id, origin: &o})
		})
		if err != nil {
			return err
		}
	}
	for _, t := range h.tags {
		o := &location.Location{
			Repo:    h.repoName,
			Path:    "refs/tags/" + t.Name,
			Commit:  t.Target.String(),
			Author:  t.Tagger.Name,
			Email:   t.Tagger.Email,
			Date:    location.Date(t.Tagger.When),
			Message: firstLine(t.Message),
			Kind:    "tag-message",
		}
		if err := sink(item{text: t.Message, origin: o}); err != nil {
			return err
		}
	}
	for _, l := range h.loose {
		if err := ctx.Err(); err != nil {
			return err
		}
		emitBlob := func(p string, id plumbing.Hash) error {
			if _, ok := h.seenBlobs[id]; ok {
				return nil
			}
			h.seenBlobs[id] = struct{}{}
			return sink(item{blob: id, origin: &location.Location{Repo: h.repoName, Path: p, InHead: h.inHeadFor(id)}})
		}
		if l.typ == plumbing.BlobObject {
			if err := emitBlob(l.name, l.hash); err != nil {
				return err
			}
			continue
		}
		if err := h.walkTree(ctx, l.hash, l.name+":", h.seenTrees, emitBlob); err != nil {
			return err
		}
	}
	return nil
}

func (h *history) inHeadFor(id plumbing.Hash) *bool {
	if _, ok := h.headBlobs[id]; ok {
		return h.inHead
	}
	return h.notInHead
}

// emitGoGit walks the whole history first, yielding messages as they come
// and holding blob items (ids and origins, not contents); then it reads and
// yields the blobs still at HEAD of the default branch, then the others.
// HEAD first lets a consumer mark every finding of a key that is still at
// HEAD, wherever else it was found (in_head is a property of the key).
func (h *history) emitGoGit(ctx context.Context, yield func(sources.Chunk) error) error {
	if h.s.opts.Stats != nil {
		h.s.opts.Stats.Reader = ReaderGoGit
		h.s.opts.Stats.Attributed = true
	}
	r := &goGitReader{h: h, repo: h.repo}
	var head, rest []item
	err := h.produce(ctx, func(it item) error {
		switch {
		case it.blob.IsZero():
			return h.split.SplitBytes([]byte(it.text), it.origin, yield)
		case it.origin.InHead != nil && *it.origin.InHead:
			head = append(head, it)
		default:
			rest = append(rest, it)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, list := range [][]item{head, rest} {
		for _, it := range list {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := r.scan(it, yield); err != nil {
				return err
			}
		}
	}
	return nil
}
