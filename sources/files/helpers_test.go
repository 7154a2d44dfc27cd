package files

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/scan"
	"github.com/bks-dev/bks/sources"
)

var (
	engine = detectors.New(detectors.Options{})
	// Keys with fake secrets; never literals.
	keyLong  = testkeys.LongTerm("BedrockAPIKey-ab12", "123456789012", testkeys.Secret(1))
	keyLong2 = testkeys.LongTerm("BedrockAPIKey-cd34", "210987654321", testkeys.Secret(2))
	keyShort = testkeys.ShortTerm(testkeys.ShortTermOptions{
		AccessKeyID: testkeys.AccessKeyID("AKIA", "123456789012", 3),
		SecretKey:   "fake",
		Region:      "us-east-1",
		Issued:      time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC),
		Expires:     43200,
	})
)

// hit is the part of a finding these tests check.
type hit struct {
	Path       string
	Line, Col  int
	Key        string
	Transcoded string
	Kind       string
}

func (h hit) String() string {
	return fmt.Sprintf("%s:%d:%d %s…%s %s %s", h.Path, h.Line, h.Col, h.Key[:4], h.Key[len(h.Key)-4:], h.Transcoded, h.Kind)
}

type result struct {
	hits []hit
	errs map[string][]error // by path
	err  error              // returned by Chunks
}

func (r *result) errText() string {
	var b strings.Builder
	for p, es := range r.errs {
		for _, e := range es {
			fmt.Fprintf(&b, "%s: %v\n", p, e)
		}
	}
	return b.String()
}

// run scans src end to end through the scan package and the real engine.
func run(t testing.TB, mk func(onError sources.ErrorHandler) sources.Source) result {
	t.Helper()
	return runSized(t, 0, mk)
}

// runSized is run with chunks of size own bytes (the default if 0).
func runSized(t testing.TB, size int, mk func(onError sources.ErrorHandler) sources.Source) result {
	t.Helper()
	var mu sync.Mutex
	res := result{errs: map[string][]error{}}
	src := mk(func(path string, err error) {
		mu.Lock()
		defer mu.Unlock()
		res.errs[path] = append(res.errs[path], err)
	})
	res.err = scan.Scanner{Engine: engine, ChunkSize: size}.Run(context.Background(), src, func(f findings.Finding) error {
		mu.Lock()
		defer mu.Unlock()
		res.hits = append(res.hits, hit{Path: f.Path, Line: f.Line, Col: f.Column, Key: f.RawKey(), Transcoded: f.Transcoded, Kind: f.Kind})
		return nil
	})
	sort.Slice(res.hits, func(i, j int) bool {
		a, b := res.hits[i], res.hits[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return res
}

func scanPaths(t testing.TB, opts Options, paths ...string) result {
	t.Helper()
	return run(t, func(onError sources.ErrorHandler) sources.Source {
		opts.Paths = paths
		opts.OnError = onError
		return New(opts)
	})
}

func scanBytes(t testing.TB, opts Options, name string, data []byte) result {
	t.Helper()
	return run(t, func(onError sources.ErrorHandler) sources.Source {
		opts.OnError = onError
		return NewReader(bytes.NewReader(data), name, "", opts)
	})
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// member is one entry of a generated archive.
type member struct {
	name  string
	data  []byte
	store bool // zip: no compression
}

func makeZip(t testing.TB, ms ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range ms {
		method := zip.Deflate
		if m.store {
			method = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func makeTar(t testing.TB, ms ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// utf16 encodes ASCII/BMP text, with a BOM if bom.
func utf16(s string, be, bom bool) []byte {
	var out []byte
	put := func(u uint16) {
		if be {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	if bom {
		put(0xFEFF)
	}
	for _, r := range s {
		put(uint16(r))
	}
	return out
}
