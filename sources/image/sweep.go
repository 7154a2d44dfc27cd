package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/files"
)

// sweep is one call to Chunks. Its methods run on the listing goroutine
// (list, remote, index, tarball) and on the workers (image and below).
type sweep struct {
	opts     *Options
	split    sources.Chunker
	yield    func(sources.Chunk) error
	onError  sources.ErrorHandler
	limits   files.ArchiveLimits
	platform *v1.Platform
	g        *errgroup.Group // the workers
	// tokens bounds the layers being inflated ahead of the scan, or
	// inflated and not yet scanned (prefetch.go); nil: no prefetching.
	tokens chan struct{}
	// pool scans the files of layers that the goroutines reading them
	// hand off (handoff.go); nil: each is scanned by its reader.
	pool *scanPool

	mu sync.Mutex // guards what follows
	// seen holds the layers scanned or being scanned, by digest: a layer
	// shared by several images or platforms is scanned once, and its
	// changes still hide files of the layers below it. It holds at most
	// maxSeenPaths paths: past that it is emptied, and a layer met again
	// is scanned again (memory stays bounded over long sweeps).
	seen      map[v1.Hash]*seenLayer
	seenPaths int
	cleanups  []func() // run once the workers are done
}

// seenLayer is a layer scanned once: ch is set before done is closed.
type seenLayer struct {
	done chan struct{}
	ch   *changes
}

// submit hands img to a worker; it waits while every worker is busy. how
// says how its layers are read. It returns only ctx's error.
func (sw *sweep) submit(ctx context.Context, name string, img v1.Image, how layerRead) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sw.g.Go(func() error { return sw.image(ctx, name, img, how) })
	return nil
}

// later runs f once the workers are done (removing a temporary directory
// they read).
func (sw *sweep) later(f func()) {
	sw.mu.Lock()
	sw.cleanups = append(sw.cleanups, f)
	sw.mu.Unlock()
}

func (sw *sweep) cleanup() {
	for _, f := range sw.cleanups {
		f()
	}
}

// index hands every image of an index (every platform, or the one asked
// for) to the workers, recursing into nested indexes. It returns only
// ctx's error.
func (sw *sweep) index(ctx context.Context, name string, idx v1.ImageIndex, how layerRead) error {
	im, err := idx.IndexManifest()
	if err != nil {
		sw.onError(name, fmt.Errorf("index manifest: %w", err))
		return nil
	}
	matched := false
	for _, d := range im.Manifests {
		if err := ctx.Err(); err != nil {
			return err
		}
		child := name
		if d.Platform != nil {
			if sw.platform != nil && !d.Platform.Satisfies(*sw.platform) {
				continue
			}
			child = name + " [" + d.Platform.String() + "]"
		}
		switch {
		case d.MediaType.IsIndex():
			sub, err := idx.ImageIndex(d.Digest)
			if err != nil {
				sw.onError(child, err)
				continue
			}
			matched = true
			if err := sw.index(ctx, child, sub, how); err != nil {
				return err
			}
		case d.MediaType.IsImage():
			if sw.platform != nil && d.Platform == nil {
				continue
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				sw.onError(child, err)
				continue
			}
			matched = true
			if err := sw.submit(ctx, child, img, how); err != nil {
				return err
			}
		}
	}
	if !matched && sw.platform != nil {
		sw.onError(name, fmt.Errorf("no image for platform %s in the index", sw.platform))
	}
	return nil
}

// image scans one image: its config and history, then its layers from the
// top one down.
// Its only errors are ctx's and yield's, which stop the sweep.
func (sw *sweep) image(ctx context.Context, name string, img v1.Image, how layerRead) error {
	cfg, err := img.ConfigFile()
	if err != nil {
		sw.onError(name, fmt.Errorf("config: %w", err))
		cfg = nil
	}
	if cfg != nil {
		if err := sw.config(name, cfg); err != nil {
			return err
		}
	}
	layers, err := img.Layers()
	if err != nil {
		sw.onError(name, fmt.Errorf("layers: %w", err))
		return nil
	}
	hist := layerHistory(cfg, len(layers))
	sh := newShadow()
	pre := sw.prefetch(ctx, layers, how)
	defer pre.close()
	for i := len(layers) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return err
		}
		open, err := pre.take(ctx, i)
		if err != nil {
			return err
		}
		ch, err := sw.layer(ctx, name, layers[i], open, hist[i], sh)
		if err != nil {
			return err
		}
		sh.add(ch)
	}
	return nil
}

