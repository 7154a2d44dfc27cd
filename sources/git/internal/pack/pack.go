// Package pack reads every blob of a git object store (pack files, loose
// objects, alternates) in process, for the blob-first scan.
//
// Piping 5.6 GB of blobs out of `git cat-file` cost git/git's scan about
// 7 s of system time and 10 s of cat-file CPU, mostly re-resolving delta
// chains its bounded base cache had dropped. Here each pack's objects are
// read as git index-pack resolves them: the delta forest is built from the
// object headers alone, then each tree of it is walked from its full
// object down, so every object is inflated once and every delta applied
// once, onto its base still in memory.
//
// A delta says which bytes of its result it copied from its base and which
// it inserted. Blob tells the visitor both (Fresh), with the value the
// visitor returned for the base, so a scanner that found nothing in the
// base can look only where the delta changed something.
package pack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/klauspost/compress/zlib"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ID is a SHA-1 object id.
type ID [20]byte

func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Span is a byte range [Start, End) of a blob.
type Span struct{ Start, End int }

// Blob is one blob handed to the visitor. Its fields are valid only during
// the call.
type Blob struct {
	ID   ID
	Data []byte
	// Delta is set when the blob was stored as a delta against another
	// blob; Base is then what the visitor returned for that blob.
	Delta bool
	Base  uint8
	// Fresh, for a delta, lists in order the ranges of Data that were not
	// copied from the base in one piece: inserted bytes, and an empty span
	// where two copies that were not adjacent in the base meet. Any run of
	// bytes of Data that overlaps no Fresh span (nor touches an empty one
	// from both sides) is also a run of bytes of the base.
	Fresh []Span
}

// NearFresh says whether check is true for some part of data within
// margin bytes of a fresh span (or of an empty one). When the base of a
// delta held no literal of up to margin+1 bytes, a literal in data must
// overlap a fresh span or straddle an empty one (elsewhere it would be a
// copy of one in the base): NearFresh with check = "holds such a
// literal" then equals check(data), looking only near the changes.
func NearFresh(data []byte, fresh []Span, margin int, check func([]byte) bool) bool {
	lo, hi := -1, -1
	for _, f := range fresh {
		a, b := max(f.Start-margin, 0), min(f.End+margin, len(data))
		if lo >= 0 && a <= hi {
			hi = max(hi, b)
			continue
		}
		if lo >= 0 && check(data[lo:hi]) {
			return true
		}
		lo, hi = a, b
	}
	return lo >= 0 && check(data[lo:hi])
}

// Visitor is called for every blob, concurrently from several goroutines
// (worker is 0..workers-1, so per-worker state needs no lock). What it
// returns is passed to the blobs stored as deltas against this one.
type Visitor func(worker int, b *Blob) uint8

// ErrUnsupported means the store uses something this package does not read
// (another hash, an old index version); the caller should use git.
var ErrUnsupported = errors.New("unsupported object store")

// Store is an opened object store.
type Store struct {
	packs []*packFile
	loose []string // object directories, for loose objects
}

// Open opens the object directory dir (".git/objects") and its alternates.
// Only the pack indexes are read here.
func Open(dir string) (*Store, error) {
	s := &Store{}
	seen := map[string]bool{}
	if err := s.add(dir, seen, 0); err != nil {
		s.Close()
		return nil, err
	}
	// Newest packs first, for the same reason as loose objects first.
	slices.SortStableFunc(s.packs, func(a, b *packFile) int { return b.mtime.Compare(a.mtime) })
	return s, nil
}

func (s *Store) add(dir string, seen map[string]bool, depth int) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if seen[abs] {
		return nil
	}
	seen[abs] = true
	if depth > 5 {
		return fmt.Errorf("%s: alternates nested too deep", abs)
	}
	if _, err := os.Stat(abs); err != nil {
		return err
	}
	s.loose = append(s.loose, abs)
	idxs, err := filepath.Glob(filepath.Join(abs, "pack", "*.idx"))
	if err != nil {
		return err
	}
	for _, idx := range idxs {
		packPath := strings.TrimSuffix(idx, ".idx") + ".pack"
		if _, err := os.Stat(packPath); err != nil {
			continue // an index being written, or left behind
		}
		p, err := openPack(idx, packPath)
		if err != nil {
			return err
		}
		s.packs = append(s.packs, p)
	}
	alts, err := alternates(abs)
	if err != nil {
		return err
	}
	for _, a := range alts {
		if err := s.add(a, seen, depth+1); err != nil {
			return fmt.Errorf("alternate %s: %w", a, err)
		}
	}
	return nil
}

