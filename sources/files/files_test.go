package files

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/bks-dev/bks/sources"
)

// lineCol is the 1-based line and byte column of offset off in data.
func lineCol(data []byte, off int) (int, int) {
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	return line, off - bytes.LastIndexByte(before, '\n')
}

// boundaryCase builds content whose key starts at pos, with newlines
// sprinkled before so line and column both matter.
func boundaryCase(pos int, key string) []byte {
	var b []byte
	for len(b) < pos {
		n := min(pos-len(b), 97)
		b = append(b, bytes.Repeat([]byte{'x'}, n-1)...)
		b = append(b, '\n')
	}
	b = b[:pos]
	if pos > 0 {
		b[pos-1] = '=' // the key follows an assignment
	}
	b = append(b, key...)
	b = append(b, "\nafter\n"...)
	return b
}

// TestChunkBoundary moves a key across the first chunk boundary byte by byte:
// it is found exactly once, at the right line and column, both from a stream
// and from files on disk scanned in parallel.
func TestChunkBoundary(t *testing.T) {
	const size = 4096
	type tc struct {
		name string
		data []byte
		key  string
		pos  int
	}
	var cases []tc
	for _, key := range []string{keyLong, keyShort} {
		for pos := size - len(key) - 2; pos <= size+2; pos++ {
			cases = append(cases, tc{fmt.Sprintf("%s@%d", key[:4], pos), boundaryCase(pos, key), key, pos})
		}
	}
	// Second boundary too, and the start of the file.
	cases = append(cases, tc{"second", boundaryCase(2*size-10, keyLong), keyLong, 2*size - 10}, tc{"zero", boundaryCase(0, keyLong), keyLong, 0})

	dir := t.TempDir()
	for i, c := range cases {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("f%04d.txt", i)), c.data)
	}
	disk := runSized(t, size, func(onError sources.ErrorHandler) sources.Source {
		return New(Options{Paths: []string{dir}, Workers: 3, OnError: onError})
	})
	if disk.err != nil || len(disk.errs) > 0 {
		t.Fatalf("disk scan: %v %s", disk.err, disk.errText())
	}
	byPath := map[string][]hit{}
	for _, h := range disk.hits {
		byPath[h.Path] = append(byPath[h.Path], h)
	}
	for i, c := range cases {
		line, col := lineCol(c.data, c.pos)
		want := hit{Path: "x", Line: line, Col: col, Key: c.key}
		check := func(t *testing.T, hits []hit) {
			t.Helper()
			if len(hits) != 1 {
				t.Fatalf("%d findings, want 1: %v", len(hits), hits)
			}
			got := hits[0]
			if got.Line != want.Line || got.Col != want.Col || got.Key != want.Key {
				t.Errorf("got %v, want line %d col %d", got, want.Line, want.Col)
			}
		}
		t.Run(c.name, func(t *testing.T) {
			check(t, runSized(t, size, func(onError sources.ErrorHandler) sources.Source {
				return NewReader(bytes.NewReader(c.data), "x", "", Options{OnError: onError})
			}).hits)
			check(t, byPath[filepath.ToSlash(filepath.Join(dir, fmt.Sprintf("f%04d.txt", i)))])
		})
	}
}

