package git

import (
	"bytes"
	"container/list"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bks-dev/bks/sources/git/internal/pack"
)

// The in-process attribution walk's tree diff (attrib.go): raw tree
// objects parsed in place, compared entry by entry with the parent's.

// treeEntry is one entry of a raw tree object; name and id point into it.
type treeEntry struct {
	mode uint32
	name []byte
	id   []byte // 20 bytes
	raw  []byte // the whole entry: mode, name and id
}

// Kinds of entry, by the type bits of the mode, as git reads them.
const (
	modeTypeMask = 0o170000
	modeDir      = 0o040000
	modeGitlink  = 0o160000
)

var errBadTree = errors.New("malformed tree object")

// nextEntry parses the entry data starts with: "<octal mode> <name>\0<id>".
func nextEntry(data []byte) (treeEntry, []byte, error) {
	mode, sp, end, err := entryAt(data, 0)
	if err != nil {
		return treeEntry{}, nil, err
	}
	return treeEntry{mode: mode, name: data[sp+1 : end-21], id: data[end-20 : end], raw: data[:end]}, data[end:], nil
}

// entryAt parses the entry at data[pos:], returning its mode, where the
// space before its name is and where it ends. The mode's digits are read
// up to the space, not searched first: the tree pass (treeindex.go)
// parses every entry of each whole tree object, and two searches per
// entry (of the space and of the NUL) were most of its parsing.
func entryAt(data []byte, pos int) (mode uint32, sp, end int, err error) {
	i := pos
	for ; i < len(data) && data[i] != ' '; i++ {
		c := data[i]
		if c < '0' || c > '7' || mode > 0o777777 {
			return 0, 0, 0, errBadTree
		}
		mode = mode<<3 | uint32(c-'0')
	}
	if i == pos || i == len(data) {
		return 0, 0, 0, errBadTree
	}
	nul := bytes.IndexByte(data[i+1:], 0)
	if nul <= 0 || i+1+nul+1+20 > len(data) {
		return 0, 0, 0, errBadTree
	}
	return mode, i, i + 1 + nul + 1 + 20, nil
}

func (e *treeEntry) isDir() bool { return e.mode&modeTypeMask == modeDir }

// compareEntries orders entries as git sorts a tree: by name, a
// directory's name compared as if it ended in "/".
func compareEntries(a, b *treeEntry) int {
	n := min(len(a.name), len(b.name))
	if c := bytes.Compare(a.name[:n], b.name[:n]); c != 0 {
		return c
	}
	ca, cb := nameEnd(a, n), nameEnd(b, n)
	switch {
	case ca < cb:
		return -1
	case ca > cb:
		return 1
	}
	return 0
}

func nameEnd(e *treeEntry, n int) byte {
	if n < len(e.name) {
		return e.name[n]
	}
	if e.isDir() {
		return '/'
	}
	return 0
}

// treeDiff diffs the trees of one commit after another. A tree id in seen
// was diffed before, so every blob under it has been seen.
type treeDiff struct {
	r     *pack.Reader
	seen  map[plumbing.Hash]struct{}
	add   func(record) error
	cache *treeCache
	node  int32 // the commit whose tree is diffed
}

func newTreeDiff(store *pack.Store, seen map[plumbing.Hash]struct{}, add func(record) error) *treeDiff {
	r := store.NewReader()
	r.SetCache(deltaCacheBytes)
	return &treeDiff{r: r, seen: seen, add: add, cache: newTreeCache(treeCacheBytes)}
}

// diff passes on every blob of tree cur not in tree par (zero: none) at
// the same path, skipping subtrees seen before, in tree order: on return,
// every blob under cur has been seen.
func (d *treeDiff) diff(cur, par plumbing.Hash, prefix string) error {
	if cur == par {
		return nil
	}
	if _, ok := d.seen[cur]; ok {
		return nil
	}
	d.seen[cur] = struct{}{}
	cdata, err := d.tree(cur)
	if err != nil {
		return err
	}
	var pdata []byte
	if !par.IsZero() {
		if pdata, err = d.tree(par); err != nil {
			return err
		}
	}
	cdata, pdata = skipCommonEntries(cdata, pdata)
	var pe treeEntry
	havePE := false
	for len(cdata) > 0 {
		var e treeEntry
		if e, cdata, err = nextEntry(cdata); err != nil {
			return fmt.Errorf("%w: tree %s: %v", errStoreMiss, cur, err)
		}
		// The parent's entry of the same name, if any (both sorted; an
		// unsorted tree only costs lookups below, never a wrong skip).
		match := false
		for {
			if !havePE {
				if len(pdata) == 0 {
					break
				}
				if pe, pdata, err = nextEntry(pdata); err != nil {
					return fmt.Errorf("%w: tree %s: %v", errStoreMiss, par, err)
				}
				havePE = true
			}
			c := compareEntries(&pe, &e)
			if c > 0 {
				break
			}
			havePE = false
			if c == 0 {
				match = true
				break
			}
		}
		if match && bytes.Equal(pe.raw, e.raw) {
			continue // the parent has it: seen
		}
		p := string(e.name)
		if prefix != "" {
			p = prefix + "/" + p
		}
		switch e.mode & modeTypeMask {
		case modeDir:
			var sub plumbing.Hash
			if match && pe.isDir() {
				sub = plumbing.Hash(pe.id)
			}
			if err := d.diff(plumbing.Hash(e.id), sub, p); err != nil {
				return err
			}
		case modeGitlink:
			// A commit of another repository.
		default:
			if err := d.add(record{blob: plumbing.Hash(e.id), node: d.node, path: p}); err != nil {
				return err
			}
		}
	}
	return nil
}

