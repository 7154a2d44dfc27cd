package image

import (
	"bufio"
	"context"
	"io"
	"os"
	"sync"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Layers of one image are scanned top down (the whiteout tracking needs
// the changes of the layers above before a layer's files are yielded), but
// inflating a layer is what costs: some 6x the detector engine's time per
// byte. So while a layer is scanned, the layers below it are inflated by
// other goroutines, each into a temporary file ("spill"), and scanned from
// there once their turn comes, when Options.Workers (default GOMAXPROCS) is above 1.
// Bounds: at most Workers-1 spills exist at
// once in a sweep (a token each, given back once the spill is scanned and
// removed), each at most MaxTotalBytes (the layer limit); memory does not
// grow with them (disk and page cache do). A layer the top-down scan
// reaches before its prefetch started is inflated by the scan itself: to
// a temporary file too when it is a registry's (readChecked: its digest is
// checked at the blob's end, before any of it is scanned), else streamed.

// spill is one layer inflated ahead to a temporary file.
type spill struct {
	done     chan struct{} // closed once f is written, or failed
	f        *os.File      // nil when the layer could not be opened
	err      error         // the error that ended the stream (nil: its end)
	released bool          // f removed and the token given back
	// started is set by the prefetcher when it takes the layer (and a
	// token); the spill itself exists from the start, so that the scan,
	// finding the layer taken, never reads a slot being written.
	started bool
}

// prefetcher inflates the layers of one image, below the one being
// scanned, ahead of the scan.
type prefetcher struct {
	sw     *sweep
	layers []v1.Layer
	how    layerRead
	taken  []atomic.Bool // set by whichever of scan and prefetch reads the layer
	// next is the layer the scan is on or about to take: prefetching
	// starts below it, never with a layer the scan would then wait for
	// with nothing else to do (it streams that one itself).
	next   atomic.Int64
	spills []*spill
	stop   chan struct{}
	wg     sync.WaitGroup
}

// prefetch starts inflating the layers below the top one, as tokens allow.
// The caller calls take for each layer, top down, then close.
func (sw *sweep) prefetch(ctx context.Context, layers []v1.Layer, how layerRead) *prefetcher {
	p := &prefetcher{sw: sw, layers: layers, how: how, taken: make([]atomic.Bool, len(layers)),
		spills: make([]*spill, len(layers)), stop: make(chan struct{})}
	for i := range p.spills {
		p.spills[i] = &spill{done: make(chan struct{})}
	}
	p.next.Store(int64(len(layers) - 1))
	if sw.tokens == nil || len(layers) < 2 {
		return p
	}
	p.wg.Add(1)
	go p.run(ctx)
	return p
}

// run inflates the layers from the second from the top down, one token
// at a time, skipping those the scan took or that were already scanned
// (shared layers).
func (p *prefetcher) run(ctx context.Context) {
	defer p.wg.Done()
	for i := len(p.layers) - 2; i >= 0; i-- {
		select {
		case p.sw.tokens <- struct{}{}:
		case <-p.stop:
			return
		case <-ctx.Done():
			return
		}
		if i = min(i, int(p.next.Load())-1); i < 0 {
			<-p.sw.tokens
			return
		}
		if !p.worthIt(i) || p.sw.scanned(p.layers[i]) || !p.taken[i].CompareAndSwap(false, true) {
			<-p.sw.tokens
			continue
		}
		s := p.spills[i]
		s.started = true
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer close(s.done)
			s.f, s.err = p.sw.inflate(ctx, p.layers[i], p.how)
		}()
	}
}

// worthIt says whether inflating layer i ahead can pay: a registry's
// layer always (it is read to its end before it is scanned, and the
// network is waited for meanwhile); a layer on disk when it is gzip (or
// of an unknown type), whose inflating costs several times its scan, so
// that inflating two at once is what makes the time. A plain tar or
// zstd layer on disk is read by the scan itself: writing it to a file
// and reading it back (0.3 s of system time per GiB each way) costs as
// much as a second decoder would give (docs/BENCH.md).
func (p *prefetcher) worthIt(i int) bool {
	if p.how == readChecked {
		return true
	}
	mt, err := p.layers[i].MediaType()
	return err != nil || !streamedLayer[mt]
}

// streamedLayer are the media types of layers read by the scan itself
// (worthIt).
var streamedLayer = map[types.MediaType]bool{
	types.OCIUncompressedLayer:           true,
	types.OCIUncompressedRestrictedLayer: true,
	types.DockerUncompressedLayer:        true,
	types.OCILayerZStd:                   true,
}

// take returns how to read layer i's uncompressed stream: its spill once
// written, or the layer itself when no prefetch took it: a registry's
// layer is inflated to a temporary file first, its blob read to its end
// so that its digest is checked before any of it is scanned; others are
// streamed.
func (p *prefetcher) take(ctx context.Context, i int) (func() (io.ReadCloser, error), error) {
	p.next.Store(int64(i))
	if p.taken[i].CompareAndSwap(false, true) {
		l, how := p.layers[i], p.how
		if how == readChecked {
			return func() (io.ReadCloser, error) { return p.sw.openVerified(ctx, l) }, nil
		}
		return func() (io.ReadCloser, error) { return openLayer(l, how) }, nil
	}
	s := p.spills[i]
	select {
	case <-s.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return func() (io.ReadCloser, error) { return p.replay(i, s) }, nil
}

// replay reads s, the spill of layer i, back: the bytes inflated, then the
// error that ended them. Closing it removes the file and gives the token
// back, the scan then being on to layer i-1.
func (p *prefetcher) replay(i int, s *spill) (io.ReadCloser, error) {
	p.next.Store(int64(i - 1))
	if s.f == nil || isVerifyError(s.err) {
		p.release(s)
		return nil, s.err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		p.release(s)
		return nil, err
	}
	end := s.err
	if end == nil {
		end = io.EOF
	}
	r := io.MultiReader(bufio.NewReaderSize(s.f, 256<<10), errReader{end})
	return &replayed{closer{Reader: r, close: func() error { p.release(s); return nil }}}, nil
}

// release removes s's file and gives its token back, once.
func (p *prefetcher) release(s *spill) {
	if s.released {
		return
	}
	s.released = true
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
	}
	<-p.sw.tokens
}

// close stops prefetching and removes the spills the scan did not read
// (it stopped early). It runs on the scan's goroutine, as release does.
func (p *prefetcher) close() {
	close(p.stop)
	p.wg.Wait()
	for _, s := range p.spills {
		if s.started {
			p.release(s)
		}
	}
}

// openVerified inflates the registry's layer l to a temporary file, checking
// its blob's digest, and returns the file to read back, then the error
// that ended the stream; the file is removed when closed. A layer whose
// blob does not match its digest is not read back at all (*DigestError).
func (sw *sweep) openVerified(ctx context.Context, l v1.Layer) (io.ReadCloser, error) {
	f, err := sw.inflateFile(ctx, l, readChecked)
	if f == nil {
		return nil, err
	}
	remove := func() error { f.Close(); return os.Remove(f.Name()) }
	if err != nil && isVerifyError(err) {
		remove()
		return nil, err
	}
	if _, serr := f.Seek(0, io.SeekStart); serr != nil {
		remove()
		return nil, serr
	}
	end := err
	if end == nil {
		end = io.EOF
	}
	return &replayed{closer{Reader: io.MultiReader(bufio.NewReaderSize(f, 256<<10), errReader{end}), close: remove}}, nil
}

// replayed is a layer's stream read back from its temporary file, then
// the error that ended it: the archive limits bounded it as it was
// written, and the error names the limit it hit.
type replayed struct{ closer }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// spilled counts the layers inflated ahead (tests).
var spilled atomic.Int64

// inflate writes l's uncompressed stream, bounded by the layer limits, to
// a new temporary file. It returns the file (nil when none could be
// written) and the error that ended the stream, if any.
func (sw *sweep) inflate(ctx context.Context, l v1.Layer, how layerRead) (*os.File, error) {
	spilled.Add(1)
	return sw.inflateFile(ctx, l, how)
}

// inflateFile is inflate, uncounted. A registry's layer cut short (a
// limit, a corrupt stream) still has the rest of its blob read, not
// inflated, so that its digest is checked before any of it is scanned.
func (sw *sweep) inflateFile(ctx context.Context, l v1.Layer, how layerRead) (*os.File, error) {
	rc, err := inflateLayer(l, how)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	f, err := os.CreateTemp("", "bks-layer-*")
	if err != nil {
		return nil, err
	}
	compressed, _ := l.Size()
	lr := &layerReader{r: &ctxReader{ctx: ctx, r: rc}, compressed: compressed, lim: &sw.limits}
	if d, err := l.Digest(); err == nil {
		lr.item = "layer " + d.String()
	}
	_, err = io.Copy(f, lr)
	if err != nil && how == readChecked {
		err = rc.verifyRest(err)
	}
	return f, err
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