// TestContentKinds covers the file kinds keys hide in, each scanned from disk
// and, for the same bytes, from a stream.
func TestContentKinds(t *testing.T) {
	env := []byte("# settings\nREGION=us-east-1\nAWS_BEARER_TOKEN_BEDROCK=" + keyLong + "\n")
	crlf := []byte("line one\r\nline two\r\n\r\n  token: \"" + keyLong + "\"\r\nend\r\n")
	jsonEsc := []byte(`{"config": "first line\nAWS_BEARER_TOKEN_BEDROCK=` + keyLong + `\nlast"}`)
	notebook := []byte(`{
 "cells": [
  {
   "cell_type": "code",
   "source": [
    "import os\n",
    "os.environ[\"AWS_BEARER_TOKEN_BEDROCK\"] = \"` + keyShort + `\"\n"
   ]
  }
 ]
}
`)
	yaml := []byte("bedrock:\n  api_key: " + keyLong + "\n  region: us-west-2\n")
	text16 := "first\r\nAWS_BEARER_TOKEN_BEDROCK=" + keyLong + "\r\n"
	envLine := func(data []byte, key string) (int, int) {
		return lineCol(data, bytes.Index(data, []byte(key)))
	}
	el, ec := envLine(env, keyLong)
	cl, cc := envLine(crlf, keyLong)
	jl, jc := envLine(jsonEsc, keyLong)
	nl, nc := envLine(notebook, keyShort)
	yl, yc := envLine(yaml, keyLong)
	ul, uc := envLine([]byte(text16), keyLong)

	tests := []struct {
		name string
		file string
		data []byte
		want []hit // Path relative to the root
	}{
		{"env", ".env", env, []hit{{Path: ".env", Line: el, Col: ec, Key: keyLong}}},
		{"crlf", "conf.yml", crlf, []hit{{Path: "conf.yml", Line: cl, Col: cc, Key: keyLong}}},
		{"json escaped newline", "c.json", jsonEsc, []hit{{Path: "c.json", Line: jl, Col: jc, Key: keyLong}}},
		{"notebook", "nb.ipynb", notebook, []hit{{Path: "nb.ipynb", Line: nl, Col: nc, Key: keyShort}}},
		{"yaml", "values.yaml", yaml, []hit{{Path: "values.yaml", Line: yl, Col: yc, Key: keyLong}}},
		{"utf-16le bom", "w.txt", utf16(text16, false, true), []hit{{Path: "w.txt", Line: ul, Col: uc, Key: keyLong, Transcoded: "utf-16le"}}},
		{"utf-16be bom", "w.txt", utf16(text16, true, true), []hit{{Path: "w.txt", Line: ul, Col: uc, Key: keyLong, Transcoded: "utf-16be"}}},
		{"utf-16le no bom", "w.ps1", utf16(text16, false, false), []hit{{Path: "w.ps1", Line: ul, Col: uc, Key: keyLong, Transcoded: "utf-16le"}}},
		{"utf-16be no bom", "w.ps1", utf16(text16, true, false), []hit{{Path: "w.ps1", Line: ul, Col: uc, Key: keyLong, Transcoded: "utf-16be"}}},
		{"zip", "a.zip", makeZip(t, member{name: "dir/.env", data: env}, member{name: "empty/"}, member{name: "s.yaml", data: yaml, store: true}),
			[]hit{{Path: "a.zip!dir/.env", Line: el, Col: ec, Key: keyLong}, {Path: "a.zip!s.yaml", Line: yl, Col: yc, Key: keyLong}}},
		{"zip named otherwise", "report.docx", makeZip(t, member{name: "word/document.xml", data: env}),
			[]hit{{Path: "report.docx!word/document.xml", Line: el, Col: ec, Key: keyLong}}},
		{"tar", "a.tar", makeTar(t, member{name: "./app/.env", data: env}, member{name: "app/readme", data: []byte("nothing")}),
			[]hit{{Path: "a.tar!app/.env", Line: el, Col: ec, Key: keyLong}}},
		{"tgz", "a.tgz", gz(t, makeTar(t, member{name: "app/config.yaml", data: yaml})),
			[]hit{{Path: "a.tgz!app/config.yaml", Line: yl, Col: yc, Key: keyLong}}},
		{"gz", "dump.sql.gz", gz(t, crlf), []hit{{Path: "dump.sql.gz", Line: cl, Col: cc, Key: keyLong}}},
		{"gz without extension", "blob", gz(t, env), []hit{{Path: "blob", Line: el, Col: ec, Key: keyLong}}},
		{"utf-16 in zip", "u.zip", makeZip(t, member{name: "w.txt", data: utf16(text16, false, true)}),
			[]hit{{Path: "u.zip!w.txt", Line: ul, Col: uc, Key: keyLong, Transcoded: "utf-16le"}}},
		{"nested zip tar tgz gz", "a.zip", makeZip(t,
			member{name: "b.tar", data: makeTar(t,
				member{name: "c.txt", data: env},
				member{name: "d.tgz", data: gz(t, makeTar(t, member{name: "e.yaml", data: yaml}))},
				member{name: "f.zip", data: makeZip(t, member{name: "g.log.gz", data: gz(t, crlf)})},
			)},
			member{name: "h.zip", data: makeZip(t, member{name: "i.json", data: jsonEsc}), store: true},
		), []hit{
			{Path: "a.zip!b.tar!c.txt", Line: el, Col: ec, Key: keyLong},
			{Path: "a.zip!b.tar!d.tgz!e.yaml", Line: yl, Col: yc, Key: keyLong},
			{Path: "a.zip!b.tar!f.zip!g.log.gz", Line: cl, Col: cc, Key: keyLong},
			{Path: "a.zip!h.zip!i.json", Line: jl, Col: jc, Key: keyLong},
		}},
		{"binary with key", "app.bin", append(append([]byte{0x7f, 'E', 'L', 'F', 0, 0, 1, 2, 0, 0, 0}, keyLong...), 0, 0, 0), []hit{{Path: "app.bin", Line: 1, Col: 12, Key: keyLong}}},
		{"empty", "empty.txt", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, tt.file), tt.data)
			check := func(name string, res result, prefix string) {
				t.Helper()
				if res.err != nil || len(res.errs) > 0 {
					t.Fatalf("%s: %v %s", name, res.err, res.errText())
				}
				var want []hit
				for _, h := range tt.want {
					h.Path = prefix + h.Path
					want = append(want, h)
				}
				if fmt.Sprint(res.hits) != fmt.Sprint(want) {
					t.Errorf("%s:\n got %v\nwant %v", name, res.hits, want)
				}
			}
			check("disk", scanPaths(t, Options{}, dir), filepath.ToSlash(dir)+"/")
			check("stream", scanBytes(t, Options{}, tt.file, tt.data), "")
		})
	}
}

