package pack

// Packs are mapped read-only, as git maps them: a commit, a tree window or
// a blob's zlib stream is inflated straight from the mapped bytes, with no
// read(2) and no copy into a buffer. Reading git/git's 85,000 commits by
// id cost a pread of 4 KB and a bufio copy each (0.4 of 2.4 CPU-s), and
// Blobs and Trees copied every window of the pack they inflated.
//
// Where mmap is missing or fails (a pack over the address space, a file
// system that cannot map), the pack is read with ReadAt as before.
//
// A file mapped can shrink under the mapping (a `git gc` replacing the
// pack, a truncation): touching a page past its new end raises SIGBUS,
// which would kill the process. Every read of mapped memory runs with
// debug.SetPanicOnFault and a deferred guard that turns a fault inside a
// mapping into an error naming the pack (TestStoreTruncatedUnderUs), and
// lets any other panic go on.
//
// Every page of a mapping read stays in the process's resident set until
// it is unmapped: Blobs reads all of git/git's 496 MB pack, which took
// its peak RSS from 320 to 772 MB (page cache, but counted). The pages
// read are counted, by 64 KB block (Linux maps 64 KB around a fault in
// a file mapping), and past residentBudget every mapping of the store
// drops its pages (MADV_DONTNEED: they stay in the page cache and come
// back, without a read, on the next touch).
//
// The walks read the pack all over (a delta tree's objects are spread
// through it), so a budget below the pack costs page faults: on git/git
// (real-keys-git-git.git, loaded machine) no budget gave 73,000 minor
// faults and 770 MB peak RSS, 128 MB 92,000-98,000 faults and 400-420
// MB, 64 MB 135,000 faults (+1.3 s of system time) and 335-355 MB.
// Dropping only the blocks not read since the last drop (a clock) did
// no better. 128 MB keeps git/git under the bench's 500 MB.

import (
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unsafe"
)

// useMmap says whether Open maps packs; tests turn it off to exercise the
// ReadAt path.
var useMmap = true

// liveMaps counts the mappings not yet unmapped (a leak check for tests).
var liveMaps atomic.Int64

// LiveMaps returns how many pack mappings are open: 0 once every Store is
// closed (tests check that none leaks).
func LiveMaps() int64 { return liveMaps.Load() }

// residentBudget is how many bytes of its mappings a store lets stay
// resident; a var for tests.
var residentBudget int64 = 128 << 20

// blockShift is the size of the blocks pages are counted by (64 KB).
const blockShift = 16

// resident counts the blocks of a store's mappings read since their pages
// were last dropped.
type resident struct {
	n     atomic.Int64
	mu    sync.Mutex
	packs []*packFile
	drops atomic.Int64 // for tests
}

// touch counts the blocks of p's bytes [start, end) a read touched.
func (p *packFile) touch(start, end int64) {
	if p.res == nil || end <= start {
		return
	}
	for b := start >> blockShift; b <= (end-1)>>blockShift; b++ {
		w, m := &p.blocks[b>>6], uint64(1)<<(b&63)
		if w.Load()&m != 0 || w.Or(m)&m != 0 {
			continue
		}
		if p.res.n.Add(1<<blockShift) > residentBudget {
			p.res.drop()
		}
	}
}

// drop drops the pages of every mapping, unless another goroutine is.
func (r *resident) drop() {
	if !r.mu.TryLock() {
		return
	}
	defer r.mu.Unlock()
	if r.n.Load() <= residentBudget {
		return
	}
	for _, p := range r.packs {
		dropPages(p.data)
		for i := range p.blocks {
			p.blocks[i].Store(0)
		}
	}
	r.n.Store(0)
	r.drops.Add(1)
}

// mapIn maps p's file, when it can.
func (p *packFile) mapIn() {
	if !useMmap {
		return
	}
	b, err := mapFile(p.f, p.size)
	if err != nil || int64(len(b)) != p.size {
		if err == nil {
			_ = unmapFile(b)
		}
		return
	}
	p.data = b
	p.blocks = make([]atomic.Uint64, (p.size>>blockShift)/64+1)
	liveMaps.Add(1)
}

// close unmaps and closes p.
func (p *packFile) close() error {
	var err error
	if p.data != nil {
		err = unmapFile(p.data)
		p.data = nil
		liveMaps.Add(-1)
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mapAddr is the address p is mapped at.
func (p *packFile) mapAddr() uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(p.data))) }

// faultAddr is what a fault panics with under SetPanicOnFault.
type faultAddr interface{ Addr() uintptr }

// inside reports whether addr is in one of the store's mappings, and which.
func (s *Store) inside(addr uintptr) *packFile {
	for _, p := range s.packs {
		if p.data == nil {
			continue
		}
		if lo := p.mapAddr(); addr >= lo && addr-lo < uintptr(len(p.data)) {
			return p
		}
	}
	return nil
}

// guard is deferred, as
//
//	defer s.guard(debug.SetPanicOnFault(true), &err)
//
// around code that reads mapped packs: it restores the goroutine's
// setting and turns a fault in a mapping into *err.
func (s *Store) guard(old bool, err *error) {
	debug.SetPanicOnFault(old)
	r := recover()
	if r == nil {
		return
	}
	if f, ok := r.(faultAddr); ok {
		if p := s.inside(f.Addr()); p != nil {
			*err = fmt.Errorf("%s: read fault at offset %d of the mapped pack: it changed or shrank under us (a repack running?)",
				p.name, int64(f.Addr()-p.mapAddr()))
			return
		}
	}
	panic(r)
}

// readAt is p.f.ReadAt, from the mapping when there is one.
func (p *packFile) readAt(b []byte, off int64) (int, error) {
	if p.data == nil {
		return p.f.ReadAt(b, off)
	}
	if off < 0 || off > int64(len(p.data)) {
		return 0, fmt.Errorf("offset %d outside the pack", off)
	}
	n := copy(b, p.data[off:])
	p.touch(off, off+int64(n))
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// span returns p's bytes [start, end) as they are mapped, or nil when p
// is not mapped.
func (p *packFile) span(start, end int64) ([]byte, error) {
	if p.data == nil {
		return nil, nil
	}
	if start < 0 || end < start || end > int64(len(p.data)) {
		return nil, fmt.Errorf("bytes %d-%d outside the pack (truncated?)", start, end)
	}
	p.touch(start, end)
	return p.data[start:end:end], nil
}

// mappedReader reads p's mapping from off, counting what it reads.
type mappedReader struct {
	p   *packFile
	off int64
}

func (r *mappedReader) Read(b []byte) (int, error) {
	if r.off >= int64(len(r.p.data)) {
		return 0, io.EOF
	}
	n, _ := r.p.readAt(b, r.off)
	r.off += int64(n)
	return n, nil
}
