package image

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// layerRead says how a sweep reads the streams of its layers.
type layerRead int

const (
	// readUncompressed reads l.Uncompressed(): a docker save tarball,
	// whose Compressed() would compress its plain tar layers.
	readUncompressed layerRead = iota
	// readStored reads l.Compressed(), the blob as stored, and
	// decompresses it here: an OCI layout on disk, whose blobs
	// go-containerregistry opens as they are (no digest check: the
	// manifest naming them comes from the same place).
	readStored
	// readChecked is readStored for a registry's blob, whose digest and
	// declared size go-containerregistry checks as it is read
	// (internal/verify: never more than the size the manifest declares,
	// a mismatch at the end). Such a layer is read to the end of its blob
	// before any of it is scanned (prefetch.go), also when it is cut
	// short (layerStream.verifyRest).
	readChecked
)

// openLayer returns the uncompressed tar stream of l, read as how says,
// read ahead by a goroutine of its own, so that decompressing and
// scanning overlap.
func openLayer(l v1.Layer, how layerRead) (io.ReadCloser, error) {
	rc, err := inflateLayer(l, how)
	if err != nil {
		return nil, err
	}
	return readAhead(rc), nil
}

// inflateLayer is openLayer without the read-ahead goroutine. A stored
// blob is decompressed with klauspost/compress, whose gzip inflates about
// twice as fast as compress/gzip, which go-containerregistry's
// Uncompressed uses; the compression is sniffed, not taken from the media
// type.
func inflateLayer(l v1.Layer, how layerRead) (*layerStream, error) {
	if how == readUncompressed {
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, err
		}
		return &layerStream{r: rc, rc: rc, closeDec: func() {}}, nil
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(rc, 64<<10)
	magic, _ := br.Peek(4)
	s := &layerStream{r: br, blob: br, rc: rc, closeDec: func() {}}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("gzip: %w", err)
		}
		s.r = zr
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstdOptions...)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("zstd: %w", err)
		}
		s.r, s.closeDec = zr, zr.Close
	}
	return s, nil
}

// zstdOptions are the zstd decoder's: one goroutine per layer, low
// memory, a window of at most 64 MiB (buildkit and containerd write 8 MiB
// windows). Measured on the bench's 1 GiB zstd image (loaded machine):
// the same CPU time with or without lowmem and with 1, 2 or 4 decoder
// goroutines (1.5 s), and no better wall time with 2 in bks.
var zstdOptions = []zstd.DOption{zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(64 << 20)}

// ZstdOptions returns the zstd decoder options layers are read with (for
// the image bench's decompression floor, which must decode as bks does).
func ZstdOptions() []zstd.DOption { return slices.Clone(zstdOptions) }

// DigestError says a layer's blob does not match the digest (or the
// size) its manifest names: a registry or a proxy in between served other
// bytes. Only a registry's blobs are checked (readChecked), each read to
// its end before any of it is scanned: nothing read from such a layer is
// scanned. Other errors reading a blob are read errors.
type DigestError struct{ Err error }

func (e *DigestError) Error() string {
	return "the layer's bytes do not match its digest (not scanned): " + e.Err.Error()
}
func (e *DigestError) Unwrap() error { return e.Err }

// UnverifiedError says a registry's layer was cut short (Cut: a limit, a
// corrupt stream) and the rest of its blob could not be read (Err), so
// its digest could not be checked: what was scanned of it may not be what
// its manifest names. It unwraps to neither: it is reported whole (the
// files source reports a *files.LimitError it finds alone).
type UnverifiedError struct{ Cut, Err error }

func (e *UnverifiedError) Error() string {
	return fmt.Sprintf("%v; the rest of the layer's blob could not be read to check its digest (%v): what was scanned of it is unverified", e.Cut, e.Err)
}

// layerStream is the uncompressed stream r of a layer whose blob, as
// stored, is blob (nil: r is Uncompressed()). At r's end it reads blob to
// its own end, where go-containerregistry checks the digest of a
// registry's blob (a decompressor stops at the end of its data, which
// need not be the blob's): a mismatch is a *DigestError instead of
// io.EOF, another error reading the rest is returned as it is.
type layerStream struct {
	r, blob  io.Reader
	rc       io.Closer
	closeDec func()
	done     bool
}