func TestNoArchives(t *testing.T) {
	data := makeZip(t, member{name: "a.env", data: []byte("K=" + keyLong + "\n")})
	stored := makeZip(t, member{name: "a.env", data: []byte("K=" + keyLong + "\n"), store: true})
	if res := scanBytes(t, Options{NoArchives: true}, "a.zip", data); len(res.hits) != 0 {
		t.Errorf("deflated member found without opening the archive: %v", res.hits)
	}
	res := scanBytes(t, Options{NoArchives: true}, "a.zip", stored)
	if len(res.hits) != 1 || res.hits[0].Path != "a.zip" {
		t.Errorf("stored member as raw bytes: %v", res.hits)
	}
}

func TestPathsAndWalk(t *testing.T) {
	root := t.TempDir()
	key := []byte("K=" + keyLong + "\n")
	writeFile(t, filepath.Join(root, "proj", "sub", "deep", "a.env"), key)
	writeFile(t, filepath.Join(root, "proj", "b.env"), key)
	writeFile(t, filepath.Join(root, "proj", ".git", "config"), key)          // skipped
	writeFile(t, filepath.Join(root, "proj", "sub", ".git", "HEAD"), key)     // skipped (nested repo)
	writeFile(t, filepath.Join(root, "proj", "node_modules", "x.js"), key)    // excluded
	writeFile(t, filepath.Join(root, "proj", "big.txt"), append(key, key...)) // too large
	writeFile(t, filepath.Join(root, "proj", "skip.me"), key)                 // excluded file
	t.Chdir(root)

	exclude := func(path string, isDir bool) bool {
		return isDir && path == "proj/node_modules" || !isDir && strings.HasSuffix(path, ".me")
	}
	opts := Options{Exclude: exclude, MaxFileSize: int64(len(key))}
	tests := []struct {
		roots []string
		want  []string
	}{
		{[]string{"proj"}, []string{"proj/b.env", "proj/sub/deep/a.env"}},
		{[]string{"./proj/"}, []string{"proj/b.env", "proj/sub/deep/a.env"}},
		{[]string{"proj/sub"}, []string{"proj/sub/deep/a.env"}},
		{[]string{"proj/sub/deep/a.env", "proj/b.env"}, []string{"proj/b.env", "proj/sub/deep/a.env"}},
		{[]string{"proj/.git"}, []string{"proj/.git/config"}}, // named explicitly
		{[]string{filepath.Join(root, "proj", "sub")}, []string{filepath.ToSlash(filepath.Join(root, "proj", "sub", "deep", "a.env"))}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.roots, ","), func(t *testing.T) {
			res := scanPaths(t, opts, tt.roots...)
			var got []string
			for _, h := range res.hits {
				got = append(got, h.Path)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("paths = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("size cap", func(t *testing.T) {
		res := scanPaths(t, opts, "proj")
		errs := res.errs["proj/big.txt"]
		if len(errs) != 1 || !errors.Is(errs[0], ErrTooLarge) {
			t.Errorf("errors = %s, want ErrTooLarge for proj/big.txt", res.errText())
		}
		if res.err != nil {
			t.Error(res.err)
		}
	})
}

func TestSymlinks(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	key := []byte("K=" + keyLong + "\n")
	writeFile(t, filepath.Join(root, "in", "a.env"), key)
	writeFile(t, filepath.Join(outside, "secret.env"), key)
	links := map[string]string{
		filepath.Join(root, "loop"):         root,                                 // loop to the root
		filepath.Join(root, "in", "self"):   ".",                                  // loop to itself
		filepath.Join(root, "in", "up"):     "..",                                 // loop to parent
		filepath.Join(root, "out"):          outside,                              // leaves the root
		filepath.Join(root, "out.env"):      filepath.Join(outside, "secret.env"), // file out of root
		filepath.Join(root, "dup.env"):      filepath.Join(root, "in", "a.env"),   // file inside root
		filepath.Join(root, "dangling.env"): filepath.Join(base, "nope"),
	}
	for l, target := range links {
		if err := os.Symlink(target, l); err != nil {
			t.Skipf("symlinks: %v", err)
		}
	}
	res := scanPaths(t, Options{}, root)
	want := filepath.ToSlash(filepath.Join(root, "in", "a.env"))
	if len(res.hits) != 1 || res.hits[0].Path != want {
		t.Errorf("hits = %v, want only %s", res.hits, want)
	}
	if len(res.errs) != 0 || res.err != nil {
		t.Errorf("errors: %v %s", res.err, res.errText())
	}

	// A root that is itself a symlink is followed, reported as given.
	rootLink := filepath.Join(base, "rootlink")
	if err := os.Symlink(root, rootLink); err != nil {
		t.Fatal(err)
	}
	res = scanPaths(t, Options{}, rootLink)
	want = filepath.ToSlash(filepath.Join(rootLink, "in", "a.env"))
	if len(res.hits) != 1 || res.hits[0].Path != want {
		t.Errorf("symlinked root: hits = %v, want only %s", res.hits, want)
	}
	res = scanPaths(t, Options{}, filepath.Join(root, "out.env"))
	if len(res.hits) != 1 {
		t.Errorf("symlinked file named as root: hits = %v, want 1", res.hits)
	}
}

func TestErrorsDoNotStopTheScan(t *testing.T) {
	root := t.TempDir()
	key := []byte("K=" + keyLong + "\n")
	writeFile(t, filepath.Join(root, "good.env"), key)
	writeFile(t, filepath.Join(root, "vanishes.env"), key)
	writeFile(t, filepath.Join(root, "zz", "later.env"), key)
	missing := filepath.Join(root, "missing")

	// A file removed between the walk and its opening.
	exclude := func(path string, isDir bool) bool {
		if strings.HasSuffix(path, "vanishes.env") {
			os.Remove(filepath.FromSlash(path))
		}
		return false
	}
	res := scanPaths(t, Options{Exclude: exclude, Workers: 1}, missing, root)
	if got := len(res.hits); got != 2 {
		t.Errorf("hits = %v, want good.env and zz/later.env", res.hits)
	}
	for _, p := range []string{filepath.ToSlash(missing), filepath.ToSlash(filepath.Join(root, "vanishes.env"))} {
		if errs := res.errs[p]; len(errs) != 1 || !errors.Is(errs[0], os.ErrNotExist) {
			t.Errorf("errors for %s = %v, want one not-exist", p, errs)
		}
	}

	t.Run("unreadable by permissions", func(t *testing.T) {
		if os.Geteuid() == 0 || runtime.GOOS == "windows" {
			t.Skip("root reads everything; covered by the injected read error below")
		}
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "a", "locked.env"), key)
		writeFile(t, filepath.Join(dir, "noread.env"), key)
		writeFile(t, filepath.Join(dir, "ok.env"), key)
		os.Chmod(filepath.Join(dir, "noread.env"), 0)
		os.Chmod(filepath.Join(dir, "a"), 0)
		t.Cleanup(func() { os.Chmod(filepath.Join(dir, "a"), 0o755) })
		res := scanPaths(t, Options{}, dir)
		if len(res.hits) != 1 {
			t.Errorf("hits = %v, want ok.env", res.hits)
		}
		if len(res.errs) != 2 {
			t.Errorf("errors = %s, want 2", res.errText())
		}
	})

	t.Run("read error mid-file", func(t *testing.T) {
		dir := t.TempDir()
		big := boundaryCase(3*4096, keyLong) // the key is in the 4th chunk
		writeFile(t, filepath.Join(dir, "bad.env"), big)
		writeFile(t, filepath.Join(dir, "ok.env"), key)
		s := New(Options{Paths: []string{dir}})
		var got []string
		s.opts.OnError = func(path string, err error) { got = append(got, path+": "+err.Error()) }
		s.open = func(j job) (file, error) {
			f, err := openFile(j)
			if err == nil && strings.HasSuffix(j.path, "bad.env") {
				return &failingFile{file: f, after: 5000}, nil
			}
			return f, err
		}
		res := runSized(t, 4096, func(sources.ErrorHandler) sources.Source { return s })
		if len(res.hits) != 1 || !strings.HasSuffix(res.hits[0].Path, "ok.env") {
			t.Errorf("hits = %v, want ok.env only", res.hits)
		}
		if len(got) != 1 || !strings.Contains(got[0], "bad.env: read: ") || !strings.Contains(got[0], "input/output error") {
			t.Errorf("errors = %q", got)
		}
	})

	t.Run("without OnError the errors are returned", func(t *testing.T) {
		s := New(Options{Paths: []string{missing, root}})
		var n atomic.Int32 // yield is called from several workers at once
		err := s.Chunks(context.Background(), sources.Chunker{}, func(sources.Chunk) error { n.Add(1); return nil })
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), filepath.ToSlash(missing)) {
			t.Errorf("err = %v", err)
		}
		if n.Load() != 2 {
			t.Errorf("%d chunks, want 2", n.Load())
		}
	})
}