// layerHistory returns the history entry of each layer (nil when the
// history does not say): the entries that are not EmptyLayer, in order.
func layerHistory(cfg *v1.ConfigFile, n int) []*v1.History {
	out := make([]*v1.History, n)
	if cfg == nil {
		return out
	}
	var hs []*v1.History
	for i := range cfg.History {
		if !cfg.History[i].EmptyLayer {
			hs = append(hs, &cfg.History[i])
		}
	}
	if len(hs) == n {
		copy(out, hs)
	}
	return out
}

// layer scans the files of one layer, whose uncompressed stream open
// returns, and returns its changes (files added or replaced, whiteouts),
// for the layers below. Its only error is a failing yield or ctx; the
// others are reported.
func (sw *sweep) layer(ctx context.Context, name string, l v1.Layer, open func() (io.ReadCloser, error), h *v1.History, sh *shadow) (*changes, error) {
	d, err := l.Digest()
	if err != nil {
		sw.onError(name, fmt.Errorf("layer digest: %w", err))
		return nil, nil
	}
	e, mine := sw.claim(d)
	if !mine {
		select {
		case <-e.done:
			return e.ch, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	ch := &changes{}
	defer sw.remember(d, e, ch)
	item := name + " layer " + d.String()
	rc, err := open()
	if err != nil {
		sw.onError(item, fmt.Errorf("open layer: %w", err))
		return ch, nil
	}
	defer rc.Close()
	compressed, _ := l.Size()
	lr := &layerReader{r: rc, item: "layer " + d.String(), compressed: compressed, lim: &sw.limits}
	if _, ok := rc.(*replayed); ok {
		lr.lim = &unbounded // bounded as it was written
	}
	base := layerLocation(name, d, h)
	if mt, err := l.MediaType(); err == nil && mt != "" && !mt.IsLayer() {
		// Not a filesystem layer: an attestation (provenance records build
		// args), an SBOM, an artifact. Its bytes are the item, named by
		// its media type.
		return ch, sw.file(ctx, lr, item, string(mt), &base, nil)
	}
	tr := tar.NewReader(lr)
	var entries int64
	for {
		if err := ctx.Err(); err != nil {
			return ch, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return ch, sw.drain(ctx, item, lr)
		}
		if err != nil {
			sw.onError(item, readError(err))
			return ch, nil
		}
		p := ch.note(hdr)
		if p == "" || !hdr.FileInfo().Mode().IsRegular() || hdr.Size == 0 {
			continue
		}
		if entries++; entries > sw.limits.MaxEntries {
			sw.onError(item, &files.LimitError{Archive: "layer " + d.String(), Limit: "MaxEntries", Max: sw.limits.MaxEntries})
			return ch, nil
		}
		if sw.opts.Exclude != nil && sw.opts.Exclude(p, false) {
			continue
		}
		if m := sw.opts.MaxFileSize; m > 0 && hdr.Size > m {
			sw.onError(item+": "+p, fmt.Errorf("skipped, %d bytes: %w (%d bytes)", hdr.Size, files.ErrTooLarge, m))
			continue
		}
		if err := sw.scanFile(ctx, tr, hdr.Size, item, p, &base, !sh.hides(p)); err != nil {
			return ch, err
		}
		if lr.err != nil {
			return ch, nil // reported by the file that hit it (a read error of its own)
		}
	}
}

// drain reads lr, a layer's stream at its tar's end, to its own end,
// bounded by the same limits, and reports the error that ends it: what
// follows the end-of-archive blocks (tar's padding to its record size,
// or anything) may be cut by a limit, fail to decompress, or end a
// registry layer's stream with its blob unverified (*UnverifiedError).
// Its only error is ctx's.
func (sw *sweep) drain(ctx context.Context, item string, lr *layerReader) error {
	_, err := io.Copy(io.Discard, &ctxReader{ctx: ctx, r: lr})
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if err != nil {
		sw.onError(item, readError(err))
	}
	return nil
}

// maxSeenPaths bounds the paths sweep.seen holds (some 100 bytes each).
var maxSeenPaths = 1 << 20

// scanned reports whether the layer l was scanned or is being scanned.
func (sw *sweep) scanned(l v1.Layer) bool {
	d, err := l.Digest()
	if err != nil {
		return false
	}
	sw.mu.Lock()
	defer sw.mu.Unlock()
	_, ok := sw.seen[d]
	return ok
}

// claim returns the entry of the layer d in sw.seen, and true when it is
// new: the caller scans the layer, then calls remember.
func (sw *sweep) claim(d v1.Hash) (*seenLayer, bool) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if e, ok := sw.seen[d]; ok {
		return e, false
	}
	e := &seenLayer{done: make(chan struct{})}
	sw.seen[d] = e
	return e, true
}

// remember completes e, the entry of the layer d, with its changes, and
// empties sw.seen first when it would hold more than maxSeenPaths paths.
func (sw *sweep) remember(d v1.Hash, e *seenLayer, ch *changes) {
	e.ch = ch
	close(e.done)
	n := len(ch.present) + len(ch.deleted) + len(ch.opaque) + 1
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.seenPaths+n > maxSeenPaths {
		clear(sw.seen)
		sw.seenPaths = 0
	}
	sw.seen[d] = e
	sw.seenPaths += n
}

// layerLocation is the location of the files of the layer d of the image
// name, created by the history entry h (nil: unknown).
func layerLocation(name string, d v1.Hash, h *v1.History) location.Location {
	loc := location.Location{Repo: name, Commit: d.String()}
	if h != nil {
		loc.Message, _, _ = strings.Cut(h.CreatedBy, "\n")
		loc.Author = h.Author
		loc.Date = location.Date(h.Created.Time)
	}
	return loc
}

// readError names a stream cut short as such.
func readError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = files.ErrTruncated
	}
	var le *files.LimitError
	if errors.As(err, &le) {
		return err
	}
	return fmt.Errorf("layer: %w", err)
}

