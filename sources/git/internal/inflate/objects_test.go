package inflate

// Raw pack entries for seeds and benchmarks: a pack's .idx (version 2)
// gives the object offsets; an object's zlib data runs from the end of
// its header to the next object.

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// object is one pack entry's zlib data and inflated size.
type object struct {
	typ  byte
	size int
	z    []byte
}

// gitGit is the read-only git/git mirror the benchmarks read.
const gitGit = "/tmp/git-git.git"

// packObjects reads every step-th entry (in pack order) of the first pack
// under gitDir, at most max of them.
func packObjects(tb testing.TB, gitDir string, step, max int) []object {
	tb.Helper()
	idxs, _ := filepath.Glob(filepath.Join(gitDir, "objects/pack/*.idx"))
	if len(idxs) == 0 {
		tb.Skipf("no pack under %s", gitDir)
	}
	offs, err := idxOffsets(idxs[0])
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.Open(idxs[0][:len(idxs[0])-4] + ".pack")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	offs = append(offs, st.Size()-20)
	var objs []object
	for i := 0; i+1 < len(offs) && len(objs) < max; i += step {
		buf := make([]byte, offs[i+1]-offs[i])
		if _, err := f.ReadAt(buf, offs[i]); err != nil {
			tb.Fatal(err)
		}
		o, err := entry1(buf)
		if err != nil {
			tb.Fatalf("object at %d: %v", offs[i], err)
		}
		objs = append(objs, o)
	}
	return objs
}

// entry1 parses one pack entry.
func entry1(b []byte) (object, error) {
	c := b[0]
	o := object{typ: c >> 4 & 7, size: int(c & 15)}
	i := 1
	for shift := 4; c&0x80 != 0; shift += 7 {
		c = b[i]
		i++
		o.size |= int(c&0x7f) << shift
	}
	switch o.typ {
	case 6: // ofs-delta: a varint base offset
		for b[i]&0x80 != 0 {
			i++
		}
		i++
	case 7: // ref-delta: a base id
		i += 20
	}
	o.z = b[i:]
	return o, nil
}

// idxOffsets reads a version 2 index's offsets, sorted.
func idxOffsets(path string) ([]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 8+1024 || binary.BigEndian.Uint32(b) != 0xff744f63 || binary.BigEndian.Uint32(b[4:]) != 2 {
		return nil, errors.New("not a version 2 pack index")
	}
	n := int(binary.BigEndian.Uint32(b[8+255*4:]))
	small := b[8+1024+n*24:]
	large := small[n*4:]
	offs := make([]int64, n)
	for i := range offs {
		o := binary.BigEndian.Uint32(small[i*4:])
		if o&0x80000000 != 0 {
			offs[i] = int64(binary.BigEndian.Uint64(large[(o&0x7fffffff)*8:]))
		} else {
			offs[i] = int64(o)
		}
	}
	slices.Sort(offs)
	return offs, nil
}
