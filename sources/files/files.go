// Package files is the source of files on disk: it walks directories, opens
// archives (zip, tar, gzip, bzip2) and transcodes UTF-16 text, and streams every
// blob through the consumer's sources.Chunker with a bounded, pooled buffer,
// so memory stays near Workers × (chunk size + overlap) whatever the file
// sizes.
//
// The same content handling is available for one stream (stdin) through
// NewReader.
package files

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/bks-dev/bks/sources"
)

// ErrTooLarge is reported (wrapped) for a file above Options.MaxFileSize.
var ErrTooLarge = errors.New("file larger than the size cap")

// ErrNotRegular is reported (wrapped) for a path named as a root that is
// neither a directory, a regular file, a FIFO nor a character device (a
// socket, a block device).
var ErrNotRegular = errors.New("not a regular file or directory")

// Options configure a files source. The zero value of every field is a
// usable default.
type Options struct {
	// Paths are the roots to scan: files or directories. Findings are
	// reported with paths as given, joined with the path below the root
	// and written with forward slashes ("dir/sub/file"), as ripgrep and
	// gitleaks do.
	Paths []string
	// MaxFileSize skips, with an error wrapping ErrTooLarge reported
	// through OnError, files on disk larger than this many bytes. 0 (the
	// default) means no cap: memory does not depend on file sizes, and a
	// silent cap would hide keys in large dumps. It does not apply to
	// archive members, which ArchiveLimits bound.
	MaxFileSize int64
	// Workers is the number of files scanned at once; GOMAXPROCS if 0.
	Workers int
	// OnError receives errors about one file or archive member that did
	// not stop the scan: unreadable files, archive limits (*LimitError),
	// corrupt archives, files above MaxFileSize. It may be called from
	// several goroutines at once. When nil, Chunks returns these errors,
	// joined, after scanning everything it could.
	OnError sources.ErrorHandler
	// NoArchives scans archives as raw bytes instead of opening them.
	// Archives are opened by default.
	NoArchives bool
	// ArchiveLimits bound what an archive may expand to.
	ArchiveLimits ArchiveLimits
	// Exclude, when set, is asked about every directory and file below a
	// root (never the roots themselves) and about every archive member,
	// with the path as reported in findings; returning true skips it (a
	// whole directory for a directory). It may be called from several
	// goroutines at once.
	Exclude func(path string, isDir bool) bool
}

// Source is the files source. Build it with New.
type Source struct {
	opts Options
	// open is os-level opening, replaced in tests to inject read errors.
	open func(j job) (file, error)
}

var _ sources.Source = (*Source)(nil)

// New returns a source that scans the files below opts.Paths.
//
// Walking: directories are walked recursively; directories named .git are
// skipped (unless named as a root). Symbolic links below a root are never
// followed, neither to files nor to directories: a target inside the root
// is scanned under its own path anyway, a target outside it is out of
// scope, and a symlink loop cannot hang the walk. A root that is itself a
// symlink is followed. FIFOs, sockets and devices below a root are skipped
// without being opened: a repository could plant a FIFO nobody writes to,
// and reading it would stall the scan. A FIFO or character device named as
// a root (bash's <(cmd) is /dev/fd/63, a pipe) is read as a stream to its
// end, until the context ends; a socket or block device named as a root is
// reported (ErrNotRegular).
// Files are opened non-blocking and checked to be regular after opening,
// so a file swapped for a FIFO cannot block the scan. A file is read up to
// the size it had when opened: one that grows is not followed, one that
// shrinks ends early; neither blocks nor fails.
//
// Concurrency: files are scanned by Workers goroutines, so yield IS called
// concurrently, from several goroutines at once. The chunks of one file
// (or archive member) are yielded in order, from a single goroutine.
func New(opts Options) *Source {
	return &Source{opts: opts.withDefaults(), open: openFile}
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	o.ArchiveLimits = o.ArchiveLimits.withDefaults()
	return o
}

type job struct {
	path    string // OS path to open
	display string // path reported in findings
	root    bool   // named by the user: symlinks followed
	stream  bool   // a FIFO or character device named by the user: read to its end
	// local: the file's directory is on a local filesystem (localFS),
	// device dev; reads of the file are raw system calls if it is there
	// too.
	local bool
	dev   uint64
}

// Chunks walks the roots and yields the chunks of every file, from Workers
// goroutines at once. It returns the first error of yield, ctx's error if
// ctx ends first, or (without OnError) the per-file errors.
func (s *Source) Chunks(ctx context.Context, split sources.Chunker, yield func(sources.Chunk) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	errs := &errorList{}
	onError := s.opts.OnError
	if onError == nil {
		onError = errs.add
	}

	var (
		fatalOnce sync.Once
		fatal     error
	)
	setFatal := func(err error) {
		fatalOnce.Do(func() { fatal = err; cancel() })
	}

	q, stopQueue := newQueue(ctx)
	defer stopQueue()
	var wg sync.WaitGroup
	for range s.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := newScanner(ctx, &s.opts, split, onError, yield)
			defer sc.release()
			for {
				j, ok := q.next()
				if !ok {
					return
				}
				if ctx.Err() != nil {
					continue // drain
				}
				if err := sc.scanFile(j, s.open); err != nil {
					setFatal(err)
				}
			}
		}()
	}

	s.walk(ctx, q, onError)
	q.close()
	wg.Wait()

	if fatal != nil {
		return fatal
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errs.err()
}