// walkHolding passes on the wanted blobs under tree id in tree order,
// reading only the subtrees in holding (those holding a wanted blob) and
// not seen before: on return, every wanted blob under id has been seen.
func (d *treeDiff) walkHolding(id plumbing.Hash, prefix string, holding func(plumbing.Hash) bool, want map[plumbing.Hash]int32) error {
	if _, ok := d.seen[id]; ok {
		return nil
	}
	d.seen[id] = struct{}{}
	data, err := d.tree(id)
	if err != nil {
		return err
	}
	for len(data) > 0 {
		var e treeEntry
		if e, data, err = nextEntry(data); err != nil {
			return fmt.Errorf("%w: tree %s: %v", errStoreMiss, id, err)
		}
		sub := plumbing.Hash(e.id)
		switch e.mode & modeTypeMask {
		case modeDir:
			if !holding(sub) {
				continue
			}
		case modeGitlink:
			continue
		default:
			if _, ok := want[sub]; !ok {
				continue
			}
		}
		p := string(e.name)
		if prefix != "" {
			p = prefix + "/" + p
		}
		if e.mode&modeTypeMask == modeDir {
			err = d.walkHolding(sub, p, holding, want)
		} else {
			err = d.add(record{blob: sub, node: d.node, path: p})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// skipCommonEntries drops the entries both raw trees start with, byte for
// byte the same (most of a tree, when a commit changed one entry): only
// their ends are found, not their fields parsed.
func skipCommonEntries(a, b []byte) ([]byte, []byte) {
	n := min(len(a), len(b))
	l := 0
	const block = 256
	for l+block <= n && bytes.Equal(a[l:l+block], b[l:l+block]) {
		l += block
	}
	for l < n && a[l] == b[l] {
		l++
	}
	off := 0
	for {
		nul := bytes.IndexByte(a[off:l], 0)
		if nul < 0 || off+nul+1+20 > l {
			break
		}
		off += nul + 1 + 20
	}
	return a[off:], b[off:]
}

// tree returns the raw tree id, from the cache or the store.
func (d *treeDiff) tree(id plumbing.Hash) ([]byte, error) {
	if data, ok := d.cache.get(id); ok {
		return data, nil
	}
	if id == emptyTree {
		return nil, nil
	}
	o, err := storeObject(d.r, id, plumbing.TreeObject)
	if err != nil {
		return nil, fmt.Errorf("%w: read tree %s: %v", errStoreMiss, id, err)
	}
	data := o.(*rawObject).data // read into no buffer: its own
	d.cache.put(id, data)
	return data, nil
}

// treeCache keeps raw trees up to max bytes, least recently used dropped.
type treeCache struct {
	max, size int64
	m         map[plumbing.Hash]*list.Element
	lru       list.List
}

type treeCacheEntry struct {
	id   plumbing.Hash
	data []byte
}

func newTreeCache(max int64) *treeCache {
	return &treeCache{max: max, m: map[plumbing.Hash]*list.Element{}}
}

func (c *treeCache) get(id plumbing.Hash) ([]byte, bool) {
	e, ok := c.m[id]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*treeCacheEntry).data, true
}

func (c *treeCache) put(id plumbing.Hash, data []byte) {
	if _, ok := c.m[id]; ok {
		return
	}
	c.m[id] = c.lru.PushFront(&treeCacheEntry{id, data})
	c.size += int64(len(data))
	for c.size > c.max && c.lru.Len() > 1 {
		e := c.lru.Back()
		ce := e.Value.(*treeCacheEntry)
		c.lru.Remove(e)
		delete(c.m, ce.id)
		c.size -= int64(len(ce.data))
	}
}