// file scans one file of a layer, with the content handling of files on
// disk (nested archives, UTF-16), and gives each chunk the layer's
// location, and inFinal as InHead.
func (sw *sweep) file(ctx context.Context, r io.Reader, item, p string, base *location.Location, inFinal *bool) error {
	src := files.NewReader(r, p, "", files.Options{
		OnError:       func(path string, err error) { sw.onError(item+": "+path, err) },
		NoArchives:    sw.opts.NoArchives,
		ArchiveLimits: sw.opts.ArchiveLimits,
		Exclude:       sw.opts.Exclude,
	})
	var in, out *location.Location
	return src.Chunks(ctx, sw.split, func(c sources.Chunk) error {
		if c.Origin != in {
			in = c.Origin
			o := *base
			o.Path, o.Archive, o.Transcoded = in.Path, in.Archive, in.Transcoded
			o.InHead = inFinal
			out = &o
		}
		c.Origin = out
		return sw.yieldChunk(c)
	})
}

// yieldChunk calls yield (every chunk of a sweep goes through it), unless
// a call failed already: with a pool, several goroutines scan files, and
// once yield failed (the consumer gave up) none may call it again, not
// even for the files handed off before (the pool runs on the sweep's
// ctx, which a failure does not cancel).
func (sw *sweep) yieldChunk(c sources.Chunk) error {
	if sw.pool == nil {
		return sw.yield(c)
	}
	if err := sw.pool.failed(); err != nil {
		return err
	}
	err := sw.yield(c)
	if err != nil {
		sw.pool.fail(err)
	}
	return err
}

// unbounded are limits no layer reaches.
var unbounded = files.ArchiveLimits{MaxTotalBytes: 1<<63 - 1, MaxRatio: 1<<63 - 1, RatioWindow: 1<<63 - 1}

// layerReader bounds one layer's uncompressed stream by the archive
// limits: MaxTotalBytes, and MaxRatio against the layer's compressed size
// once past RatioWindow.
type layerReader struct {
	r          io.Reader
	item       string
	compressed int64
	n          int64
	lim        *files.ArchiveLimits
	err        error // sticky
}

func (l *layerReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	switch {
	case l.n > l.lim.MaxTotalBytes:
		l.err = &files.LimitError{Archive: l.item, Limit: "MaxTotalBytes", Max: l.lim.MaxTotalBytes}
	case l.n > l.lim.RatioWindow && l.compressed > 0 && l.n/l.compressed >= l.lim.MaxRatio:
		l.err = &files.LimitError{Archive: l.item, Limit: "MaxRatio", Max: l.lim.MaxRatio}
	case errors.Is(err, io.ErrUnexpectedEOF):
		// Not io.ErrUnexpectedEOF, which readers take for a short end.
		l.err = files.ErrTruncated
	case err != nil && !errors.Is(err, io.EOF):
		l.err = err
	default:
		return n, err
	}
	return n, l.err
}