// walk sends the regular files below the roots to q until ctx ends.
func (s *Source) walk(ctx context.Context, q *queue, onError sources.ErrorHandler) {
	send := q.send
	for _, root := range s.opts.Paths {
		if ctx.Err() != nil {
			return
		}
		rootDisplay := filepath.ToSlash(root)
		st, err := os.Stat(root) // a root that is a symlink is followed
		if err != nil {
			onError(rootDisplay, fmt.Errorf("stat: %w", err))
			continue
		}
		switch {
		case st.Mode().IsRegular():
			if !send(job{path: root, display: rootDisplay, root: true}) {
				return
			}
			continue
		case st.Mode()&(fs.ModeNamedPipe|fs.ModeCharDevice) != 0:
			// Named by the user, so read; never when met in a walk.
			if !send(job{path: root, display: rootDisplay, root: true, stream: true}) {
				return
			}
			continue
		case !st.IsDir():
			onError(rootDisplay, fmt.Errorf("open: %w", ErrNotRegular))
			continue
		}
		walkRoot := root
		if lst, err := os.Lstat(root); err == nil && lst.Mode()&fs.ModeSymlink != 0 {
			// WalkDir does not follow a symlinked root; a trailing
			// separator makes the system resolve it.
			walkRoot = root + string(filepath.Separator)
		}
		var dirs dirStack
		err = filepath.WalkDir(walkRoot, func(p string, d fs.DirEntry, err error) error {
			if ctx.Err() != nil {
				return filepath.SkipAll
			}
			display := filepath.ToSlash(p)
			if p == walkRoot {
				display = rootDisplay
			}
			if err != nil {
				onError(display, fmt.Errorf("walk: %w", err))
				return nil // the directory (if any) is skipped, the walk goes on
			}
			if d.IsDir() {
				if p == walkRoot {
					// Its files' paths are cleaned: "./a/x" is "a/x".
					dirs.push(filepath.Clean(p), p)
					return nil
				}
				if d.Name() == ".git" {
					return filepath.SkipDir
				}
				if s.opts.Exclude != nil && s.opts.Exclude(display, true) {
					return filepath.SkipDir
				}
				dirs.pop(filepath.Dir(p))
				dirs.push(p, p)
				return nil
			}
			if !d.Type().IsRegular() {
				// Symlinks, sockets, devices, and FIFOs: a hostile tree
				// can plant one nobody writes to, to stall the scan.
				return nil
			}
			if s.opts.Exclude != nil && s.opts.Exclude(display, false) {
				return nil
			}
			dir := dirs.pop(filepath.Dir(p))
			if !send(job{path: p, display: display, local: dir.local, dev: dir.dev}) {
				return filepath.SkipAll
			}
			return nil
		})
		if err != nil {
			onError(rootDisplay, fmt.Errorf("walk: %w", err))
		}
	}
}

// dirStack holds the directories of the walk from its root to the one it
// is in, with whether each is on a local filesystem (localFS), asked once
// per directory: a tree may hold mount points. Only that chain is kept,
// so its memory is the tree's depth, not its number of directories.
type dirStack []dirOf

type dirOf struct {
	path  string
	local bool
	dev   uint64
}

// push enters the directory named path, at os path p.
func (s *dirStack) push(path, p string) {
	local, dev := localFS(p)
	*s = append(*s, dirOf{path: path, local: local, dev: dev})
}

// pop leaves the directories the walk is done with, down to dir, and
// returns dir's entry; a directory not on the stack is not local.
func (s *dirStack) pop(dir string) dirOf {
	for len(*s) > 0 && (*s)[len(*s)-1].path != dir {
		*s = (*s)[:len(*s)-1]
	}
	if len(*s) == 0 {
		return dirOf{}
	}
	return (*s)[len(*s)-1]
}

// errorList collects per-item errors when no OnError is given.
type errorList struct {
	mu   sync.Mutex
	errs []error
	more int
}

const maxCollected = 20

func (l *errorList) add(path string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) == maxCollected {
		l.more++
		return
	}
	l.errs = append(l.errs, fmt.Errorf("%s: %w", path, err))
}

func (l *errorList) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.more > 0 {
		return errors.Join(append(l.errs, fmt.Errorf("and %d more errors", l.more))...)
	}
	return errors.Join(l.errs...)
}
