package git

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bks-dev/bks/sources"
)

// The blob-first walk: the default scan (every ref, no --range, --since or
// --branch, not shallow) with a Matcher. Measured on git/git, finding
// which commit introduced each blob (`git log --raw -c`) costs about as
// much as reading every blob, and almost every history has nothing to
// find. So:
//
//  1. `git rev-list --objects --stdin --filter=object:type=blob` lists the
//     blobs reachable from the same roots as the walk (every ref's commit,
//     the stash reflog, a detached HEAD, trees and blobs refs name); its
//     output streams, in blocks, to blobFirstWorkers `git cat-file --batch`
//     processes, and each blob is checked by the Matcher as it is read;
//     meanwhile a third cat-file reads the commits (their messages, the
//     graph);
//  2. only when some blob has a candidate (or is over MaxBlobSize) does the
//     attribution walk run (`git log --raw -c`, as in fast.go), and only
//     those blobs are kept from it; they are read again and yielded, HEAD's
//     first, with the commit and path that introduced them.
//
// Every blob listed is reachable, so the walk attributes each; a blob it
// does not (which would mean git's and bks's ideas of the roots differ) is
// not yielded with a guessed origin: it is counted in a warning.
//
// Anything unexpected (rev-list unknown to an old git, a missing or
// corrupt object) sends the scan to the walk in fast.go, which reports
// unreadable objects by id.

// blobFirstWorkers is how many git cat-file processes read blobs.
const blobFirstWorkers = 2

// blobFirstBlock is how many blob ids go to one worker at a time: large
// enough that consecutive blobs (often deltas of one another) stay with
// one process and its delta base cache.
var blobFirstBlock = 1024 // a variable for tests

func (h *history) blobFirstOK() bool {
	o := h.s.opts
	return o.Matcher != nil && o.Range == "" && o.Branch == "" && o.Since.IsZero() &&
		len(h.bases) == 0 && len(h.shallow) == 0
}

// blobScan is what the blob stream found.
type blobScan struct {
	mu     sync.Mutex
	hits   []plumbing.Hash         // a candidate inside
	tooBig map[plumbing.Hash]int64 // over MaxBlobSize: size
	// missing: reachable but not in the object store (missing.go)
	missing []plumbing.Hash
	// stream: blobs over streamOver the in-process reader did not read;
	// all are in hits, and are yielded by streaming them (large.go).
	stream map[plumbing.Hash]bool
	blobs  int
	bytes  int64
}

