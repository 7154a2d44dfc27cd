package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
)

// file is what the scanner needs of an open file.
type file interface {
	io.Reader
	io.ReaderAt
	io.Closer
	Stat() (fileInfo, error)
}

// fileInfo is the part of fs.FileInfo the scanner uses. It is a struct,
// not an interface, so that Stat, called once per file, does not
// allocate.
type fileInfo struct {
	size    int64
	regular bool
}

func (i fileInfo) Size() int64     { return i.size }
func (i fileInfo) IsRegular() bool { return i.regular }

// bufPool holds chunk buffers; each worker takes one for its lifetime, so
// buffers are reused across files and across calls to Chunks.
var bufPool sync.Pool // of *[]byte

// scanner turns blobs into chunks. One scanner belongs to one goroutine.
type scanner struct {
	ctx     context.Context
	opts    *Options
	chunker sources.Chunker
	onError sources.ErrorHandler
	yield   func(sources.Chunk) error
	emitFn  func(sources.Chunk) error
	buf     *[]byte
	// heads[d] holds the sniffed first bytes of the blob at archive depth d.
	heads [][]byte
	// fatal is the error of yield or ctx: it stops the whole scan, unlike
	// the errors of one file, which are reported and skipped.
	fatal error
}

func newScanner(ctx context.Context, opts *Options, split sources.Chunker, onError sources.ErrorHandler, yield func(sources.Chunk) error) *scanner {
	s := &scanner{
		ctx:     ctx,
		opts:    opts,
		chunker: split,
		onError: onError,
		yield:   yield,
	}
	s.emitFn = s.emit
	need := split.BufLen()
	if b, ok := bufPool.Get().(*[]byte); ok && cap(*b) >= need {
		s.buf = b
	} else {
		nb := make([]byte, need)
		s.buf = &nb
	}
	return s
}

func (s *scanner) release() {
	if s.buf != nil {
		bufPool.Put(s.buf)
		s.buf = nil
	}
}

func (s *scanner) emit(c sources.Chunk) error {
	if err := s.ctx.Err(); err != nil {
		s.fatal = err
		return err
	}
	if err := s.yield(c); err != nil {
		s.fatal = err
		return err
	}
	return nil
}

// report hands the error of one item to the error handler.
func (s *scanner) report(path string, err error) {
	s.onError(path, err)
}

// scanFile scans one file on disk. It returns only errors that stop the
// whole scan.
func (s *scanner) scanFile(j job, open func(job) (file, error)) error {
	if j.stream {
		return s.scanStream(j)
	}
	f, err := open(j)
	if err != nil {
		if errors.Is(err, errSkip) {
			return nil
		}
		s.report(j.display, fmt.Errorf("open: %w", err))
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.report(j.display, fmt.Errorf("stat: %w", err))
		return nil
	}
	if !st.IsRegular() {
		// Replaced by a FIFO, a device… between the walk and the open.
		if j.root {
			s.report(j.display, fmt.Errorf("open: %w", ErrNotRegular))
		}
		return nil
	}
	size := st.Size()
	if s.opts.MaxFileSize > 0 && size > s.opts.MaxFileSize {
		s.report(j.display, fmt.Errorf("skipped, %d bytes: %w (%d bytes)", size, ErrTooLarge, s.opts.MaxFileSize))
		return nil
	}
	if size == 0 {
		return nil
	}
	// Read no more than the size at open: a growing file is not followed.
	if size <= int64(s.chunker.BufLen()-s.chunker.LookBack) {
		if done, err := s.scanSmall(f, int(size), j.display); done {
			return err
		}
	}
	r := io.NewSectionReader(f, 0, size)
	bud := &budget{root: j.display}
	err = s.scanBlob(r, f, size, j.display, "", 0, bud, true)
	s.finish(j.display, bud)
	return err
}

// scanSmall scans a file of size bytes that fits one chunk with one read
// into the chunk buffer, the usual case (source files are small): scanBlob
// would read its head first, then the rest, two reads and a copy per file.
// Like scanBlob's chunker, it reads the whole chunk before scanning it. When
// the file turns out to be one scanBlob must open (an archive, UTF-16
// text), it returns false having scanned nothing, and the caller scans it
// from its start. A file that shrank is scanned as far as it goes; after
// a read error, what was read is scanned, then the error reported, as
// scanBlob does.
func (s *scanner) scanSmall(f file, size int, path string) (done bool, err error) {
	n, rerr := io.ReadFull(f, (*s.buf)[:size])
	if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
		rerr = nil
	}
	if n == 0 {
		if rerr != nil {
			s.reportRead(path, rerr)
		}
		return true, nil
	}
	data := (*s.buf)[:n]
	head := data[:min(n, headLen)]
	if !s.opts.NoArchives && sniffArchive(head) != formatNone {
		return false, nil
	}
	if enc, _ := sources.SniffUTF16(head); enc != "" {
		return false, nil
	}
	if err := s.chunker.SplitBytes(data, &location.Location{Path: path}, s.emitFn); err != nil {
		return true, s.fatal
	}
	if rerr != nil {
		s.reportRead(path, rerr)
	}
	return true, nil
}

