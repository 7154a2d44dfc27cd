package files

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bks-dev/bks/sources/files/internal/bzip2"
)

// ArchiveLimits bound what one archive on disk (with everything nested in
// it) may expand to, against zip bombs. A zero field takes its default; a
// negative one means no limit. Hitting a limit reports a *LimitError naming
// the archive and the limit through OnError; the scan goes on with the next
// member (MaxRatio) or the next file (the others).
type ArchiveLimits struct {
	// MaxDepth is how many archive layers are opened, counting a gzip or
	// bzip2 layer as one: a.zip!b.tar.gz!c.txt needs 3. Default 8.
	MaxDepth int
	// MaxTotalBytes caps the bytes read out of archive members, all
	// nesting levels together, per archive on disk. Default 4 GiB.
	MaxTotalBytes int64
	// MaxRatio caps how much one member may expand: decompressed bytes over
	// compressed bytes. Checked once a member expanded past RatioWindow,
	// so highly compressible files (repetitive logs) of ordinary size
	// pass. Default 200 (deflate cannot exceed ~1032; bombs sit there).
	MaxRatio int64
	// RatioWindow is how many bytes a member expands to before its ratio
	// is checked (over all it expanded so far): a bomb is cut there, and
	// the next member is scanned. Default 16 MiB.
	RatioWindow int64
	// MaxEntries caps the members, all nesting levels together, per
	// archive on disk. Default 100000.
	MaxEntries int64
}

// Default archive limits.
const (
	DefaultMaxDepth      = 8
	DefaultMaxTotalBytes = 4 << 30
	DefaultMaxRatio      = 200
	DefaultRatioWindow   = 16 << 20
	DefaultMaxEntries    = 100_000
	// zipMemLimit is the largest zip that is not on disk (nested in another
	// archive, or on stdin) buffered in memory; larger ones go to an
	// unlinked temporary file, bounded by MaxTotalBytes.
	zipMemLimit = 16 << 20
)

// WithDefaults returns l with each zero field set to its default and each
// negative one to no limit, as the files source applies them (for sources
// that bound other containers, such as image layers, the same way).
func (l ArchiveLimits) WithDefaults() ArchiveLimits { return l.withDefaults() }

func (l ArchiveLimits) withDefaults() ArchiveLimits {
	def := func(v *int64, d int64) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 1<<63 - 1
		}
	}
	depth := int64(l.MaxDepth)
	def(&depth, DefaultMaxDepth)
	l.MaxDepth = int(min(depth, 1<<20))
	def(&l.MaxTotalBytes, DefaultMaxTotalBytes)
	def(&l.MaxRatio, DefaultMaxRatio)
	def(&l.RatioWindow, DefaultRatioWindow)
	def(&l.MaxEntries, DefaultMaxEntries)
	return l
}

// ErrTruncated says a gzip or bzip2 stream or a tar archive ends before its own end
// (the gzip trailer, a tar member's declared size, a whole tar header):
// what came before it was scanned, the rest is missing.
var ErrTruncated = errors.New("truncated archive: it ends early; the rest of it was not scanned")

// ErrArchiveLimit is wrapped by every *LimitError.
var ErrArchiveLimit = errors.New("archive limit exceeded")

// LimitError says an archive hit one of ArchiveLimits; what it would have
// expanded to further was not scanned.
type LimitError struct {
	Archive string // the archive, e.g. "a.zip" or "a.zip!b.tar"; for MaxRatio the member
	Limit   string // "MaxDepth", "MaxTotalBytes", "MaxRatio" or "MaxEntries"
	Max     int64  // the limit's value
	// More, for MaxRatio, counts further members of the same archive on
	// disk that exceeded it too and were skipped without their own report.
	More int64

	quiet bool // counted in a later summary instead of reported
}