// failingFile fails with EIO after a number of bytes.
type failingFile struct {
	file
	after int
	read  int
}

func (f *failingFile) Read(p []byte) (int, error) {
	if f.read >= f.after {
		return 0, &os.PathError{Op: "read", Path: "bad.env", Err: syscall.EIO}
	}
	p = p[:min(len(p), f.after-f.read)]
	n, err := f.file.Read(p)
	f.read += n
	return n, err
}

// TestChangingFiles truncates and grows files while they are read.
func TestChangingFiles(t *testing.T) {
	dir := t.TempDir()
	const size = 4096
	shrink := filepath.Join(dir, "shrink.txt")
	grow := filepath.Join(dir, "grow.txt")
	zipPath := filepath.Join(dir, "shrink.zip")
	// The keys sit past the first chunk.
	writeFile(t, shrink, boundaryCase(5*size, keyLong))
	writeFile(t, grow, boundaryCase(2*size, keyLong2))
	filler := bytes.Repeat([]byte("filler line\n"), 2000)
	writeFile(t, zipPath, makeZip(t, member{name: "first.txt", data: filler, store: true}, member{name: "second.env", data: []byte("K=" + keyLong + "\n")}))

	var once [3]atomic.Bool
	res := runSized(t, size, func(onError sources.ErrorHandler) sources.Source {
		src := New(Options{Paths: []string{dir}, OnError: onError})
		return chunkHook{src, func(c sources.Chunk) {
			switch {
			case c.Origin.Path == filepath.ToSlash(shrink) && once[0].CompareAndSwap(false, true):
				if err := os.Truncate(shrink, 100); err != nil {
					t.Error(err)
				}
			case c.Origin.Path == filepath.ToSlash(grow) && once[1].CompareAndSwap(false, true):
				f, err := os.OpenFile(grow, os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Error(err)
					return
				}
				f.Write(bytes.Repeat([]byte("K="+keyLong+"\n"), 10000))
				f.Close()
			case strings.HasPrefix(c.Origin.Path, filepath.ToSlash(zipPath)) && once[2].CompareAndSwap(false, true):
				if err := os.Truncate(zipPath, 200); err != nil {
					t.Error(err)
				}
			}
		}}
	})
	if res.err != nil {
		t.Fatal(res.err)
	}
	// The grown file is read to its size at open: its own key only.
	if len(res.hits) != 1 || res.hits[0].Key != keyLong2 {
		t.Errorf("hits = %v, want the grown file's original key only", res.hits)
	}
	// The shrunk text file just ends; the shrunk zip reports its damage.
	if len(res.errs[filepath.ToSlash(shrink)]) != 0 {
		t.Errorf("shrunk file errors: %s", res.errText())
	}
	var zipErrs int
	for p := range res.errs {
		if strings.HasPrefix(p, filepath.ToSlash(zipPath)) {
			zipErrs++
		}
	}
	if zipErrs == 0 {
		t.Errorf("no error for the zip truncated while read: %s", res.errText())
	}
}