// scanStream reads a FIFO or character device named as a root to its end.
// Opening waits for a writer and reading for data, both until the context
// ends (openStream).
func (s *scanner) scanStream(j job) error {
	f, err := openStream(s.ctx, j.path)
	if err != nil {
		if s.ctx.Err() != nil {
			return s.ctx.Err()
		}
		s.report(j.display, fmt.Errorf("open: %w", err))
		return nil
	}
	defer f.Close()
	bud := &budget{root: j.display}
	err = s.scanBlob(f, nil, -1, j.display, "", 0, bud, true)
	s.finish(j.display, bud)
	if err == nil && s.ctx.Err() != nil {
		return s.ctx.Err()
	}
	return err
}

// scanBlob scans the content read from r, named path. ra and size, when ra
// is not nil, give random access to the same content (a file on disk), which
// zip needs; otherwise a zip is buffered. depth is the number of archive
// layers around the blob. When archives is false, the blob is not sniffed
// for archive formats (raw fallback of a corrupt archive).
func (s *scanner) scanBlob(r io.Reader, ra io.ReaderAt, size int64, path, kind string, depth int, bud *budget, archives bool) error {
	for len(s.heads) <= depth {
		s.heads = append(s.heads, make([]byte, headLen))
	}
	head := s.heads[depth]
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		if n == 0 {
			s.reportRead(path, err)
			return nil
		}
		// What was read is still scanned; the error comes after it.
		r = errReader{err}
	}
	if n == 0 {
		return nil
	}
	head = head[:n]
	if archives && !s.opts.NoArchives {
		if f := sniffArchive(head); f != formatNone {
			if depth >= s.opts.ArchiveLimits.MaxDepth {
				s.report(path, &LimitError{Archive: path, Limit: "MaxDepth", Max: int64(s.opts.ArchiveLimits.MaxDepth)})
				return nil
			}
			hr := &headReader{head: head, r: r}
			switch f {
			case formatZip:
				return s.scanZip(hr, ra, size, path, kind, depth, bud)
			case formatTar:
				return s.scanTar(hr, path, kind, depth, bud)
			case formatGzip:
				return s.scanGzip(hr, path, kind, depth, bud)
			case formatBzip2:
				return s.scanBzip2(hr, path, kind, depth, bud)
			}
		}
	}
	enc, bom := sources.SniffUTF16(head)
	var in io.Reader = &headReader{head: head[bom:], r: r}
	switch enc {
	case sources.UTF16LE:
		in = sources.NewUTF16Reader(in, false)
	case sources.UTF16BE:
		in = sources.NewUTF16Reader(in, true)
	}
	origin := &location.Location{Path: path, Kind: kind, Transcoded: enc}
	if path != bud.root {
		origin.Archive = bud.root
	}
	if err := s.chunker.Split(in, origin, *s.buf, s.emitFn); err != nil {
		if s.fatal != nil {
			return s.fatal
		}
		s.reportRead(path, err)
	}
	return nil
}

func (s *scanner) reportRead(path string, err error) {
	var le *LimitError
	if errors.As(err, &le) {
		if !le.quiet {
			s.report(path, le)
		}
		return
	}
	s.report(path, fmt.Errorf("read: %w", err))
}

// headLen is how many bytes are sniffed: a tar header is 512 bytes, as is
// what SniffUTF16 looks at.
const headLen = 512

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// headReader returns head, then the rest of r.
type headReader struct {
	head []byte
	r    io.Reader
}

func (h *headReader) Read(p []byte) (int, error) {
	if len(h.head) > 0 {
		n := copy(p, h.head)
		h.head = h.head[n:]
		return n, nil
	}
	return h.r.Read(p)
}

// NewReader returns a source that scans the single stream r as the content
// of a file named name: archives are opened and UTF-16 transcoded as for
// files on disk, and every chunk's Origin has Path name (archive members
// "name!inner/path") and Kind kind. Of opts, Paths, Workers and MaxFileSize
// are ignored; Exclude is asked about archive members only. Chunks calls
// yield from the calling goroutine only, and can be called once: it
// consumes r.
func NewReader(r io.Reader, name, kind string, opts Options) sources.Source {
	return &readerSource{r: r, name: name, kind: kind, opts: opts.withDefaults()}
}

type readerSource struct {
	r          io.Reader
	name, kind string
	opts       Options
}

func (rs *readerSource) Chunks(ctx context.Context, split sources.Chunker, yield func(sources.Chunk) error) error {
	errs := &errorList{}
	onError := rs.opts.OnError
	if onError == nil {
		onError = errs.add
	}
	sc := newScanner(ctx, &rs.opts, split, onError, yield)
	defer sc.release()
	bud := &budget{root: rs.name}
	err := sc.scanBlob(rs.r, nil, -1, rs.name, rs.kind, 0, bud, true)
	sc.finish(rs.name, bud)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errs.err()
}