func (e *LimitError) Error() string {
	what := map[string]string{
		"MaxDepth":      "nested more than %d archives deep",
		"MaxTotalBytes": "expands to more than %d bytes",
		"MaxRatio":      "expands more than %d times its compressed size",
		"MaxEntries":    "has more than %d members",
	}[e.Limit]
	if what == "" {
		what = "exceeds %d"
	}
	if e.More > 0 {
		return fmt.Sprintf("%v: %d more members of %s %s (%s); they were not scanned", ErrArchiveLimit, e.More, e.Archive, fmt.Sprintf(what, e.Max), e.Limit)
	}
	return fmt.Sprintf("%v: %s %s (%s); the rest of it was not scanned", ErrArchiveLimit, e.Archive, fmt.Sprintf(what, e.Max), e.Limit)
}

// Unwrap makes errors.Is(err, ErrArchiveLimit) true.
func (e *LimitError) Unwrap() error { return ErrArchiveLimit }

// budget is what remains of the limits of one archive on disk. It belongs
// to one scanner goroutine.
type budget struct {
	root      string // the archive on disk (or the stream)
	total     int64
	entries   int64
	exhausted bool // MaxTotalBytes or MaxEntries hit: stop every level
	// ratioHits counts members cut by MaxRatio: the first is reported
	// alone, the others once, together, at the end (see finish).
	ratioHits int64
}

// finish reports the members past the first that exceeded MaxRatio, so a
// bomb of thousands of members makes two reports, not thousands.
func (s *scanner) finish(path string, bud *budget) {
	if bud.ratioHits > 1 {
		s.report(path, &LimitError{Archive: path, Limit: "MaxRatio", Max: s.opts.ArchiveLimits.MaxRatio, More: bud.ratioHits - 1})
	}
}

type format int

const (
	formatNone format = iota
	formatZip
	formatTar
	formatGzip
	formatBzip2
)

// sniffArchive recognizes an archive by its first bytes, whatever its name.
func sniffArchive(h []byte) format {
	switch {
	case len(h) >= 4 && h[0] == 'P' && h[1] == 'K' && (h[2] == 3 && h[3] == 4 || h[2] == 5 && h[3] == 6 || h[2] == 7 && h[3] == 8):
		return formatZip
	case len(h) >= 3 && h[0] == 0x1f && h[1] == 0x8b && h[2] == 8:
		return formatGzip
	case isBzip2Header(h):
		return formatBzip2
	case isTarHeader(h):
		return formatTar
	}
	return formatNone
}

// isBzip2Header reports whether h starts a bzip2 stream: "BZh", the block
// size '1'-'9', then the magic of a block (π) or of the stream's end (√π),
// so that text starting "BZh9" is not taken for one.
func isBzip2Header(h []byte) bool {
	if len(h) < 10 || string(h[:3]) != "BZh" || h[3] < '1' || h[3] > '9' {
		return false
	}
	m := string(h[4:10])
	return m == "\x31\x41\x59\x26\x53\x59" || m == "\x17\x72\x45\x38\x50\x90"
}

