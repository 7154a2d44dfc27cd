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
// it is unmapped, so a store is mapped only when its packs together fit
// in mapBudget; a larger one is read with ReadAt (64 KB windows), as
// before. Measured on real-keys-git-git.git (a 496 MB pack, 2 cores,
// quiet, perf stat): mapped with no bound, 4.2 s, 7.6 CPU-s and 790 MB
// peak RSS; mapped with its pages dropped (MADV_DONTNEED) whenever 128
// MB of blocks had been read, 4.8-5.2 s, 8.8-9.5 CPU-s (25,000 more page
// faults and the TLB shootdowns of each drop) and 420 MB; read with
// ReadAt, 4.3-4.7 s, 7.9-8.6 CPU-s and 305-315 MB. On the generated
// repositories (an 80 MB and an 18 MB pack) mapping is what pays: 0.89
// -> 0.80 s and 0.52 -> 0.40 s.

import (
	"fmt"
	"runtime/debug"
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

// mapBudget is the most bytes of packs a store maps (see above); a var
// for tests.
var mapBudget int64 = 128 << 20

// mapPacks maps every pack of s, when they fit in mapBudget together.
func (s *Store) mapPacks() {
	var total int64
	for _, p := range s.packs {
		total += p.size
	}
	if !useMmap || total > mapBudget {
		return
	}
	for _, p := range s.packs {
		p.mapIn()
	}
}

// mapIn maps p's file, when it can.
func (p *packFile) mapIn() {
	b, err := mapFile(p.f, p.size)
	if err != nil || int64(len(b)) != p.size {
		if err == nil {
			_ = unmapFile(b)
		}
		return
	}
	p.data = b
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

// span returns p's bytes [start, end) as they are mapped (p.data is set).
func (p *packFile) span(start, end int64) ([]byte, error) {
	if start < 0 || end < start || end > int64(len(p.data)) {
		return nil, fmt.Errorf("bytes %d-%d outside the pack (truncated?)", start, end)
	}
	return p.data[start:end:end], nil
}
