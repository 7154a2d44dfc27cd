package files

import (
	"context"
	"path"
	"strings"
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
type queue struct {
	first, rest chan job
}

func newQueue() *queue {
	return &queue{first: make(chan job, firstAhead), rest: make(chan job, walkAhead)}
}

// send queues j; false when ctx ended first.
func (q *queue) send(ctx context.Context, j job) bool {
	ch := q.rest
	if compressedName(j.display) {
		ch = q.first
	}
	select {
	case ch <- j:
		return true
	case <-ctx.Done():
		return false
	}
}

// close says that the walk is over.
func (q *queue) close() {
	close(q.first)
	close(q.rest)
}

// next returns the next job, a compressed file's if one is waiting; false
// when the walk is over and every job was taken.
func (q *queue) next() (job, bool) {
	first := q.first
	for {
		select {
		case j, ok := <-first:
			if ok {
				return j, true
			}
			first = nil // closed and drained
			continue
		default:
		}
		select {
		case j, ok := <-first:
			if ok {
				return j, true
			}
			first = nil
		case j, ok := <-q.rest:
			if !ok {
				if first == nil {
					return job{}, false
				}
				// rest is drained; first may still hold jobs.
				j, ok = <-first
				return j, ok
			}
			return j, true
		}
	}
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
