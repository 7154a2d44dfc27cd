package pack

// Loose objects: one zlib stream per file.

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zlib"
)

// looseObject visits a loose object if it is a blob.
func (w *worker) looseObject(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	// zlib inflates at most 1032 times: only a file that large may hold
	// a blob over skipOver, and only its header is read first.
	if w.skipOver > 0 && maxInflated(st.Size()) > w.skipOver {
		if skipped, err := w.skipLoose(f, path); skipped || err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	raw := make([]byte, st.Size())
	if _, err := io.ReadFull(f, raw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	id, err := looseID(path)
	if err != nil {
		return err
	}
	name := func() string { return id.String() }
	// The header first: a loose commit or tree is not inflated further.
	if err := w.z.reset(bytes.NewReader(raw)); err != nil {
		return fmt.Errorf("object %s: %v", id, err)
	}
	var head [32]byte
	n, _ := io.ReadFull(w.z.zr, head[:])
	typ, rest, ok := bytes.Cut(head[:n], []byte{' '})
	if !ok {
		return fmt.Errorf("object %s: bad loose object header", id)
	}
	if string(typ) != "blob" {
		return nil
	}
	sz, _, ok := bytes.Cut(rest, []byte{0})
	size, err := strconv.ParseInt(string(sz), 10, 64)
	if !ok || err != nil || size < 0 || size > maxInflated(int64(len(raw))) {
		return fmt.Errorf("object %s: bad loose object header", id)
	}
	full, err := w.inflateBytes(raw, int64(len("blob ")+len(sz)+1)+size, w.buf(0), name)
	if err != nil {
		return err
	}
	w.bufs[0] = full
	w.blob = Blob{ID: id, Data: full[len("blob ")+len(sz)+1:], Size: size}
	w.visit(w.id, &w.blob)
	w.st.Blobs++
	w.st.Loose++
	w.st.Bytes += size
	return nil
}

// looseID is the id a loose object's path (objects/xx/yyyy…) names.
func looseID(path string) (ID, error) {
	var id ID
	dir, file := filepath.Split(path)
	if _, err := hex.Decode(id[:], []byte(filepath.Base(dir)+file)); err != nil {
		return id, fmt.Errorf("%s: not an object id", path)
	}
	return id, nil
}

// skipLoose visits the loose object in f as Skipped when it is a blob
// over skipOver, reading only its header.
func (w *worker) skipLoose(f *os.File, path string) (bool, error) {
	id, err := looseID(path)
	if err != nil {
		return false, err
	}
	if err := w.z.reset(bufio.NewReaderSize(f, 512)); err != nil {
		return false, fmt.Errorf("object %s: %v", id, err)
	}
	var head [32]byte
	n, _ := io.ReadFull(w.z.zr, head[:])
	typ, rest, _ := bytes.Cut(head[:n], []byte{' '})
	sz, _, ok := bytes.Cut(rest, []byte{0})
	size, err := strconv.ParseInt(string(sz), 10, 64)
	if string(typ) != "blob" || !ok || err != nil || size <= w.skipOver {
		return false, nil // read whole, and checked, as any other
	}
	w.blob = Blob{ID: id, Skipped: true, Size: size}
	w.visit(w.id, &w.blob)
	w.st.Blobs++
	w.st.Loose++
	w.st.Bytes += size
	return true, nil
}

func (r *Reader) loose(id ID, raw, buf []byte) (string, []byte, error) {
	full, err := r.inflateAll(raw, maxInflated(int64(len(raw))))
	if err != nil {
		return "", nil, fmt.Errorf("object %s: %v", id, err)
	}
	hdr, body, ok := bytes.Cut(full, []byte{0})
	typ, sz, ok2 := bytes.Cut(hdr, []byte{' '})
	size, err := strconv.ParseInt(string(sz), 10, 64)
	if !ok || !ok2 || err != nil || size != int64(len(body)) {
		return "", nil, fmt.Errorf("object %s: bad loose object header", id)
	}
	return string(typ), append(buf[:0], body...), nil
}

// inflateAll inflates a whole zlib stream of at most max bytes.
func (r *Reader) inflateAll(raw []byte, max int64) ([]byte, error) {
	if err := r.z.reset(bytes.NewReader(raw)); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(r.z.zr, max))
}

// OpenLooseBlob streams the loose blob id, inflating as it is read; ok is
// false when the store has no such loose object (it may be packed).
func (s *Store) OpenLooseBlob(id ID) (rc io.ReadCloser, ok bool, err error) {
	hexID := id.String()
	for _, dir := range s.loose {
		f, err := os.Open(filepath.Join(dir, hexID[:2], hexID[2:]))
		if err != nil {
			continue
		}
		zr, err := zlib.NewReader(bufio.NewReaderSize(f, 64<<10))
		if err != nil {
			f.Close()
			return nil, true, fmt.Errorf("object %s: %v", id, err)
		}
		br := bufio.NewReaderSize(zr, 64<<10)
		hdr, err := br.ReadString(0)
		if err != nil || !strings.HasPrefix(hdr, "blob ") {
			zr.Close()
			f.Close()
			return nil, true, fmt.Errorf("object %s: not a loose blob", id)
		}
		return looseStream{br, func() error { zr.Close(); return f.Close() }}, true, nil
	}
	return nil, false, nil
}

type looseStream struct {
	*bufio.Reader
	close func() error
}

func (l looseStream) Close() error { return l.close() }
