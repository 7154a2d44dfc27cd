package git

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
)

// The git CLI walk. Measured on git/git (85,000 commits, 165,000 unique
// blobs, 5.6 GB): go-git's commit and tree decoding took most of the time,
// so with the git CLI installed the history is read by it:
//
//  1. commits by `git cat-file --batch`, a whole BFS frontier per request
//     batch, decoded by go-git's own commit parser (same attribution);
//  2. the blobs each commit introduced by one `git log --no-walk=unsorted
//     --raw -c` over the commits in bks's topological order: a commit's
//     diff against its parents (the combined diff of a merge: what differs
//     from every parent) holds every blob the commit has and no parent has,
//     which is the tree walk's "first commit in topological order that
//     contains the blob" (its path: the first in tree order, as in the walk);
//  3. blob contents by a second `git cat-file --batch`, while the log runs.
//
// With a Matcher, each blob is checked as it is read, and only the blobs
// it keeps are yielded, once the walk is over: blobs at HEAD first, so
// in_head holds per key. Without one, blobs are read after the walk.
//
// When git cannot walk the history (a missing commit or tree, a truncated
// pack), the scan starts over with go-git, which reports each unreadable
// object and scans the rest; errors met before that are dropped, as go-git
// meets them again.

// errFallback asks for the go-git walk.
var errFallback = errors.New("git CLI walk failed")

// record is one blob the walk found: the commit (index into nodes, -1 for
// a ref naming a tree or blob) and the path where it was introduced.
type record struct {
	blob plumbing.Hash
	node int32
	path string
}

func (h *history) useGitCLI() bool {
	switch h.s.opts.Reader {
	case ReaderGoGit:
		return false
	case ReaderGit:
		return true
	}
	_, err := exec.LookPath("git")
	return err == nil
}