func (s *layerStream) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == io.EOF && !s.done && s.blob != nil {
		s.done = true
		if _, derr := io.Copy(io.Discard, s.blob); derr != nil {
			if isVerifyError(derr) {
				return n, &DigestError{derr}
			}
			return n, derr // a read error: the rest could not be read, nothing was checked
		}
	}
	if err != nil && err != io.EOF && isVerifyError(err) {
		return n, &DigestError{err}
	}
	return n, err
}

// verifyRest is called when the uncompressed stream was cut before its
// end by cut (a limit, a corrupt or truncated stream): it stops
// decompressing and reads the rest of the blob as stored, without
// inflating or keeping it, to its end, where go-containerregistry checks
// a registry blob's digest and size (reading at most the size the
// manifest declares). It returns a *DigestError on a mismatch, cut when
// the blob matches, and an *UnverifiedError when the rest could not be
// read.
func (s *layerStream) verifyRest(cut error) error {
	if s.blob == nil || s.done || isVerifyError(cut) {
		return cut
	}
	s.done = true
	s.closeDec()
	s.closeDec = func() {}
	_, err := io.Copy(io.Discard, s.blob)
	switch {
	case err == nil:
		return cut
	case isVerifyError(err):
		return &DigestError{err}
	default:
		return &UnverifiedError{Cut: cut, Err: err}
	}
}

func (s *layerStream) Close() error {
	s.closeDec()
	return s.rc.Close()
}

// isVerifyError recognizes go-containerregistry's checks of a blob's
// digest and size as read (pkg/v1/internal/verify: "error verifying
// sha256 checksum after reading …", "error verifying size; …"), which
// reach an uncompressed blob's reader as they are.
func isVerifyError(err error) bool {
	if err == nil {
		return false
	}
	var de *DigestError
	return errors.As(err, &de) || strings.Contains(err.Error(), "error verifying ")
}

type closer struct {
	io.Reader
	close func() error
}

func (c *closer) Close() error { return c.close() }

// readAheadBufs is how many buffers of readAheadSize a layer stream is
// read ahead by.
const (
	readAheadBufs = 4
	readAheadSize = 256 << 10
)

// aheadReader reads its source in a goroutine, readAheadBufs buffers ahead.
type aheadReader struct {
	src   io.ReadCloser
	full  chan []byte // filled buffers, in order
	free  chan []byte
	done  chan struct{}
	wg    sync.WaitGroup
	err   error // the source's error, set before full is closed
	cur   []byte
	spare []byte // backing buffer of cur, to return to free
	once  sync.Once
}

func readAhead(src io.ReadCloser) io.ReadCloser {
	a := &aheadReader{src: src, full: make(chan []byte, readAheadBufs), free: make(chan []byte, readAheadBufs), done: make(chan struct{})}
	for range readAheadBufs {
		a.free <- make([]byte, readAheadSize)
	}
	a.wg.Add(1)
	go a.fill()
	return a
}

func (a *aheadReader) fill() {
	defer a.wg.Done()
	defer close(a.full)
	for {
		var buf []byte
		select {
		case buf = <-a.free:
		case <-a.done:
			return
		}
		n, err := readFull(a.src, buf)
		if n > 0 {
			select {
			case a.full <- buf[:n]:
			case <-a.done:
				return
			}
		}
		if err != nil {
			a.err = err
			return
		}
	}
}

// readFull reads into buf until it is full or r fails, and returns r's
// own error (io.ReadFull would turn an io.EOF after some bytes into
// io.ErrUnexpectedEOF, which means a truncated stream here).
func readFull(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (a *aheadReader) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.spare != nil {
			a.free <- a.spare[:cap(a.spare)]
			a.spare = nil
		}
		buf, ok := <-a.full
		if !ok {
			return 0, a.err
		}
		a.cur, a.spare = buf, buf
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// Close stops the goroutine and closes the source.
func (a *aheadReader) Close() error {
	a.once.Do(func() { close(a.done) })
	a.wg.Wait()
	return a.src.Close()
}
