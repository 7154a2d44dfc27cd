package image

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// openLayer returns the uncompressed tar stream of l. When stored is true,
// l.Compressed() returns the blob as stored (a registry, an OCI layout;
// go-containerregistry checks its digest as it is read), and it is
// decompressed here with klauspost/compress, whose gzip inflates about
// twice as fast as compress/gzip, which go-containerregistry's
// Uncompressed uses; the compression is sniffed, not taken from the media
// type. Otherwise (a docker save tarball, whose Compressed() would compress
// its plain tar layers) l.Uncompressed() is read. Either way the stream is
// read ahead by a goroutine of its own, so that inflating and scanning
// overlap.
func openLayer(l v1.Layer, stored bool) (io.ReadCloser, error) {
	rc, err := inflateLayer(l, stored)
	if err != nil {
		return nil, err
	}
	return readAhead(rc), nil
}

// inflateLayer is openLayer without the read-ahead goroutine.
func inflateLayer(l v1.Layer, stored bool) (io.ReadCloser, error) {
	if !stored {
		return l.Uncompressed()
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(rc, 64<<10)
	magic, _ := br.Peek(4)
	var r io.Reader = br
	closeDec := func() {}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("gzip: %w", err)
		}
		r = zr
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(64<<20))
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("zstd: %w", err)
		}
		r, closeDec = zr, zr.Close
	}
	return &closer{Reader: &verified{r: r, blob: br}, close: func() error { closeDec(); return rc.Close() }}, nil
}

// DigestError says a layer's blob does not match the digest (or the
// size) its manifest names: a registry or a proxy in between served other
// bytes. Nothing read from such a layer is scanned.
type DigestError struct{ Err error }

func (e *DigestError) Error() string {
	return "the layer's bytes do not match its digest (not scanned): " + e.Err.Error()
}
func (e *DigestError) Unwrap() error { return e.Err }

// verified reads the uncompressed stream r of blob, and at its end reads
// blob to its own end, where go-containerregistry checks the digest of
// what was read (a decompressor stops at the end of its data, which need
// not be the blob's). A mismatch is a *DigestError instead of io.EOF.
type verified struct {
	r, blob io.Reader
	done    bool
}

func (v *verified) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	if err == io.EOF && !v.done {
		v.done = true
		if _, derr := io.Copy(io.Discard, v.blob); derr != nil {
			return n, &DigestError{derr}
		}
	}
	if err != nil && err != io.EOF && isVerifyError(err) {
		return n, &DigestError{err}
	}
	return n, err
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
