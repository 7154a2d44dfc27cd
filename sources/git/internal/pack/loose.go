package pack

// Loose objects: one zlib stream per file.

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// looseObject visits a loose object if it is a blob.
func (w *worker) looseObject(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var id ID
	dir, file := filepath.Split(path)
	if _, err := hex.Decode(id[:], []byte(filepath.Base(dir)+file)); err != nil {
		return fmt.Errorf("%s: not an object id", path)
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
	if !ok || err != nil || size < 0 || size > int64(len(raw))*1032+64 {
		return fmt.Errorf("object %s: bad loose object header", id)
	}
	full, err := w.inflateBytes(raw, int64(len("blob ")+len(sz)+1)+size, w.buf(0), name)
	if err != nil {
		return err
	}
	w.bufs[0] = full
	w.blob = Blob{ID: id, Data: full[len("blob ")+len(sz)+1:]}
	w.visit(w.id, &w.blob)
	w.st.Blobs++
	w.st.Loose++
	w.st.Bytes += size
	return nil
}

func (r *Reader) loose(id ID, raw, buf []byte) (string, []byte, error) {
	full, err := r.inflateAll(raw, int64(len(raw))*1032+64)
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