// run scans the history with the git CLI when it can, else with go-git.
func (h *history) run(ctx context.Context, yield func(sources.Chunk) error) error {
	if h.useGitCLI() {
		if h.blobFirstOK() {
			err := h.runBlobFirst(ctx, yield)
			if !errors.Is(err, errFallback) {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// fast.go's walk reads the history again and reports what
			// it cannot read, by id.
			h.reset()
		}
		err := h.runGit(ctx, yield)
		if !errors.Is(err, errFallback) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		h.s.warn("%s: %v: reading the history with go-git", h.repoName, err)
		h.reset()
	}
	if err := h.walk(ctx); err != nil {
		return err
	}
	return h.emitGoGit(ctx, yield)
}

func (h *history) runGit(ctx context.Context, yield func(sources.Chunk) error) (err error) {
	h.errMu.Lock()
	h.hold = true
	h.errMu.Unlock()
	defer func() { h.release(err == nil || !errors.Is(err, errFallback)) }()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	commits, err := startCatFile(ctx, h.path)
	if err != nil {
		return fmt.Errorf("%w: %v", errFallback, err)
	}
	defer commits.kill()
	if err := h.collectGit(ctx, commits); err != nil {
		return err
	}
	if err := h.walkHeadAndBoundary(ctx); err != nil {
		return err
	}
	if st := h.s.opts.Stats; st != nil {
		st.Reader = ReaderGit
		st.Commits = len(h.nodes)
		st.Attributed = true
	}
	blobs, err := startCatFile(ctx, h.path)
	if err != nil {
		return fmt.Errorf("%w: %v", errFallback, err)
	}
	defer blobs.kill()

	pre := h.s.opts.prefilter()
	var recs []record
	var hits []int32
	p := &blobPipe{h: h, cf: blobs}
	if pre != nil {
		// Read and check each blob while the log runs.
		p.start(ctx, func(i int32, data []byte) error {
			if pre(data) {
				hits = append(hits, i)
			}
			return nil
		}, true)
	}
	add := func(r record) error {
		if _, ok := h.seenBlobs[r.blob]; ok {
			return nil
		}
		h.seenBlobs[r.blob] = struct{}{}
		recs = append(recs, r)
		if pre != nil {
			return p.send(ctx, int32(len(recs)-1), r)
		}
		return nil
	}
	walkErr := h.logWalk(ctx, add)
	if walkErr == nil {
		walkErr = h.looseRecords(ctx, add)
	}
	if pre != nil {
		if err := p.finish(); err != nil && walkErr == nil {
			walkErr = err
		}
	}
	if walkErr != nil {
		return walkErr
	}
	h.release(true)

	// Blobs at HEAD first.
	var order []int32
	if pre == nil {
		order = make([]int32, len(recs))
		for i := range recs {
			order[i] = int32(i)
		}
	} else {
		order = hits
	}
	h.headFirst(order, recs)
	if len(order) > 0 {
		if err := h.sendBlobs(ctx, blobs, order, recs, pre == nil, yield); err != nil {
			return err
		}
	}
	return h.messages(yield)
}

// sendBlobs reads the blobs recs[order…] through cf and yields their chunks
// (all: every blob; otherwise only those the engine prefilter passes).
func (h *history) sendBlobs(ctx context.Context, cf *catFile, order []int32, recs []record, all bool, yield func(sources.Chunk) error) error {
	y := &blobPipe{h: h, cf: cf}
	y.start(ctx, func(i int32, data []byte) error {
		return h.split.SplitBytes(data, h.recOrigin(&recs[i]), yield)
	}, all)
	var serr error
	for _, i := range order {
		if serr = y.send(ctx, i, recs[i]); serr != nil {
			break
		}
	}
	if err := y.finish(); err != nil {
		return err
	}
	return serr
}

// messages yields commit messages in topological order, then annotated
// tags' messages.
func (h *history) messages(yield func(sources.Chunk) error) error {
	for _, i := range h.topoOrder() {
		n := &h.nodes[i]
		if !n.meta.scanMessage {
			continue
		}
		o := h.commitOrigin(n)
		o.Kind = "commit-message"
		if err := h.split.SplitBytes([]byte(n.meta.message), o, yield); err != nil {
			return err
		}
	}
	return h.tagMessages(yield, h.s.opts.prefilter())
}

// commitOrigin is the attribution of what commit n introduced.
func (h *history) commitOrigin(n *commitNode) *location.Location {
	return &location.Location{
		Repo:    h.repoName,
		Commit:  n.hash.String(),
		Author:  n.meta.author,
		Email:   n.meta.email,
		Date:    n.meta.date,
		Message: n.meta.subject,
	}
}

func (h *history) recOrigin(r *record) *location.Location {
	var o *location.Location
	if r.node >= 0 {
		o = h.commitOrigin(&h.nodes[r.node])
	} else {
		o = &location.Location{Repo: h.repoName}
	}
	o.Path = r.path
	o.InHead = h.inHeadFor(r.blob)
	return o
}

func (h *history) tagMessages(yield func(sources.Chunk) error, pre func([]byte) bool) error {
	for _, t := range h.tags {
		if pre != nil && !pre([]byte(t.Message)) {
			continue
		}
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
		if err := h.split.SplitBytes([]byte(t.Message), o, yield); err != nil {
			return err
		}
	}
	return nil
}

// looseRecords adds the blobs of refs that name a tree or a blob.
func (h *history) looseRecords(ctx context.Context, add func(record) error) error {
	for _, l := range h.loose {
		if l.typ == plumbing.BlobObject {
			if err := add(record{blob: l.hash, node: -1, path: l.name}); err != nil {
				return err
			}
			continue
		}
		err := h.walkTree(ctx, l.hash, l.name+":", h.seenTrees, func(p string, id plumbing.Hash) error {
			return add(record{blob: id, node: -1, path: p})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// rawObject hands bytes read by git cat-file to go-git's decoders.
type rawObject struct {
	id   plumbing.Hash
	typ  plumbing.ObjectType
	data []byte
}

func (o *rawObject) Hash() plumbing.Hash           { return o.id }
func (o *rawObject) Type() plumbing.ObjectType     { return o.typ }
func (o *rawObject) SetType(t plumbing.ObjectType) { o.typ = t }
func (o *rawObject) Size() int64                   { return int64(len(o.data)) }
func (o *rawObject) SetSize(int64)                 {}
func (o *rawObject) Reader() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(o.data)), nil
}
func (o *rawObject) Writer() (io.WriteCloser, error) { return nil, errors.New("read-only object") }

// readCommitsGit reads commits ids with one batch of requests.
func (h *history) readCommitsGit(ctx context.Context, cf *catFile, ids []plumbing.Hash, fn func(*commitHead)) error {
	if h.objs != nil {
		return h.readCommitsStore(ctx, ids, fn)
	}
	werr := make(chan error, 1)
	go func() {
		for _, id := range ids {
			if _, err := fmt.Fprintln(cf.in, id.String()); err != nil {
				werr <- err
				return
			}
		}
		werr <- cf.in.Flush()
	}()
	var buf []byte
	var c commitHead
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, typ, _, err := cf.readObject(id, buf, 0)
		if err != nil {
			cf.kill()
			<-werr
			return fmt.Errorf("%w: read commit %s: %v", errFallback, id, err)
		}
		if typ != "commit" {
			cf.kill()
			<-werr
			return fmt.Errorf("%w: object %s is a %s, not a commit", errFallback, id, typ)
		}
		buf = data[:cap(data)]
		if err := parseCommitHead(id, data, &c); err != nil {
			cf.kill()
			<-werr
			return fmt.Errorf("%w: decode commit %s: %v", errFallback, id, err)
		}
		fn(&c)
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("%w: git cat-file: %v", errFallback, err)
	}
	return nil
}

// bfsGit visits the commits reachable from start, a frontier at a time:
// want says whether to read a commit (and marks it), visit returns the
// parents to go on with.
func (h *history) bfsGit(ctx context.Context, cf *catFile, start []plumbing.Hash, want func(plumbing.Hash) bool, visit func(*commitHead) []plumbing.Hash) error {
	frontier := start
	for len(frontier) > 0 {
		var ids []plumbing.Hash
		for _, id := range frontier {
			if want(id) {
				ids = append(ids, id)
			}
		}
		var next []plumbing.Hash
		if err := h.readCommitsGit(ctx, cf, ids, func(c *commitHead) { next = append(next, visit(c)...) }); err != nil {
			return err
		}
		frontier = next
	}
	return nil
}

// collectGit is collect (and exclude) with commits read by git cat-file.
func (h *history) collectGit(ctx context.Context, cf *catFile) error {
	err := h.bfsGit(ctx, cf, h.bases, func(id plumbing.Hash) bool {
		if _, ok := h.excluded[id]; ok {
			return false
		}
		h.excluded[id] = struct{}{}
		return true
	}, func(c *commitHead) []plumbing.Hash {
		if _, ok := h.shallow[c.hash]; ok {
			return nil
		}
		return c.parents
	})
	if err != nil {
		return err
	}
	since, pre := h.s.opts.Since, h.s.opts.prefilter()
	visited := map[plumbing.Hash]struct{}{}
	k := &keeper{}
	return h.bfsGit(ctx, cf, h.tips, func(id plumbing.Hash) bool {
		if _, ok := visited[id]; ok {
			return false
		}
		visited[id] = struct{}{}
		if _, ok := h.excluded[id]; ok {
			h.boundary[id] = struct{}{}
			return false
		}
		return true
	}, func(c *commitHead) []plumbing.Hash {
		if !since.IsZero() && c.committerWhen.Before(since) {
			h.boundary[c.hash] = struct{}{}
			return nil
		}
		m := &commitMeta{author: k.name(c.author), email: k.name(c.email), date: location.Date(c.authorWhen), subject: firstLineBytes(c.message)}
		if pre == nil || pre(c.message) {
			m.message, m.scanMessage = string(c.message), true
		}
		n := commitNode{hash: c.hash, when: c.committerWhen.Unix(), tree: c.tree, meta: m}
		if _, ok := h.shallow[c.hash]; !ok {
			n.parents = k.parents(c.parents)
		}
		h.index[c.hash] = int32(len(h.nodes))
		h.nodes = append(h.nodes, n)
		return n.parents
	})
}

// logWalk runs git log over the included commits in topological order and
// calls add for every blob each one's diff against its parents shows.
//
// A commit's diff does not depend on the others, so long histories are cut
// into parts (inParts), one git log each, run at once (measured on git/git,
// 85,000 commits: 5.8 s in one git log).
func (h *history) logWalk(ctx context.Context, add func(record) error) error {
	return inParts(ctx, h.topoOrder(), func(ctx context.Context, _ int, part []int32, add func(record) error) error {
		return h.runLog(ctx, part, add)
	}, add)
}

// inParts runs walk over order, cut into consecutive parts when it is long
// (logSplitMin), all at once: the first part's records go to add as they
// come, the others' are held and passed on in order.
func inParts(ctx context.Context, order []int32, walk func(ctx context.Context, k int, part []int32, add func(record) error) error, add func(record) error) error {
	parts := min(runtime.GOMAXPROCS(0), 4)
	if len(order) < logSplitMin || parts < 2 {
		return walk(ctx, 0, order, add)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	size := (len(order) + parts - 1) / parts
	type held struct {
		recs []record
		err  error
		done chan struct{}
	}
	rest := make([]*held, 0, parts-1)
	for start := size; start < len(order); start += size {
		part := order[start:min(start+size, len(order))]
		hp := &held{done: make(chan struct{})}
		rest = append(rest, hp)
		go func(k int) {
			defer close(hp.done)
			hp.err = walk(ctx, k, part, func(r record) error {
				hp.recs = append(hp.recs, r)
				return nil
			})
		}(len(rest))
	}
	err := walk(ctx, 0, order[:size], add)
	for _, hp := range rest {
		if err != nil {
			cancel()
			<-hp.done
			continue
		}
		<-hp.done
		if err = hp.err; err != nil {
			continue
		}
		for _, r := range hp.recs {
			if err = add(r); err != nil {
				break
			}
		}
		hp.recs = nil
	}
	return err
}

// logSplitMin is the history length from which logWalk runs git log in
// parts (a variable for tests).
var logSplitMin = 2000

// runLog runs one git log over the commits of order, in that order.
func (h *history) runLog(ctx context.Context, order []int32, add func(record) error) error {
	if len(order) == 0 {
		return nil
	}
	abs, err := filepath.Abs(h.path)
	if err != nil {
		return err
	}
	args := append([]string{"-C", abs}, gitTuning...)
	args = append(args, "log", "--no-walk=unsorted", "--stdin", "--raw", "-c", "--root",
		"--no-renames", "--no-abbrev", "-z", "--no-color", "--no-ext-diff", "--no-textconv",
		"--no-mailmap", "--format=commit %H")
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = gitEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr := &bytes.Buffer{}
	cmd.Stderr = &limitedBuffer{b: stderr, max: 4096}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: start git log: %v", errFallback, err)
	}
	// The writer has its own copies of the order and the nodes (the parser
	// below advances order), and runLog returns only once it has stopped:
	// a caller that falls back resets h.nodes, which a writer still running
	// read (a data race, seen as an index out of range under -race).
	toWrite, nodes := order, h.nodes
	written := make(chan struct{})
	defer func() { <-written }()
	go func() {
		defer close(written)
		w := bufio.NewWriterSize(stdin, 64<<10)
		for _, i := range toWrite {
			if _, err := w.WriteString(nodes[i].hash.String() + "\n"); err != nil {
				break
			}
		}
		w.Flush()
		stdin.Close()
	}()
	perr := parseLog(bufio.NewReaderSize(stdout, 1<<20), func(commit string) (int32, error) {
		for len(order) > 0 {
			i := order[0]
			order = order[1:]
			if h.nodes[i].hash.String() == commit {
				return i, nil
			}
		}
		return 0, fmt.Errorf("git log: unexpected commit %s", commit)
	}, add)
	if perr != nil {
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	switch {
	case perr != nil && ctx.Err() != nil:
		return ctx.Err()
	case perr != nil && !strings.HasPrefix(perr.Error(), "git log:"):
		return perr // from add: the scan stops
	case perr != nil:
		return fmt.Errorf("%w: %v", errFallback, perr)
	case werr != nil:
		return fmt.Errorf("%w: git log: %v: %s", errFallback, werr, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// parseLog reads `git log --raw -c -z --format='commit %H'` (parseRawLog).
// commit maps a commit id to its node; add receives each blob record.
func parseLog(r *bufio.Reader, commit func(string) (int32, error), add func(record) error) error {
	node := int32(-1)
	return parseRawLog(r, func(header []byte) error {
		n, err := commit(string(bytes.TrimSpace(header)))
		node = n
		return err
	}, func(id string, path []byte) error {
		if !plumbing.IsHash(id) {
			return nil // not a SHA-1 id: not a blob this reader can name
		}
		return add(record{blob: plumbing.NewHash(id), node: node, path: string(path)})
	})
}

// blobPipe streams blob requests to a git cat-file and hands each answer
// to consume, in order. Unreadable blobs are read again with go-git, which
// reports them by id; when git cat-file dies, go-git reads the rest.
type blobPipe struct {
	h        *history
	cf       *catFile
	fallback *goGitReader

	reqs     chan job
	inflight chan job
	done     chan error
}

// job is one record to read; the record travels with its index, as the
// list of records grows while the pipe reads.
type job struct {
	i   int32
	rec record
}

func (p *blobPipe) start(ctx context.Context, consume func(int32, []byte) error, count bool) {
	p.reqs = make(chan job, 4096)
	p.inflight = make(chan job, 1<<16)
	p.done = make(chan error, 1)
	// Writer: requests go out in batches, flushed when none is waiting.
	go func() {
		defer close(p.inflight)
		var line [41]byte
		line[40] = '\n'
		for j := range p.reqs {
			if !p.cf.dead.Load() {
				copy(line[:], j.rec.blob.String())
				if _, err := p.cf.in.Write(line[:]); err != nil {
					p.cf.dead.Store(true)
				} else if len(p.reqs) == 0 {
					if err := p.cf.in.Flush(); err != nil {
						p.cf.dead.Store(true)
					}
				}
			}
			p.inflight <- j
		}
		if !p.cf.dead.Load() {
			_ = p.cf.in.Flush()
		}
	}()
	// Reader.
	go func() {
		var (
			buf       []byte
			max       = p.h.s.opts.MaxBlobSize
			cerr      error
			closeRepo = func() {} // the go-git fallback's, once opened
		)
		defer func() { closeRepo() }()
		for j := range p.inflight {
			if cerr != nil || ctx.Err() != nil {
				continue // drain
			}
			i, rec := j.i, &j.rec
			if !p.cf.dead.Load() {
				data, size, err := p.cf.read(rec.blob, buf, max)
				switch {
				case err == nil:
					buf = data[:cap(data)]
					if cap(buf) > 64<<20 {
						buf = nil
					}
					if count {
						p.h.countBlob(size)
					}
					cerr = consume(i, data)
					continue
				case errors.Is(err, errMissing):
					// git says "missing" for a corrupt object too: go-git
					// tells which.
				case errors.Is(err, errTooBig):
					p.h.onError(itemName(p.h.recOrigin(rec)), fmt.Errorf("blob %s: %d bytes, over the %d-byte cap: skipped", rec.blob, size, max))
					continue
				case size > 0:
					p.h.onError(itemName(p.h.recOrigin(rec)), err)
					continue
				default:
					p.cf.kill()
					if ctx.Err() == nil {
						p.h.s.warn("git cat-file stopped at blob %s (%v): reading the rest with go-git", rec.blob, strings.TrimSpace(p.cf.stderr.String()))
					}
				}
			}
			if p.fallback == nil {
				repo, closeFn, err := Open(p.h.path)
				if err != nil {
					cerr = err
					continue
				}
				closeRepo = closeFn
				p.fallback = &goGitReader{h: p.h, repo: repo}
			}
			data, ok := p.fallback.read(rec.blob, p.h.recOrigin(rec))
			if !ok {
				continue
			}
			if count {
				p.h.countBlob(int64(len(data)))
			}
			cerr = consume(i, data)
		}
		p.done <- cerr
	}()
}

// send queues record i; it fails only when ctx is done.
func (p *blobPipe) send(ctx context.Context, i int32, rec record) error {
	select {
	case p.reqs <- job{i, rec}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// finish waits for every queued record to be consumed.
func (p *blobPipe) finish() error {
	close(p.reqs)
	return <-p.done
}

// headFirst orders blob indexes so that blobs still at HEAD come first
// (stable otherwise): in_head is per key, decided by the first finding.
func (h *history) headFirst(order []int32, recs []record) {
	slices.SortStableFunc(order, func(a, b int32) int {
		ha, hb := h.inHeadFor(recs[a].blob) == h.inHead, h.inHeadFor(recs[b].blob) == h.inHead
		switch {
		case ha == hb:
			return 0
		case ha:
			return -1
		}
		return 1
	})
}