func (h *history) runBlobFirst(ctx context.Context, yield func(sources.Chunk) error) (err error) {
	h.errMu.Lock()
	h.hold = true
	h.errMu.Unlock()
	defer func() { h.release(err == nil || !errors.Is(err, errFallback)) }()
	clock := newPhaseClock()
	defer func() {
		if err == nil {
			clock.done(h.s.opts.Stats, h.repoName)
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The object store, read in process when newHistory could open it.
	store := h.store

	// Commits, concurrently with the blob stream.
	commitsDone := make(chan error, 1)
	go func() {
		if store != nil {
			h.objs = store.NewReader()
			err := h.collectGit(ctx, nil)
			h.objs = nil
			commitsDone <- err
			return
		}
		cf, err := startCatFile(ctx, h.path)
		if err != nil {
			commitsDone <- fmt.Errorf("%w: %v", errFallback, err)
			return
		}
		defer cf.kill()
		err = h.collectGit(ctx, cf)
		if err == nil {
			_ = cf.close()
		}
		commitsDone <- err
	}()

	bs := &blobScan{tooBig: map[plumbing.Hash]int64{}}
	packs := store != nil
	var serr, cerr error
	if packs {
		// The store holds what is there; rev-list names what is not.
		missingDone := make(chan error, 1)
		go func() {
			var err error
			bs.missing, err = h.revListMissing(ctx)
			if err != nil {
				err = fmt.Errorf("%w: %v", errFallback, err)
			}
			missingDone <- err
		}()
		serr = h.streamPacks(ctx, store, bs)
		cerr = <-commitsDone
		if merr := <-missingDone; merr != nil && serr == nil {
			serr = merr
		}
	} else {
		serr = h.streamBlobs(ctx, bs)
		if serr != nil {
			cancel()
		}
		cerr = <-commitsDone
	}
	if serr == nil && cerr == nil {
		serr = h.missingErr(bs.missing)
	}
	if serr != nil || cerr != nil {
		cancel()
		if serr != nil {
			return serr
		}
		return cerr
	}
	if st := h.s.opts.Stats; st != nil {
		st.Reader = ReaderGit
		st.Commits = len(h.nodes)
		st.Blobs += bs.blobs
		st.BlobBytes += bs.bytes
		st.BlobFirst = true
		st.Packs = packs
	}

	clock.lap(phaseScan)
	var recs []record
	var order []int32
	if len(bs.hits) > 0 || len(bs.tooBig) > 0 {
		if st := h.s.opts.Stats; st != nil {
			st.Attributed = true
		}
		want := make(map[plumbing.Hash]bool, len(bs.hits)+len(bs.tooBig))
		for _, id := range bs.hits {
			want[id] = true
		}
		for id := range bs.tooBig {
			want[id] = false
		}
		found := 0
		keep := func(r record) {
			hit, ok := want[r.blob]
			if !ok {
				return
			}
			found++
			if !hit {
				h.onError(itemName(h.recOrigin(&r)), fmt.Errorf("blob %s: %d bytes, over the %d-byte cap: skipped", r.blob, bs.tooBig[r.blob], h.s.opts.MaxBlobSize))
				return
			}
			recs = append(recs, r)
			order = append(order, int32(len(recs)-1))
		}
		if err := h.attribute(ctx, want, func(r record) error { keep(r); return nil }); err != nil {
			return err
		}
		if n := len(want) - found; n > 0 && packs {
			h.s.warn("%s: %d blob(s) with a possible key (or over the size cap) are in the object store but no ref reaches them (a deleted branch, a rewritten commit, a `git add` never committed): not reported, and not in any clone; `git fsck --unreachable --no-reflogs` lists them", h.repoName, n)
		} else if n > 0 {
			h.s.warn("%s: %d blob(s) with a possible key were listed by git rev-list but introduced by no commit bks walked: not reported (please report this)", h.repoName, n)
		}
	}
	clock.lap(phaseAttribution)
	h.release(true)
	defer clock.lap(phaseOutput)

	// Blobs at HEAD first.
	h.headFirst(order, recs)
	order, streamed := splitStreamed(order, recs, bs.stream)
	if len(order) > 0 {
		blobs, err := startCatFile(ctx, h.path)
		if err != nil {
			return fmt.Errorf("start git cat-file: %w", err)
		}
		defer blobs.kill()
		if err := h.sendBlobs(ctx, blobs, order, recs, false, yield); err != nil {
			return err
		}
		_ = blobs.close()
	}
	for _, i := range streamed {
		if err := h.streamBlob(ctx, &recs[i], yield); err != nil {
			return err
		}
	}
	return h.messages(yield)
}

// walkRecords runs the attribution walk (git log over the commits, then
// the blobs refs name) and calls add with the first record of each blob,
// in topological order.
func (h *history) walkRecords(ctx context.Context, add func(record) error) error {
	first := func(r record) error {
		if _, ok := h.seenBlobs[r.blob]; ok {
			return nil
		}
		h.seenBlobs[r.blob] = struct{}{}
		return add(r)
	}
	if err := h.logWalk(ctx, first); err != nil {
		return err
	}
	return h.looseRecords(ctx, first)
}

// attribute calls add with the first record of each blob of want, in
// topological order, and fills headBlobs: in process from the object store
// when it is open (attrib.go), else, or when the store lacks an object it
// needs, with the git log walk.
func (h *history) attribute(ctx context.Context, want map[plumbing.Hash]bool, add func(record) error) error {
	if h.store != nil && !h.s.opts.logAttribution {
		err := h.attributeStore(ctx, want, add)
		if !errors.Is(err, errStoreMiss) {
			return err
		}
		h.s.warn("%s: %v: attributing with git log", h.repoName, err)
		h.seenTrees = map[plumbing.Hash]struct{}{}
		h.seenBlobs = map[plumbing.Hash]struct{}{}
		h.headBlobs = map[plumbing.Hash]struct{}{}
	}
	if err := h.walkHeadAndBoundary(ctx); err != nil {
		return err
	}
	return h.walkRecords(ctx, func(r record) error {
		if _, ok := want[r.blob]; !ok && want != nil {
			return nil
		}
		return add(r)
	})
}

// streamBlobs lists the reachable blobs with git rev-list and reads each
// with one of blobFirstWorkers git cat-file processes, checking it with the
// Matcher. Any failure is errFallback (or the context's error).
func (h *history) streamBlobs(ctx context.Context, bs *blobScan) error {
	cmd, stdout, stderr, err := startGit(ctx, h.path, h.revListRoots(true), revListArgs(false)...)
	if err != nil {
		return fmt.Errorf("%w: %v", errFallback, err)
	}
	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	blocks := make(chan []plumbing.Hash, 2*blobFirstWorkers)
	var wg sync.WaitGroup
	for range blobFirstWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.blobWorker(ctx, blocks, bs); err != nil {
				cancel(err)
			}
		}()
	}
	// Read rev-list's ids into blocks.
	rerr := func() error {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		block := make([]plumbing.Hash, 0, blobFirstBlock)
		send := func() bool {
			select {
			case blocks <- block:
				block = make([]plumbing.Hash, 0, blobFirstBlock)
				return true
			case <-ctx.Done():
				return false
			}
		}
		for sc.Scan() {
			line := sc.Bytes()
			if i := bytes.IndexByte(line, ' '); i >= 0 {
				line = line[:i]
			}
			if id, ok := missingLine(line); ok {
				bs.missing = append(bs.missing, id) // only this goroutine writes it
				continue
			}
			if !plumbing.IsHash(string(line)) {
				return fmt.Errorf("git rev-list: unexpected output %q", line)
			}
			block = append(block, plumbing.NewHash(string(line)))
			if len(block) == blobFirstBlock && !send() {
				return nil
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("git rev-list: %v", err)
		}
		if len(block) > 0 {
			send()
		}
		return nil
	}()
	close(blocks)
	if rerr != nil {
		cancel(rerr)
	}
	if ctx.Err() != nil {
		// A worker failed or the scan stopped: rev-list may be blocked
		// writing ids nobody reads.
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	wg.Wait()
	if err := parent.Err(); err != nil {
		return err
	}
	if err := context.Cause(ctx); err != nil {
		if errors.Is(err, errFallback) {
			return err
		}
		return fmt.Errorf("%w: %v", errFallback, err)
	}
	if werr != nil {
		return fmt.Errorf("%w: git rev-list: %v: %s", errFallback, werr, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// blobWorker reads blocks of blob ids with its own git cat-file.
func (h *history) blobWorker(ctx context.Context, blocks <-chan []plumbing.Hash, bs *blobScan) error {
	cf, err := startCatFileArgs(ctx, h.path, []string{"--buffer"})
	if err != nil {
		return fmt.Errorf("%w: %v", errFallback, err)
	}
	defer cf.kill()
	pre, max := h.s.opts.prefilter(), h.s.opts.MaxBlobSize
	// The writer hands each block to the reader before writing it, so the
	// reader drains cat-file's answers while the writer is still writing
	// (otherwise both pipes fill and all three wait).
	sent := make(chan []plumbing.Hash, 1)
	go func() {
		defer close(sent)
		var line [41]byte
		line[40] = '\n'
		for block := range blocks {
			select {
			case sent <- block:
			case <-ctx.Done():
				return
			}
			for _, id := range block {
				copy(line[:], id.String())
				if _, err := cf.in.Write(line[:]); err != nil {
					cf.kill()
					return
				}
			}
			if err := cf.in.Flush(); err != nil {
				cf.kill()
				return
			}
		}
		// cat-file --buffer writes what it holds at end of input.
		_ = cf.stdin.Close()
	}()
	var (
		buf   []byte
		hits  []plumbing.Hash
		big   = map[plumbing.Hash]int64{}
		blobs int
		bytes int64
		rerr  error
	)
	for block := range sent {
		if rerr != nil {
			continue // drain
		}
		for _, id := range block {
			if ctx.Err() != nil {
				rerr = ctx.Err()
				break
			}
			data, typ, size, err := cf.readObject(id, buf, max)
			switch {
			case err == nil && typ != "blob", errors.Is(err, errTooBig) && typ != "blob":
				continue // a ref's commit or tag: rev-list lists them too
			case errors.Is(err, errTooBig):
				big[id] = size
				continue
			case err != nil:
				rerr = fmt.Errorf("%w: blob %s: %v", errFallback, id, err)
			}
			if rerr != nil {
				break
			}
			blobs++
			bytes += size
			if pre(data) {
				hits = append(hits, id)
			}
			buf = data[:cap(data)]
			if cap(buf) > 64<<20 {
				buf = nil
			}
		}
		if rerr != nil {
			cf.kill()
		}
	}
	if rerr != nil {
		return rerr
	}
	if err := cf.close(); err != nil {
		return fmt.Errorf("%w: %v", errFallback, err)
	}
	bs.mu.Lock()
	bs.hits = append(bs.hits, hits...)
	for id, n := range big {
		bs.tooBig[id] = n
	}
	bs.blobs += blobs
	bs.bytes += bytes
	bs.mu.Unlock()
	return nil
}
