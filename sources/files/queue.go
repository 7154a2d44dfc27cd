package files

import (
	"context"
	"path"
	"strings"
	"sync"
)

// Walk-ahead: the walk may run this many files ahead of the workers. It
// reads directories far faster than files are scanned, so running ahead
// lets it find the compressed files of a tree early (see queue); a bound
// keeps the memory of a tree of millions of files small (a job is about
// a hundred bytes).
const (
	walkAhead  = 16384
	firstAhead = 64
)

// queue hands the walk's jobs to the workers: files whose names say they
// are compressed first, then the others in walk order. Decompressing
// costs far more per byte on disk than scanning (bzip2 yields ~50 MB/s),
// so a large compressed file met at the end of a walk would otherwise
// run alone on one core after everything else is done; started first,
// the small files fill the other cores while it runs. The order of
// findings between files is not specified (workers run concurrently).
//
// It is two FIFOs under one lock, not two channels: taking a job from
// either of two channels is two selects, 0.6 µs a file: 13 ms of CPU on
// the AWS-dense bench corpus (19,833 files), half what the walk's
// directory reads cost (perf, session 25). Its rings grow as the walk runs
// ahead, so a small tree touches little memory, where a channel's buffer
// is allocated whole (640 KB).
type queue struct {
	mu          sync.Mutex
	ready, room sync.Cond // a job was queued or the queue closed; a job was taken or ctx ended
	first, rest ring
	closed      bool
	done        bool // ctx ended: send gives up
}

// ring is a FIFO of jobs in a circular buffer that grows to max.
type ring struct {
	buf     []job
	head, n int
	max     int
}

func (r *ring) full() bool { return r.n == r.max }

func (r *ring) push(j job) {
	if r.n == len(r.buf) {
		nb := make([]job, min(max(2*len(r.buf), 64), r.max))
		for i := range r.n {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = j
	r.n++
}

func (r *ring) pop() job {
	j := r.buf[r.head]
	r.buf[r.head] = job{} // keeps no path alive
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	return j
}

// newQueue returns an empty queue whose sends give up when ctx ends; stop
// releases what watches ctx.
func newQueue(ctx context.Context) (q *queue, stop func()) {
	q = &queue{first: ring{max: firstAhead}, rest: ring{max: walkAhead}}
	q.ready.L, q.room.L = &q.mu, &q.mu
	unwatch := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.done = true
		q.mu.Unlock()
		q.room.Broadcast()
	})
	return q, func() { unwatch() }
}

// send queues j; false when ctx ended first.
func (q *queue) send(j job) bool {
	r := &q.rest
	if compressedName(j.display) {
		r = &q.first
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for r.full() && !q.done {
		q.room.Wait()
	}
	if q.done {
		return false
	}
	r.push(j)
	q.ready.Signal()
	return true
}

// close says that the walk is over.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.ready.Broadcast()
}

// next returns the next job, a compressed file's if one is waiting; false
// when the walk is over and every job was taken.
func (q *queue) next() (job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.first.n == 0 && q.rest.n == 0 {
		if q.closed {
			return job{}, false
		}
		q.ready.Wait()
	}
	r := &q.first
	if r.n == 0 {
		r = &q.rest
	}
	wasFull := r.full()
	j := r.pop()
	if wasFull {
		q.room.Signal() // the walk may wait for this ring
	}
	return j, true
}

// compressedSuffixes are the names of the compressed formats the source
// opens (sniffArchive decides by content; names only order the work).
var compressedSuffixes = []string{".bz2", ".tbz", ".tbz2", ".gz", ".tgz", ".zip", ".jar"}

func compressedName(p string) bool {
	ext := strings.ToLower(path.Ext(p))
	for _, s := range compressedSuffixes {
		if ext == s {
			return true
		}
	}
	return false
}
