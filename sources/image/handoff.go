package image

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/bks-dev/bks/location"
)

// A layer's tar is one stream, read by one goroutine; scanning its files
// is what the detector engine does, and on a plain tar layer that is all
// the work there is. So with Workers above 1 the goroutine reading a
// layer hands each file of up to handoffMax bytes, read into a buffer of
// its own, to a pool of Workers goroutines that scan them (with the
// content handling of files on disk), and goes on to the next entry;
// larger files it scans itself, streaming. Without it an image was
// scanned on one core: a 1 GiB plain tar image took 2× the wall time of
// `detect files` on the same files (docs/BENCH.md).
//
// Bounds: handoffBufs(Workers) buffers of handoffMax bytes at most,
// allocated as needed and kept for the sweep; the reader waits for a free
// one.

// handoffMax is the largest file handed to the pool; larger ones are
// scanned by the goroutine reading the layer, streaming (a variable for
// tests).
var handoffMax int64 = 4 << 20

// handoffBufs is how many buffers a pool of workers goroutines has: one
// being scanned by each, one being filled, one waiting; at most 16 (64
// MiB).
func handoffBufs(workers int) int { return min(workers+2, 16) }

// scanPool scans files handed off by the goroutines reading layers.
type scanPool struct {
	sw   *sweep
	jobs chan fileJob
	free chan []byte // buffers to fill; nil entries are not allocated yet
	wg   sync.WaitGroup

	mu  sync.Mutex
	err error // the first error of a scan (ctx's or yield's), in the pool or not: the sweep stops
}

// fileJob is one file of a layer to scan: data, its path p in the image,
// item the layer (for errors), base its location, in whether it is in
// the final image.
type fileJob struct {
	data    []byte
	buf     []byte // data's buffer, to give back
	item, p string
	base    *location.Location
	in      bool
}

func newScanPool(ctx context.Context, sw *sweep, workers int) *scanPool {
	n := handoffBufs(workers)
	sp := &scanPool{sw: sw, jobs: make(chan fileJob), free: make(chan []byte, n)}
	for range n {
		sp.free <- nil
	}
	sp.wg.Add(workers)
	for range workers {
		go sp.work(ctx)
	}
	return sp
}

func (sp *scanPool) work(ctx context.Context) {
	defer sp.wg.Done()
	for j := range sp.jobs {
		if sp.failed() == nil {
			in := j.in
			if err := sp.sw.file(ctx, bytes.NewReader(j.data), j.item, j.p, j.base, &in); err != nil {
				sp.fail(err)
			}
		}
		sp.free <- j.buf
	}
}

// fail records err, a scan's error (ctx's or yield's), as the one that
// stops the sweep, unless there is one already.
func (sp *scanPool) fail(err error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.err == nil {
		sp.err = err
		if failHook != nil {
			failHook()
		}
	}
}

// failHook, when set (tests), is called once the sweep's stopping error is
// recorded.
var failHook func()

// failed is the error that stops the sweep, once a scan failed.
func (sp *scanPool) failed() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.err
}

// close waits for the files handed off to be scanned, and returns the
// first error of a scan.
func (sp *scanPool) close() error {
	close(sp.jobs)
	sp.wg.Wait()
	return sp.failed()
}

// scanFile scans the file p of size bytes that r (a layer's tar reader)
// is at: handed to the pool when there is one and it is small enough,
// read whole first; else here, streaming. Its errors are ctx's and
// yield's (and the pool's first one): they stop the sweep.
func (sw *sweep) scanFile(ctx context.Context, r io.Reader, size int64, item, p string, base *location.Location, in bool) error {
	if sw.pool == nil || size > handoffMax {
		return sw.file(ctx, r, item, p, base, &in)
	}
	var buf []byte
	select {
	case buf = <-sw.pool.free:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := sw.pool.failed(); err != nil {
		sw.pool.free <- buf
		return err
	}
	if buf == nil {
		buf = make([]byte, handoffMax)
	}
	n, err := io.ReadFull(r, buf[:size])
	if err != nil {
		// Scanned here, as streaming would: what was read, then the
		// error (reported by the files source as the file's).
		defer func() { sw.pool.free <- buf }()
		return sw.file(ctx, io.MultiReader(bytes.NewReader(buf[:n]), errReader{err}), item, p, base, &in)
	}
	select {
	case sw.pool.jobs <- fileJob{data: buf[:n], buf: buf, item: item, p: p, base: base, in: in}:
		return nil
	case <-ctx.Done():
		sw.pool.free <- buf
		return ctx.Err()
	}
}
