package files

import (
	"bytes"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/bks-dev/bks/sources"
)

// countingFile counts the reads of a file.
type countingFile struct {
	file
	reads *atomic.Int32
}

func (c countingFile) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.file.Read(p)
}

// TestSmallFileOneRead: a file that fits one chunk is read with one read
// (no separate read of its head), and its key is found at its place.
func TestSmallFileOneRead(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.env"), append(bytes.Repeat([]byte("filler line\n"), 2000), "K="+keyLong+"\n"...))
	var reads atomic.Int32
	s := New(Options{Paths: []string{dir}})
	s.open = func(j job) (file, error) {
		f, err := openFile(j)
		if err != nil {
			return nil, err
		}
		return countingFile{f, &reads}, nil
	}
	res := run(t, func(sources.ErrorHandler) sources.Source { return s })
	if len(res.hits) != 1 || res.hits[0].Line != 2001 || res.hits[0].Col != 3 {
		t.Errorf("hits = %v, want the key at 2001:3", res.hits)
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("%d reads of a 24 KB file, want 1", n)
	}
}
