package pack

// A bounded cache of delta bases for a Reader. Trees and commits are stored
// as deltas in chains up to git's --depth (50 by default): reading each one
// whole would inflate its whole chain again. The attribution walk reads the
// trees of consecutive commits, which share most of their bases, so the
// bases of recent reads are kept, least recently used dropped first.

import "container/list"

type cacheKey struct {
	p   *packFile
	off int64
}

type cacheEntry struct {
	key  cacheKey
	typ  byte
	data []byte
}

type baseCache struct {
	max, size int64
	m         map[cacheKey]*list.Element
	lru       list.List // front: most recently used
}

// SetCache gives r a cache of delta bases of up to max bytes (0: none).
func (r *Reader) SetCache(max int64) {
	if max <= 0 {
		r.cache = nil
		return
	}
	r.cache = &baseCache{max: max, m: map[cacheKey]*list.Element{}}
}

func (c *baseCache) get(p *packFile, off int64) (byte, []byte, bool) {
	e, ok := c.m[cacheKey{p, off}]
	if !ok {
		return 0, nil, false
	}
	c.lru.MoveToFront(e)
	ce := e.Value.(*cacheEntry)
	return ce.typ, ce.data, true
}

// put keeps data, which nobody may change afterwards.
func (c *baseCache) put(p *packFile, off int64, typ byte, data []byte) {
	k := cacheKey{p, off}
	if _, ok := c.m[k]; ok || int64(len(data)) > c.max/4 {
		return
	}
	c.m[k] = c.lru.PushFront(&cacheEntry{key: k, typ: typ, data: data})
	c.size += int64(len(data))
	for c.size > c.max {
		e := c.lru.Back()
		ce := e.Value.(*cacheEntry)
		c.lru.Remove(e)
		delete(c.m, ce.key)
		c.size -= int64(len(ce.data))
	}
}
