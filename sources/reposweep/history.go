package reposweep

import (
	"context"

	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/git"
)

// HistoryOptions configure the history scanner of a sweep.
type HistoryOptions struct {
	// MaxBlobSize skips (and reports) blobs larger than this (0: no cap).
	MaxBlobSize int64
	// OnError receives the objects of a repository that could not be read,
	// named "owner/name: <object>"; the rest of the history is scanned.
	OnError sources.ErrorHandler
	// Warn receives the git source's notes.
	Warn func(msg string)
}

// HistoryScanner returns a ScanFunc that scans the whole history of each
// clone (every branch and tag fetched, each blob once) with the git source.
func HistoryScanner[R Item](o HistoryOptions) ScanFunc[R] {
	return func(ctx context.Context, dir string, item R, split sources.Chunker, yield func(sources.Chunk) error) error {
		r := item.SweepRepo()
		onErr := o.OnError
		if onErr != nil {
			onErr = func(path string, err error) { o.OnError(r.FullName+": "+path, err) }
		}
		src := git.New(git.Options{
			Path:        dir,
			Repo:        r.FullName,
			MaxBlobSize: o.MaxBlobSize,
			OnError:     onErr,
			Warn:        o.Warn,
		})
		return src.Chunks(ctx, split, yield)
	}
}
