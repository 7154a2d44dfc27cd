// Package stdin is the source of a stream piped to bks: the same archive
// (zip, tar, gzip, bzip2) and UTF-16 handling as files on disk, streamed through a
// bounded buffer.
package stdin

import (
	"io"

	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/files"
)

// Kind is the Origin.Kind of every chunk from stdin.
const Kind = "stdin"

// DefaultName is the path reported for stdin when Options.Name is empty.
const DefaultName = "-"

// Options configure the stdin source. The zero value is usable.
type Options struct {
	// Name is the path reported in findings (a --stdin-name label);
	// DefaultName ("-") if empty. Archive members are "Name!inner/path".
	Name string
	// OnError receives errors that did not stop the scan (a damaged
	// archive, an archive limit). When nil, Chunks returns them.
	OnError sources.ErrorHandler
	// NoArchives scans an archive on stdin as raw bytes.
	NoArchives bool
	// ArchiveLimits bound archive expansion, as for files.
	ArchiveLimits files.ArchiveLimits
	// Exclude is asked about archive members, as for files.
	Exclude func(path string, isDir bool) bool
}

// New returns a source reading r to its end. Chunks calls yield from the
// calling goroutine only, in order, and can be called once (it consumes r).
// Memory stays near one chunk (its own bytes and the overlap) whatever the
// stream's length; a zip on stdin, which needs random access, is buffered
// (in memory up to 16 MiB, beyond that in an unlinked temporary file, up to
// ArchiveLimits.MaxTotalBytes).
func New(r io.Reader, opts Options) sources.Source {
	name := opts.Name
	if name == "" {
		name = DefaultName
	}
	return files.NewReader(r, name, Kind, files.Options{
		OnError:       opts.OnError,
		NoArchives:    opts.NoArchives,
		ArchiveLimits: opts.ArchiveLimits,
		Exclude:       opts.Exclude,
		Workers:       1,
	})
}