// chunkHook calls hook before yielding each chunk.
type chunkHook struct {
	sources.Source
	hook func(sources.Chunk)
}

func (h chunkHook) Chunks(ctx context.Context, split sources.Chunker, yield func(sources.Chunk) error) error {
	return h.Source.Chunks(ctx, split, func(c sources.Chunk) error {
		h.hook(c)
		return yield(c)
	})
}

func TestYieldErrorStops(t *testing.T) {
	dir := t.TempDir()
	for i := range 50 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("f%d", i)), []byte("data"))
	}
	stop := errors.New("stop")
	var calls atomic.Int32
	err := New(Options{Paths: []string{dir}, Workers: 2}).Chunks(context.Background(), sources.Chunker{}, func(sources.Chunk) error {
		calls.Add(1)
		return stop
	})
	if !errors.Is(err, stop) {
		t.Errorf("err = %v, want %v", err, stop)
	}
	if n := calls.Load(); n > 2 {
		t.Errorf("yield called %d times after failing, want at most one per worker", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = New(Options{Paths: []string{dir}}).Chunks(ctx, sources.Chunker{}, func(sources.Chunk) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

// TestStreamingMemory scans a 128 MiB single-line file (sparse, with a key
// at its end) and checks the scan allocated a bounded amount, not the file.
func TestStreamingMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 128 MiB")
	}
	const size = 128 << 20
	path := filepath.Join(t.TempDir(), "huge.bin")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	line := []byte("a=" + keyLong)
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(line, size-int64(len(line))); err != nil {
		t.Fatal(err)
	}
	f.Close()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := scanPaths(t, Options{Workers: 2}, path)
	runtime.ReadMemStats(&after)
	if len(res.hits) != 1 || res.hits[0].Line != 1 || res.hits[0].Col != size-len(keyLong)+1 {
		t.Fatalf("hits = %v", res.hits)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("scanning a %d MiB file allocated %d MiB", size>>20, alloc>>20)
	}
}

// TestReaderStreams checks NewReader on a stream longer than any buffer:
// what it allocates does not grow with the input.
func TestReaderStreams(t *testing.T) {
	const size = 64 << 20
	r := io.MultiReader(io.LimitReader(zeros{}, size), strings.NewReader("x="+keyLong))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := run(t, func(onError sources.ErrorHandler) sources.Source {
		return NewReader(r, "-", "stdin", Options{OnError: onError})
	})
	runtime.ReadMemStats(&after)
	if len(res.hits) != 1 || res.hits[0].Col != size+3 || res.hits[0].Kind != "stdin" || res.hits[0].Path != "-" {
		t.Fatalf("hits = %v", res.hits)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("a %d MiB stream allocated %d MiB", size>>20, alloc>>20)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