// isTarHeader reports whether h starts with a tar header block: its
// checksum field matches the sum of its bytes (ustar, GNU and v7 alike).
func isTarHeader(h []byte) bool {
	if len(h) < 512 {
		return false
	}
	field := h[148:156]
	var want int64
	digits := 0
	for _, c := range field {
		switch {
		case c >= '0' && c <= '7':
			want = want*8 + int64(c-'0')
			digits++
		case c == ' ' || c == 0:
			if digits > 0 {
				goto done
			}
		default:
			return false
		}
	}
done:
	if digits == 0 {
		return false
	}
	var unsigned, signed int64
	for i, c := range h[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return want == unsigned || want == signed
}

// limitReader counts the bytes read out of an archive member against the
// archive's budget and the member's expansion ratio.
type limitReader struct {
	r          io.Reader
	member     string
	archive    string
	in         *countReader // compressed bytes consumed, or nil
	compressed int64        // compressed size when in is nil; 0: no ratio
	n          int64
	bud        *budget
	lim        *ArchiveLimits
	err        error // sticky: io.ReadFull drops an error that comes with a full buffer
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if l.bud.exhausted {
		return 0, io.EOF
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	l.bud.total += int64(n)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, ErrTruncated) {
		// Not io.ErrUnexpectedEOF, which readers take for a short end.
		l.err = ErrTruncated
		return n, l.err
	}
	if l.bud.total > l.lim.MaxTotalBytes {
		l.bud.exhausted = true
		l.err = &LimitError{Archive: l.bud.root, Limit: "MaxTotalBytes", Max: l.lim.MaxTotalBytes}
		return n, l.err
	}
	if l.n > l.lim.RatioWindow {
		c := l.compressed
		if l.in != nil {
			c = l.in.n
		}
		if c > 0 && l.n/c >= l.lim.MaxRatio {
			l.bud.ratioHits++
			l.err = &LimitError{Archive: l.member, Limit: "MaxRatio", Max: l.lim.MaxRatio, quiet: l.bud.ratioHits > 1}
			return n, l.err
		}
	}
	return n, err
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// member counts one more archive member; false when MaxEntries is hit (and
// reported).
func (s *scanner) member(archive string, bud *budget) bool {
	if bud.exhausted {
		return false
	}
	bud.entries++
	if bud.entries > s.opts.ArchiveLimits.MaxEntries {
		bud.exhausted = true
		s.report(archive, &LimitError{Archive: archive, Limit: "MaxEntries", Max: s.opts.ArchiveLimits.MaxEntries})
		return false
	}
	return true
}

func (s *scanner) excluded(path string) bool {
	return s.opts.Exclude != nil && s.opts.Exclude(path, false)
}

func (s *scanner) scanZip(r io.Reader, ra io.ReaderAt, size int64, path, kind string, depth int, bud *budget) error {
	if ra == nil {
		sp, err := s.spill(r, bud)
		if err != nil {
			s.reportRead(path, err)
			return nil
		}
		defer sp.close()
		ra, size = sp.ra, sp.size
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		// Not a zip after all, or a damaged one: say so, and scan its bytes.
		s.report(path, fmt.Errorf("open zip (scanned as raw bytes): %w", err))
		return s.scanBlob(io.NewSectionReader(ra, 0, size), ra, size, path, kind, depth, bud, false)
	}
	for _, f := range zr.File {
		if s.ctx.Err() != nil {
			return s.ctx.Err()
		}
		if !f.Mode().IsRegular() || strings.HasSuffix(f.Name, "/") {
			continue // directories, symlinks
		}
		if !s.member(path, bud) {
			return nil
		}
		mpath := path + "!" + f.Name
		if s.excluded(mpath) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			s.report(mpath, fmt.Errorf("open zip member: %w", err))
			continue
		}
		lr := &limitReader{r: rc, member: mpath, archive: path, compressed: int64(f.CompressedSize64), bud: bud, lim: &s.opts.ArchiveLimits}
		err = s.scanBlob(lr, nil, -1, mpath, kind, depth+1, bud, true)
		rc.Close()
		if err != nil {
			return err
		}
		if bud.exhausted {
			return nil
		}
	}
	return nil
}

func (s *scanner) scanTar(r io.Reader, path, kind string, depth int, bud *budget) error {
	tr := tar.NewReader(r)
	for {
		if s.ctx.Err() != nil {
			return s.ctx.Err()
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = ErrTruncated
		}
		if err != nil {
			s.reportRead(path, fmt.Errorf("tar: %w", err))
			return nil
		}
		if !h.FileInfo().Mode().IsRegular() {
			continue
		}
		if !s.member(path, bud) {
			return nil
		}
		mpath := path + "!" + strings.TrimPrefix(h.Name, "./")
		if s.excluded(mpath) || h.Size == 0 {
			continue
		}
		lr := &limitReader{r: tr, member: mpath, archive: path, bud: bud, lim: &s.opts.ArchiveLimits}
		if err := s.scanBlob(lr, nil, h.Size, mpath, kind, depth+1, bud, true); err != nil {
			return err
		}
		if bud.exhausted || errors.Is(lr.err, ErrTruncated) {
			// The member said so already; no header follows.
			return nil
		}
	}
}

// scanGzip scans the decompressed content of a gzip stream under the same
// path: gzip is a compression layer, not a container (like zgrep and
// ripgrep -z); a tar inside gives "a.tar.gz!inner/path".
func (s *scanner) scanGzip(r io.Reader, path, kind string, depth int, bud *budget) error {
	cr := &countReader{r: r}
	zr, err := gzip.NewReader(cr)
	if err != nil {
		s.report(path, fmt.Errorf("open gzip: %w", err))
		return nil
	}
	defer zr.Close()
	return s.scanLayer(zr, cr, path, kind, depth, bud)
}

// scanBzip2 is scanGzip for a bzip2 stream (concatenated streams are read
// on, as bzip2 -d does). A stream cut short ends in ErrTruncated after the
// blocks before the cut: bzip2 decodes whole blocks (100-900 kB). The
// decoder is compress/bzip2's code with a faster end of block
// (internal/bzip2 says what was measured).
func (s *scanner) scanBzip2(r io.Reader, path, kind string, depth int, bud *budget) error {
	cr := &countReader{r: r}
	return s.scanLayer(bzip2.NewReader(cr), cr, path, kind, depth, bud)
}

// scanLayer scans zr, the decompressed content of a compression layer
// whose compressed bytes cr counts, under the archive limits.
func (s *scanner) scanLayer(zr io.Reader, cr *countReader, path, kind string, depth int, bud *budget) error {
	lr := &limitReader{r: zr, member: path, archive: path, in: cr, bud: bud, lim: &s.opts.ArchiveLimits}
	return s.scanBlob(lr, nil, -1, path, kind, depth+1, bud, true)
}

// spilled is a zip that was not on disk, made random-access.
type spilled struct {
	ra    io.ReaderAt
	size  int64
	close func()
}

// spill copies r to memory, or to an unlinked temporary file past
// zipMemLimit, so that zip can read it at random.
func (s *scanner) spill(r io.Reader, bud *budget) (*spilled, error) {
	var mem bytes.Buffer
	n, err := io.Copy(&mem, io.LimitReader(r, zipMemLimit+1))
	if err != nil {
		return nil, err
	}
	if n <= zipMemLimit {
		return &spilled{ra: bytes.NewReader(mem.Bytes()), size: n, close: func() {}}, nil
	}
	tmp, err := os.CreateTemp("", "bks-zip-*")
	if err != nil {
		return nil, fmt.Errorf("buffer zip: %w", err)
	}
	name := tmp.Name()
	removed := os.Remove(name) == nil // unlinked now where the system allows
	cleanup := func() {
		tmp.Close()
		if !removed {
			os.Remove(name)
		}
	}
	if _, err := tmp.Write(mem.Bytes()); err != nil {
		cleanup()
		return nil, fmt.Errorf("buffer zip: %w", err)
	}
	mem = bytes.Buffer{}
	// Bounded even when r is not an archive member (a zip on stdin).
	rest := s.opts.ArchiveLimits.MaxTotalBytes - n
	m, err := io.Copy(tmp, io.LimitReader(r, max(rest, 0)+1))
	if err == nil && m > rest {
		bud.exhausted = true
		err = &LimitError{Archive: bud.root, Limit: "MaxTotalBytes", Max: s.opts.ArchiveLimits.MaxTotalBytes}
	}
	if err != nil {
		cleanup()
		return nil, err
	}
	return &spilled{ra: tmp, size: n + m, close: cleanup}, nil
}