// alternates returns the object directories dir's info/alternates names,
// made absolute (relative ones are relative to dir, as in git).
func alternates(dir string) ([]string, error) {
	alt, err := os.ReadFile(filepath.Join(dir, "info", "alternates"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var dirs []string
	for _, line := range strings.Split(string(alt), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '"' {
			if u, err := strconv.Unquote(line); err == nil {
				line = u
			}
		}
		if !filepath.IsAbs(line) {
			line = filepath.Join(dir, line)
		}
		dirs = append(dirs, filepath.Clean(line))
	}
	return dirs, nil
}

// Alternates returns every object directory dir borrows from, directly or
// through another alternate, in the order git searches them.
func Alternates(dir string) ([]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{abs: true}
	var out []string
	var walk func(string, int) error
	walk = func(d string, depth int) error {
		if depth > 5 {
			return fmt.Errorf("%s: alternates nested too deep", d)
		}
		alts, err := alternates(d)
		if err != nil {
			return err
		}
		for _, a := range alts {
			if seen[a] {
				continue
			}
			seen[a] = true
			out = append(out, a)
			if err := walk(a, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(abs, 0)
}

// Close closes the pack files.
func (s *Store) Close() error {
	var first error
	for _, p := range s.packs {
		if err := p.f.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.packs = nil
	return first
}

// Stats says what Blobs read.
type Stats struct {
	Packs, Objects, Blobs, Loose int
	Bytes                        int64 // blob bytes (duplicates counted again)
}

// task is one unit of work: a delta tree of a pack (from its root, or
// from a delta whose base another worker holds, copied into base), or a
// loose object file.
type task struct {
	pack  *packFile
	root  int32
	base  []byte // for a delta: its base's content
	state uint8  // and what the visitor returned for it
	loose string
}

// Blobs calls visit for every blob in the store: each blob of each pack
// once (a blob in two packs, or packed and loose, is visited twice), with
// workers goroutines. The first error (a corrupt object, named by its id;
// ctx's) stops it.
func (s *Store) Blobs(ctx context.Context, workers int, visit Visitor) (Stats, error) {
	workers = max(workers, 1)
	var st Stats
	for _, p := range s.packs {
		if err := p.scanHeaders(); err != nil {
			return st, err
		}
		st.Packs++
		st.Objects += p.n
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// pending counts tasks not yet done (and the producer): workers add
	// the subtrees they hand to idle workers, so the channel closes when
	// all is done, not when the producer is.
	var pending sync.WaitGroup
	tasks := make(chan task, 4*workers)
	send := func(t task) bool {
		pending.Add(1)
		select {
		case tasks <- t:
			return true
		case <-ctx.Done():
			pending.Done()
			return false
		}
	}
	pending.Add(1)
	go func() {
		defer pending.Done()
		if err := s.produce(ctx, send); err != nil {
			cancel(err)
		}
	}()
	go func() {
		pending.Wait()
		close(tasks)
	}()
	stats := make([]Stats, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			wk := &worker{id: w, visit: visit, st: &stats[w], tasks: tasks, pending: &pending}
			for t := range tasks {
				// After a failure, the rest is drained, not done.
				if ctx.Err() == nil {
					if err := wk.do(t); err != nil {
						cancel(err)
					}
				}
				pending.Done()
			}
		})
	}
	wg.Wait()
	for _, w := range stats {
		st.Blobs += w.Blobs
		st.Loose += w.Loose
		st.Bytes += w.Bytes
	}
	return st, context.Cause(ctx)
}

// produce sends the loose object files, then the roots of every pack's
// blob trees: loose objects are the newest, where a fresh leak is, so a
// scan that finds one learns it early (and starts attributing it).
func (s *Store) produce(ctx context.Context, send func(task) bool) error {
	for _, dir := range s.loose {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if len(e.Name()) != 2 || !e.IsDir() || !isHex(e.Name()) {
				continue
			}
			sub := filepath.Join(dir, e.Name())
			files, err := os.ReadDir(sub)
			if err != nil {
				return err
			}
			for _, f := range files {
				if len(f.Name()) != 38 || !isHex(f.Name()) {
					continue
				}
				if !send(task{loose: filepath.Join(sub, f.Name())}) {
					return nil
				}
			}
		}
	}
	for _, p := range s.packs {
		for _, r := range p.roots {
			if !send(task{pack: p, root: r}) {
				return nil
			}
		}
	}
	return nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Object types in a pack.
const (
	objCommit   = 1
	objTree     = 2
	objBlob     = 3
	objTag      = 4
	objOfsDelta = 6
	objRefDelta = 7
)

// packFile is one pack and its index. Objects are numbered in pack order
// (by offset).
type packFile struct {
	name  string
	f     *os.File
	size  int64
	mtime time.Time
	n     int
	ids   []byte  // 20*n, sorted (index order)
	offs  []int64 // by index position

	// By pack order, filled by scanHeaders.
	off    []int64  // object start
	pos    []uint32 // index position (for the id)
	hdr    []uint8  // header length: data starts at off+hdr
	typ    []uint8
	size64 []int64 // inflated size (of the delta data, for deltas)
	base   []int32 // base object for deltas, -1 otherwise
	kids   []int32 // children of object k: kids[first[k]:first[k+1]]
	first  []int32
	roots  []int32 // non-delta blobs
}

func openPack(idxPath, packPath string) (*packFile, error) {
	raw, err := os.ReadFile(idxPath)
	if err != nil {
		return nil, err
	}
	p := &packFile{name: filepath.Base(packPath)}
	if len(raw) < 8+256*4 || !bytes.Equal(raw[:4], []byte{0xff, 't', 'O', 'c'}) || binary.BigEndian.Uint32(raw[4:]) != 2 {
		return nil, fmt.Errorf("%s: %w (pack index not version 2)", filepath.Base(idxPath), ErrUnsupported)
	}
	fan := raw[8 : 8+256*4]
	n := int(binary.BigEndian.Uint32(fan[255*4:]))
	base := 8 + 256*4
	need := base + n*(20+4+4) + 40
	if len(raw) < need {
		return nil, fmt.Errorf("%s: %w (index too short for %d objects: another hash?)", filepath.Base(idxPath), ErrUnsupported, n)
	}
	p.n = n
	p.ids = bytes.Clone(raw[base : base+20*n]) // not the rest of the index
	off32 := raw[base+24*n : base+28*n]
	off64 := raw[base+28*n : len(raw)-40]
	if len(off64)%8 != 0 {
		return nil, fmt.Errorf("%s: %w (index size does not fit SHA-1 ids)", filepath.Base(idxPath), ErrUnsupported)
	}
	p.offs = make([]int64, n)
	for i := range n {
		o := binary.BigEndian.Uint32(off32[4*i:])
		if o&0x80000000 != 0 {
			j := int(o &^ 0x80000000)
			if 8*j+8 > len(off64) {
				return nil, fmt.Errorf("%s: corrupt index: offset %d out of range", filepath.Base(idxPath), j)
			}
			p.offs[i] = int64(binary.BigEndian.Uint64(off64[8*j:]))
		} else {
			p.offs[i] = int64(o)
		}
	}
	f, err := os.Open(packPath)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	p.f, p.size, p.mtime = f, fi.Size(), fi.ModTime()
	return p, nil
}

func (p *packFile) id(k int32) ID {
	var id ID
	i := int(p.pos[k])
	copy(id[:], p.ids[20*i:20*i+20])
	return id
}

// lookup returns the index position of id, or -1.
func (p *packFile) lookup(id []byte) int {
	lo, hi := 0, p.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(p.ids[20*m:20*m+20], id) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < p.n && bytes.Equal(p.ids[20*lo:20*lo+20], id) {
		return lo
	}
	return -1
}

// end is where object k's data ends: the next object, or the trailer.
func (p *packFile) end(k int32) int64 {
	if int(k)+1 < p.n {
		return p.off[k+1]
	}
	return p.size - 20
}

// scanHeaders reads the pack once, front to back, parsing each object's
// header (type, size, delta base) and builds the delta forest.
func (p *packFile) scanHeaders() error {
	if p.off != nil {
		return nil
	}
	n := p.n
	p.pos = make([]uint32, n)
	for i := range p.pos {
		p.pos[i] = uint32(i)
	}
	slices.SortFunc(p.pos, func(a, b uint32) int {
		switch oa, ob := p.offs[a], p.offs[b]; {
		case oa < ob:
			return -1
		case oa > ob:
			return 1
		}
		return 0
	})
	p.off = make([]int64, n)
	for k, i := range p.pos {
		p.off[k] = p.offs[i]
	}
	byPos := make([]int32, n) // index position -> pack order
	for k, i := range p.pos {
		byPos[i] = int32(k)
	}
	p.hdr = make([]uint8, n)
	p.typ = make([]uint8, n)
	p.size64 = make([]int64, n)
	p.base = make([]int32, n)

	var head [12]byte
	if _, err := p.f.ReadAt(head[:], 0); err != nil {
		return fmt.Errorf("%s: %v", p.name, err)
	}
	if string(head[:4]) != "PACK" || binary.BigEndian.Uint32(head[8:]) != uint32(n) {
		return fmt.Errorf("%s: not a pack, or its index is for another pack", p.name)
	}
	r := bufio.NewReaderSize(io.NewSectionReader(p.f, 0, p.size), 1<<20)
	var at int64
	for k := range n {
		o := p.off[k]
		if o < 12 || o < at || o >= p.size-20 {
			return fmt.Errorf("%s: object %s at offset %d: outside the pack", p.name, p.id(int32(k)), o)
		}
		if _, err := r.Discard(int(o - at)); err != nil {
			return fmt.Errorf("%s: object %s: %v (truncated pack?)", p.name, p.id(int32(k)), err)
		}
		at = o
		c, err := r.ReadByte()
		if err != nil {
			return fmt.Errorf("%s: object %s: %v (truncated pack?)", p.name, p.id(int32(k)), err)
		}
		at++
		typ := c >> 4 & 7
		size := int64(c & 15)
		shift := 4
		for c&0x80 != 0 {
			if c, err = r.ReadByte(); err != nil || shift > 56 {
				return fmt.Errorf("%s: object %s: bad header", p.name, p.id(int32(k)))
			}
			at++
			size |= int64(c&0x7f) << shift
			shift += 7
		}
		p.typ[k], p.size64[k], p.base[k] = typ, size, -1
		switch typ {
		case objCommit, objTree, objBlob, objTag:
		case objOfsDelta:
			c, err := r.ReadByte()
			if err != nil {
				return fmt.Errorf("%s: object %s: bad delta header", p.name, p.id(int32(k)))
			}
			at++
			d := int64(c & 0x7f)
			for c&0x80 != 0 {
				if c, err = r.ReadByte(); err != nil || d > 1<<50 {
					return fmt.Errorf("%s: object %s: bad delta header", p.name, p.id(int32(k)))
				}
				at++
				d = (d+1)<<7 | int64(c&0x7f)
			}
			b, ok := slices.BinarySearch(p.off, o-d)
			if !ok || d <= 0 {
				return fmt.Errorf("%s: object %s: delta base at offset %d is not an object", p.name, p.id(int32(k)), o-d)
			}
			p.base[k] = int32(b)
		case objRefDelta:
			var id [20]byte
			if _, err := io.ReadFull(r, id[:]); err != nil {
				return fmt.Errorf("%s: object %s: bad delta header", p.name, p.id(int32(k)))
			}
			at += 20
			i := p.lookup(id[:])
			if i < 0 {
				// Only a thin pack (never in a repository) refers outside.
				return fmt.Errorf("%s: object %s: delta base %s is not in the pack: %w", p.name, p.id(int32(k)), hex.EncodeToString(id[:]), ErrUnsupported)
			}
			p.base[k] = byPos[i]
		default:
			return fmt.Errorf("%s: object %s: unknown type %d", p.name, p.id(int32(k)), typ)
		}
		if at-o > 255 {
			return fmt.Errorf("%s: object %s: bad header", p.name, p.id(int32(k)))
		}
		p.hdr[k] = uint8(at - o)
	}
	// The forest, children by pack order.
	p.first = make([]int32, n+1)
	for _, b := range p.base {
		if b >= 0 {
			p.first[b+1]++
		}
	}
	for k := range n {
		p.first[k+1] += p.first[k]
	}
	p.kids = make([]int32, p.first[n])
	fill := slices.Clone(p.first[:n])
	for k, b := range p.base {
		if b >= 0 {
			p.kids[fill[b]] = int32(k)
			fill[b]++
		}
	}
	// Roots of blob trees; every delta must hang under some root.
	reached := 0
	var stack []int32
	for k := range n {
		if p.base[k] >= 0 {
			continue
		}
		stack = append(stack[:0], int32(k))
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			reached++
			stack = append(stack, p.kids[p.first[x]:p.first[x+1]]...)
		}
		if p.typ[k] == objBlob {
			p.roots = append(p.roots, int32(k))
		}
	}
	if reached != n {
		return fmt.Errorf("%s: %d delta(s) whose base chain loops", p.name, n-reached)
	}
	return nil
}

// worker holds one goroutine's buffers.
type worker struct {
	id      int
	visit   Visitor
	st      *Stats
	tasks   chan task
	pending *sync.WaitGroup
	z       inflater
	cbuf    []byte
	delta   []byte
	bufs    [][]byte // content by depth
	fresh   []Span
	blob    Blob
}

// inflate reads object k's zlib data into dst (resized to want bytes).
func (w *worker) inflate(p *packFile, k int32, want int64, dst []byte) ([]byte, error) {
	start, end := p.off[k]+int64(p.hdr[k]), p.end(k)
	// Deflate expands 1032 times at most: a larger size is corrupt.
	if end < start || want < 0 || want > (end-start)*1032+64 {
		return nil, fmt.Errorf("object %s: size %d does not fit its %d bytes of data", p.id(k), want, end-start)
	}
	n := int(end - start)
	if cap(w.cbuf) < n {
		w.cbuf = make([]byte, n)
	}
	cb := w.cbuf[:n]
	if _, err := p.f.ReadAt(cb, start); err != nil {
		return nil, fmt.Errorf("object %s: %v (truncated pack?)", p.id(k), err)
	}
	return w.inflateBytes(cb, want, dst, func() string { return p.id(k).String() })
}

func (w *worker) inflateBytes(cb []byte, want int64, dst []byte, name func() string) ([]byte, error) {
	data, err := w.z.exact(bytes.NewReader(cb), want, dst)
	if err != nil {
		return nil, fmt.Errorf("object %s: %v", name(), err)
	}
	return data, nil
}

// inflater inflates zlib streams with one reused decompressor.
type inflater struct{ zr io.ReadCloser }

func (z *inflater) reset(src io.Reader) error {
	if z.zr == nil {
		var err error
		z.zr, err = zlib.NewReader(src)
		return err
	}
	return z.zr.(zlib.Resetter).Reset(src, nil)
}

// exact inflates src, a stream of exactly size bytes, into dst.
func (z *inflater) exact(src io.Reader, size int64, dst []byte) ([]byte, error) {
	if err := z.reset(src); err != nil {
		return nil, err
	}
	if int64(cap(dst)) < size {
		dst = make([]byte, size)
	}
	dst = dst[:size]
	if _, err := io.ReadFull(z.zr, dst); err != nil {
		return nil, fmt.Errorf("inflate: %v", err)
	}
	var one [1]byte
	if n, err := z.zr.Read(one[:]); n != 0 || err != io.EOF {
		return nil, errors.New("inflate: more data than its size says (or a bad checksum)")
	}
	return dst, nil
}

func (w *worker) buf(depth int) []byte {
	for len(w.bufs) <= depth {
		w.bufs = append(w.bufs, nil)
	}
	return w.bufs[depth]
}

// maxKeep is the largest buffer a worker keeps between tasks: one huge
// blob must not hold its memory for the rest of the scan.
const maxKeep = 64 << 20

func (w *worker) do(t task) error {
	defer func() {
		for i, b := range w.bufs {
			if cap(b) > maxKeep {
				w.bufs[i] = nil
			}
		}
		if cap(w.cbuf) > maxKeep {
			w.cbuf = nil
		}
		if cap(w.delta) > maxKeep {
			w.delta = nil
		}
	}()
	switch {
	case t.pack == nil:
		return w.looseObject(t.loose)
	case t.base != nil:
		if err := w.delta1(t.pack, t.root, t.base, t.state, 1); err != nil {
			return fmt.Errorf("%s: %w", t.pack.name, err)
		}
		return nil
	}
	return w.tree(t.pack, t.root)
}

// tree visits root and every delta under it, depth first, each delta
// applied to its base while the base is in memory.
func (w *worker) tree(p *packFile, root int32) error {
	data, err := w.inflate(p, root, p.size64[root], w.buf(0))
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	w.bufs[0] = data
	w.blob = Blob{ID: p.id(root), Data: data}
	state := w.visit(w.id, &w.blob)
	w.st.Blobs++
	w.st.Bytes += int64(len(data))
	if err := w.children(p, root, data, state, 1); err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	return nil
}

func (w *worker) children(p *packFile, k int32, base []byte, state uint8, depth int) error {
	for _, c := range p.kids[p.first[k]:p.first[k+1]] {
		// A delta with deltas of its own goes to an idle worker, with a
		// copy of its base, when there is room for it: one long history
		// of one file is one tree, which would keep one core busy alone.
		if p.first[c+1] > p.first[c] && len(w.tasks) == 0 {
			w.pending.Add(1)
			select {
			case w.tasks <- task{pack: p, root: c, base: bytes.Clone(base), state: state}:
				continue
			default:
				w.pending.Done()
			}
		}
		if err := w.delta1(p, c, base, state, depth); err != nil {
			return err
		}
	}
	return nil
}

// delta1 visits delta c of base, then the deltas under it.
func (w *worker) delta1(p *packFile, c int32, base []byte, state uint8, depth int) error {
	d, err := w.inflate(p, c, p.size64[c], w.delta)
	if err != nil {
		return err
	}
	w.delta = d
	out, fresh, err := applyDelta(base, d, w.buf(depth), w.fresh[:0])
	if err != nil {
		return fmt.Errorf("object %s: %v", p.id(c), err)
	}
	w.bufs[depth], w.fresh = out, fresh
	w.blob = Blob{ID: p.id(c), Data: out, Delta: true, Base: state, Fresh: fresh}
	s := w.visit(w.id, &w.blob)
	w.st.Blobs++
	w.st.Bytes += int64(len(out))
	if p.first[c+1] > p.first[c] {
		return w.children(p, c, out, s, depth+1)
	}
	return nil
}

// applyDelta applies git delta d to base, into dst, and lists the spans of
// the result not copied from base in one piece.
func applyDelta(base, d, dst []byte, fresh []Span) ([]byte, []Span, error) {
	src, d, ok := deltaSize(d)
	if !ok || src != uint64(len(base)) {
		return nil, nil, fmt.Errorf("delta for a base of %d bytes, applied to %d", src, len(base))
	}
	size, d, ok := deltaSize(d)
	// Each op takes a byte at least and gives at most a copy of the base
	// or 127 inserted bytes: a larger size is a lie, not to be allocated.
	if !ok || size > uint64(len(d))*uint64(max(len(base), 127)) {
		return nil, nil, errors.New("bad delta size")
	}
	if uint64(cap(dst)) < size {
		dst = make([]byte, size)
	}
	dst = dst[:size]
	o := 0
	prevEnd := -1 // end in base of the previous copy, -1 after an insert
	for len(d) > 0 {
		c := d[0]
		d = d[1:]
		switch {
		case c&0x80 != 0:
			var off, n uint32
			var ok1, ok2 bool
			off, d, ok1 = copyArg(c, 0, 4, d)
			n, d, ok2 = copyArg(c, 4, 3, d)
			if !ok1 || !ok2 {
				return nil, nil, errors.New("truncated delta")
			}
			if n == 0 {
				n = 0x10000
			}
			if uint64(off)+uint64(n) > uint64(len(base)) || o+int(n) > len(dst) {
				return nil, nil, errors.New("delta copies outside its base or result")
			}
			if o > 0 && prevEnd != int(off) && prevEnd >= 0 {
				fresh = append(fresh, Span{o, o})
			}
			copy(dst[o:], base[off:off+n])
			o += int(n)
			prevEnd = int(off + n)
		case c != 0:
			n := int(c)
			if n > len(d) || o+n > len(dst) {
				return nil, nil, errors.New("truncated delta")
			}
			copy(dst[o:], d[:n])
			d = d[n:]
			if l := len(fresh); l > 0 && fresh[l-1].End == o {
				fresh[l-1].End = o + n
			} else {
				fresh = append(fresh, Span{o, o + n})
			}
			o += n
			prevEnd = -1
		default:
			return nil, nil, errors.New("delta opcode 0")
		}
	}
	if o != len(dst) {
		return nil, nil, fmt.Errorf("delta wrote %d of %d bytes", o, len(dst))
	}
	return dst, fresh, nil
}

// copyArg reads the little-endian bytes of a copy op's offset (bits 0-3
// of c say which are present) or size (bits 4-6).
func copyArg(c byte, shift, count int, d []byte) (uint32, []byte, bool) {
	var v uint32
	for i := range count {
		if c&(1<<(shift+i)) != 0 {
			if len(d) == 0 {
				return 0, nil, false
			}
			v |= uint32(d[0]) << (8 * i)
			d = d[1:]
		}
	}
	return v, d, true
}

func deltaSize(d []byte) (uint64, []byte, bool) {
	var v uint64
	for i := 0; i < len(d) && i < 10; i++ {
		v |= uint64(d[i]&0x7f) << (7 * i)
		if d[i]&0x80 == 0 {
			return v, d[i+1:], true
		}
	}
	return 0, nil, false
}

// looseObject visits a loose object if it is a blob.
func (w *worker) looseObject(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var id ID
	dir, file := filepath.Split(path)
	if _, err := hex.Decode(id[:], []byte(filepath.Base(dir)+file)); err != nil {
		return fmt.Errorf("%s: not an object id", path)
	}
	name := func() string { return id.String() }
	// The header first: a loose commit or tree is not inflated further.
	if err := w.z.reset(bytes.NewReader(raw)); err != nil {
		return fmt.Errorf("object %s: %v", id, err)
	}
	var head [32]byte
	n, _ := io.ReadFull(w.z.zr, head[:])
	typ, rest, ok := bytes.Cut(head[:n], []byte{' '})
	if !ok {
		return fmt.Errorf("object %s: bad loose object header", id)
	}
	if string(typ) != "blob" {
		return nil
	}
	sz, _, ok := bytes.Cut(rest, []byte{0})
	size, err := strconv.ParseInt(string(sz), 10, 64)
	if !ok || err != nil || size < 0 || size > int64(len(raw))*1032+64 {
		return fmt.Errorf("object %s: bad loose object header", id)
	}
	full, err := w.inflateBytes(raw, int64(len("blob ")+len(sz)+1)+size, w.buf(0), name)
	if err != nil {
		return err
	}
	w.bufs[0] = full
	w.blob = Blob{ID: id, Data: full[len("blob ")+len(sz)+1:]}
	w.visit(w.id, &w.blob)
	w.st.Blobs++
	w.st.Loose++
	w.st.Bytes += size
	return nil
}

// ErrNotFound means the object is in no pack and not loose.
var ErrNotFound = errors.New("object not found")

// Reader reads single objects by id (commits while Blobs reads the
// blobs). It is not safe for concurrent use; the Store it reads may be
// used by other Readers and by Blobs meanwhile.
type Reader struct {
	s  *Store
	z  inflater
	br *bufio.Reader
}

// NewReader returns a Reader of s.
func (s *Store) NewReader() *Reader { return &Reader{s: s} }

// Object returns the type ("commit", "tree", "blob" or "tag") and content
// of object id; the content may use buf's memory.
func (r *Reader) Object(id ID, buf []byte) (string, []byte, error) {
	for _, p := range r.s.packs {
		if i := p.lookup(id[:]); i >= 0 {
			typ, data, err := r.at(p, p.offs[i], buf, 0)
			if err != nil {
				return "", nil, fmt.Errorf("%s: object %s: %w", p.name, id, err)
			}
			return typeNames[typ], data, nil
		}
	}
	hexID := id.String()
	for _, dir := range r.s.loose {
		raw, err := os.ReadFile(filepath.Join(dir, hexID[:2], hexID[2:]))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		return r.loose(id, raw, buf)
	}
	return "", nil, fmt.Errorf("object %s: %w", id, ErrNotFound)
}

var typeNames = [8]string{objCommit: "commit", objTree: "tree", objBlob: "blob", objTag: "tag"}

// maxChain bounds delta chains (git's own limit is 4095).
const maxChain = 10000

// at reads the object at offset off of p, resolving its delta chain.
func (r *Reader) at(p *packFile, off int64, buf []byte, depth int) (byte, []byte, error) {
	if depth > maxChain {
		return 0, nil, errors.New("delta chain too long (a loop?)")
	}
	if off < 12 || off >= p.size-20 {
		return 0, nil, fmt.Errorf("offset %d outside the pack", off)
	}
	var head [32]byte
	n, err := p.f.ReadAt(head[:min(int64(len(head)), p.size-off)], off)
	if n == 0 {
		return 0, nil, fmt.Errorf("read at %d: %v", off, err)
	}
	h := head[:n]
	i := 0
	c := h[i]
	i++
	typ := c >> 4 & 7
	size := int64(c & 15)
	for shift := 4; c&0x80 != 0; shift += 7 {
		if i >= len(h) || shift > 56 {
			return 0, nil, errors.New("bad object header")
		}
		c = h[i]
		i++
		size |= int64(c&0x7f) << shift
	}
	var baseTyp byte
	var base []byte
	switch typ {
	case objCommit, objTree, objBlob, objTag:
	case objOfsDelta:
		if i >= len(h) {
			return 0, nil, errors.New("bad delta header")
		}
		c = h[i]
		i++
		d := int64(c & 0x7f)
		for c&0x80 != 0 {
			if i >= len(h) || d > 1<<50 {
				return 0, nil, errors.New("bad delta header")
			}
			c = h[i]
			i++
			d = (d+1)<<7 | int64(c&0x7f)
		}
		if d <= 0 || d > off {
			return 0, nil, errors.New("bad delta base offset")
		}
		baseTyp, base, err = r.at(p, off-d, nil, depth+1)
	case objRefDelta:
		if i+20 > len(h) {
			return 0, nil, errors.New("bad delta header")
		}
		var bid ID
		copy(bid[:], h[i:i+20])
		i += 20
		if j := p.lookup(bid[:]); j >= 0 {
			baseTyp, base, err = r.at(p, p.offs[j], nil, depth+1)
		} else {
			var name string
			name, base, err = r.Object(bid, nil)
			for t, n := range typeNames {
				if n == name && n != "" {
					baseTyp = byte(t)
				}
			}
		}
	default:
		return 0, nil, fmt.Errorf("unknown type %d", typ)
	}
	if err != nil {
		return 0, nil, err
	}
	if size < 0 || size > p.size*1032 {
		return 0, nil, errors.New("bad object size")
	}
	data, err := r.inflate(io.NewSectionReader(p.f, off+int64(i), p.size-20-off-int64(i)), size, buf)
	if err != nil {
		return 0, nil, err
	}
	if typ != objOfsDelta && typ != objRefDelta {
		return typ, data, nil
	}
	out, _, err := applyDelta(base, data, nil, nil)
	if err != nil {
		return 0, nil, err
	}
	return baseTyp, out, nil
}

// inflate reads size bytes of zlib data from src into buf.
func (r *Reader) inflate(src io.Reader, size int64, buf []byte) ([]byte, error) {
	if r.br == nil {
		r.br = bufio.NewReaderSize(src, 4096)
	} else {
		r.br.Reset(src)
	}
	return r.z.exact(r.br, size, buf)
}

func (r *Reader) loose(id ID, raw, buf []byte) (string, []byte, error) {
	full, err := r.inflateAll(raw, int64(len(raw))*1032+64)
	if err != nil {
		return "", nil, fmt.Errorf("object %s: %v", id, err)
	}
	hdr, body, ok := bytes.Cut(full, []byte{0})
	typ, sz, ok2 := bytes.Cut(hdr, []byte{' '})
	size, err := strconv.ParseInt(string(sz), 10, 64)
	if !ok || !ok2 || err != nil || size != int64(len(body)) {
		return "", nil, fmt.Errorf("object %s: bad loose object header", id)
	}
	return string(typ), append(buf[:0], body...), nil
}

// inflateAll inflates a whole zlib stream of at most max bytes.
func (r *Reader) inflateAll(raw []byte, max int64) ([]byte, error) {
	if err := r.z.reset(bytes.NewReader(raw)); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(r.z.zr, max))
}
