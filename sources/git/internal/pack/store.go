package pack

// Opening a store (its packs and alternates) and visiting every blob.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Store is an opened object store.
type Store struct {
	// SkipOver, when above 0, is the size over which a blob is not read
	// but visited as Skipped (a blob over the scan's size cap costs no
	// memory): a loose blob, or a packed one stored whole that no delta
	// has as its base (a blob stored as a delta, or a base, is read).
	SkipOver int64
	// Lazy, when set, passes the deltas no delta has as a base without
	// their content (Blob.Data nil): the visitor reads it with
	// Blob.Content, or looks near its changes with Blob.Near, which on a
	// base holding no anchor writes nothing.
	Lazy bool

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
	s.mapPacks()
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

// Close unmaps and closes the pack files. No Reader of s, nor Blobs or
// Trees, may be running.
func (s *Store) Close() error {
	var first error
	for _, p := range s.packs {
		if err := p.close(); err != nil && first == nil {
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
		if err := s.scanHeaders(p); err != nil {
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
			wk := &worker{id: w, visit: visit, skipOver: s.SkipOver, lazy: s.Lazy, st: &stats[w], tasks: tasks, pending: &pending}
			for t := range tasks {
				// After a failure, the rest is drained, not done.
				if ctx.Err() == nil {
					if err := s.do(wk, t); err != nil {
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

// do is wk.do(t), a fault reading a mapped pack an error (mmap.go).
func (s *Store) do(wk *worker, t task) (err error) {
	defer s.guard(debug.SetPanicOnFault(true), &err)
	return wk.do(t)
}

// scanHeaders is p.scanHeaders, a fault reading a mapped pack an error.
func (s *Store) scanHeaders(p *packFile) (err error) {
	defer s.guard(debug.SetPanicOnFault(true), &err)
	return p.scanHeaders()
}

// produce sends the loose object files, then the roots of every pack's
// blob trees: loose objects are the newest, where a fresh leak is, so a
// scan that finds one learns it early (and starts attributing it).
func (s *Store) produce(ctx context.Context, send func(task) bool) error {
	stopped := false
	err := s.eachLoose(func(path string) bool {
		stopped = !send(task{loose: path})
		return !stopped
	})
	if err != nil || stopped {
		return err
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

// HasLoose reports whether any of the store's object directories (its
// own and its alternates') holds a loose object file.
func (s *Store) HasLoose() (bool, error) {
	found := false
	err := s.eachLoose(func(string) bool {
		found = true
		return false
	})
	return found, err
}

// eachLoose calls fn with the path of every loose object file of every
// object directory (objects/xx/ followed by 38 hex digits), until fn
// returns false. produce, HasLoose and looseFiles all walk them this way.
func (s *Store) eachLoose(fn func(path string) bool) error {
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
				if len(f.Name()) == 38 && isHex(f.Name()) && !fn(filepath.Join(sub, f.Name())) {
					return nil
				}
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
