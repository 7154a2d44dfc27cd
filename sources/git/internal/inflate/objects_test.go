package inflate

// Raw pack entries for seeds and benchmarks: a pack's .idx (version 2)
// gives the object offsets; an object's zlib data runs from the end of
// its header to the next object.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// pack is the first pack under a git directory, open for the helpers
// below.
type pack struct {
	f    *os.File
	ids  [][20]byte // the index's object ids, in id order
	offs []int64    // their entries' offsets, in the same order
	ends []int64    // every entry's offset in pack order, then the pack's end
}

// openPack opens the first pack under gitDir (skipping tb when there is
// none), closed when tb ends.
func openPack(tb testing.TB, gitDir string) *pack {
	tb.Helper()
	idxs, _ := filepath.Glob(filepath.Join(gitDir, "objects/pack/*.idx"))
	if len(idxs) == 0 {
		tb.Skipf("no pack under %s", gitDir)
	}
	ids, offs, err := idxTable(idxs[0])
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.Open(idxs[0][:len(idxs[0])-4] + ".pack")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	ends := append(slices.Clone(offs), st.Size()-20)
	slices.Sort(ends)
	return &pack{f: f, ids: ids, offs: offs, ends: ends}
}

// entryAt reads and parses the entry at ends[j].
func (p *pack) entryAt(tb testing.TB, j int) object {
	tb.Helper()
	buf := make([]byte, p.ends[j+1]-p.ends[j])
	if _, err := p.f.ReadAt(buf, p.ends[j]); err != nil {
		tb.Fatal(err)
	}
	o, err := entry1(buf)
	if err != nil {
		tb.Fatalf("object at %d: %v", p.ends[j], err)
	}
	return o
}

// packObjects reads every step-th entry (in pack order) of the first pack
// under gitDir, at most max of them.
func packObjects(tb testing.TB, gitDir string, step, max int) []object {
	tb.Helper()
	p := openPack(tb, gitDir)
	var objs []object
	for j := 0; j+1 < len(p.ends) && len(objs) < max; j += step {
		objs = append(objs, p.entryAt(tb, j))
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

// idxTable reads a version 2 index: the object ids and their offsets.
func idxTable(path string) ([][20]byte, []int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if len(b) < 8+1024 || binary.BigEndian.Uint32(b) != 0xff744f63 || binary.BigEndian.Uint32(b[4:]) != 2 {
		return nil, nil, errors.New("not a version 2 pack index")
	}
	n := int(binary.BigEndian.Uint32(b[8+255*4:]))
	ids := make([][20]byte, n)
	for i := range ids {
		copy(ids[i][:], b[8+1024+i*20:])
	}
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
	return ids, offs, nil
}

// listedObjects reads the pack entries of the objects whose hex ids are
// listed one a line in list.
func listedObjects(tb testing.TB, gitDir, list string) []object {
	tb.Helper()
	p := openPack(tb, gitDir)
	text, err := os.ReadFile(list)
	if err != nil {
		tb.Fatal(err)
	}
	var objs []object
	for _, line := range strings.Fields(string(text)) {
		var id [20]byte
		if _, err := hex.Decode(id[:], []byte(line)); err != nil {
			tb.Fatal(err)
		}
		i, ok := slices.BinarySearchFunc(p.ids, id, func(a, b [20]byte) int { return bytes.Compare(a[:], b[:]) })
		if !ok {
			tb.Fatalf("%s is in no pack", line)
		}
		j, _ := slices.BinarySearch(p.ends, p.offs[i])
		objs = append(objs, p.entryAt(tb, j))
	}
	return objs
}
