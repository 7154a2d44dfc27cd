package files

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bks-dev/bks/sources"
)

func limitErrors(res result) []*LimitError {
	var out []*LimitError
	for _, es := range res.errs {
		for _, e := range es {
			var le *LimitError
			if errors.As(e, &le) {
				out = append(out, le)
			}
		}
	}
	return out
}

func TestArchiveLimits(t *testing.T) {
	env := []byte("K=" + keyLong + "\n")
	zerosMiB := func(n int) []byte { return make([]byte, n<<20) }

	// nestedZip wraps inner in depth layers of zip, the innermost holding
	// the key.
	nestedZip := func(depth int) []byte {
		data := makeZip(t, member{name: "key.env", data: env})
		for i := 1; i < depth; i++ {
			data = makeZip(t, member{name: fmt.Sprintf("l%d.zip", i), data: data})
		}
		return data
	}
	// recursive is a 42.zip-like bomb: every level holds fan copies of the
	// level below; the leaves are MiBs of zeros.
	recursive := func(levels, fan int) []byte {
		data := makeZip(t, member{name: "zeros", data: zerosMiB(2)})
		for l := 0; l < levels; l++ {
			var ms []member
			for i := range fan {
				ms = append(ms, member{name: fmt.Sprintf("%d.zip", i), data: data})
			}
			data = makeZip(t, ms...)
		}
		return data
	}
	manyEntries := func(n int) []byte {
		var ms []member
		for i := range n {
			ms = append(ms, member{name: fmt.Sprintf("f%03d", i), data: []byte("x")})
		}
		ms = append(ms, member{name: "last.env", data: env})
		return makeZip(t, ms...)
	}

	tests := []struct {
		name      string
		data      []byte
		limits    ArchiveLimits
		wantLimit string // "" for none
		wantIn    string // the archive the error names
		wantMore  string // the archive a MaxRatio summary names
		wantHits  []string
	}{
		{
			name:      "ratio: the bomb member is cut, the next one scanned",
			data:      makeZip(t, member{name: "bomb.bin", data: zerosMiB(4)}, member{name: "after.env", data: env}),
			limits:    ArchiveLimits{RatioWindow: 1 << 20},
			wantLimit: "MaxRatio", wantIn: "a.zip!bomb.bin",
			wantHits: []string{"a.zip!after.env"},
		},
		{
			// The repro: a repetitive log expands more than
			// MaxRatio, but within the ratio window it is not a bomb.
			name:     "a 2 MiB repetitive log: the key after 1 MiB is found",
			data:     makeZip(t, member{name: "app.log", data: append(repetitiveLog(2<<20), env...)}),
			wantHits: []string{"a.zip!app.log"},
		},
		{
			name:      "a bomb past the default window is cut, a small sibling scanned",
			data:      makeZip(t, member{name: "bomb.bin", data: zerosMiB(DefaultRatioWindow>>20 + 4)}, member{name: "after.env", data: env}),
			wantLimit: "MaxRatio", wantIn: "a.zip!bomb.bin",
			wantHits: []string{"a.zip!after.env"},
		},
		{
			name:      "ratio window set smaller",
			data:      makeZip(t, member{name: "app.log", data: append(repetitiveLog(2<<20), env...)}),
			limits:    ArchiveLimits{RatioWindow: 1 << 20},
			wantLimit: "MaxRatio", wantIn: "a.zip!app.log",
		},
		{
			name:      "ratio of a gzip layer",
			data:      gz(t, zerosMiB(4)),
			limits:    ArchiveLimits{RatioWindow: 1 << 20},
			wantLimit: "MaxRatio", wantIn: "a.zip",
		},
		{
			name:     "compressible but under the floor",
			data:     makeZip(t, member{name: "small", data: append(zerosMiB(1)[:1<<19], env...)}),
			wantHits: []string{"a.zip!small"},
		},
		{
			name:     "ratio limit off",
			data:     makeZip(t, member{name: "z", data: append(zerosMiB(4), env...)}),
			limits:   ArchiveLimits{MaxRatio: -1},
			wantHits: []string{"a.zip!z"},
		},
		{
			name:      "total bytes",
			data:      makeZip(t, member{name: "a.env", data: env}, member{name: "b", data: bytes.Repeat([]byte("abcdefgh\n"), 300_000)}, member{name: "c.env", data: env}),
			limits:    ArchiveLimits{MaxTotalBytes: 1 << 20},
			wantLimit: "MaxTotalBytes", wantIn: "a.zip",
			wantHits: []string{"a.zip!a.env"},
		},
		{
			name:      "42.zip-like recursive bomb",
			data:      recursive(4, 8), // 8^4 leaves of 2 MiB = 8 GiB
			limits:    ArchiveLimits{MaxTotalBytes: 16 << 20, MaxRatio: -1},
			wantLimit: "MaxTotalBytes", wantIn: "a.zip",
		},
		{
			name:      "many bomb members: reported twice, not per member",
			data:      makeZip(t, member{name: "b1", data: zerosMiB(3)}, member{name: "b2", data: zerosMiB(3)}, member{name: "b3", data: zerosMiB(3)}, member{name: "k.env", data: env}),
			limits:    ArchiveLimits{RatioWindow: 1 << 20},
			wantLimit: "MaxRatio", wantIn: "a.zip!b1", wantMore: "a.zip",
			wantHits: []string{"a.zip!k.env"},
		},
		{
			name:      "entries",
			data:      manyEntries(20),
			limits:    ArchiveLimits{MaxEntries: 10},
			wantLimit: "MaxEntries", wantIn: "a.zip",
		},
		{
			name:     "depth within the default",
			data:     nestedZip(8),
			wantHits: []string{"a.zip!l7.zip!l6.zip!l5.zip!l4.zip!l3.zip!l2.zip!l1.zip!key.env"},
		},
		{
			name:      "too deep",
			data:      nestedZip(9),
			wantLimit: "MaxDepth", wantIn: "a.zip!l8.zip!l7.zip!l6.zip!l5.zip!l4.zip!l3.zip!l2.zip!l1.zip",
		},
		{
			name:      "depth counts gzip layers",
			data:      makeZip(t, member{name: "b.tgz", data: gz(t, makeTar(t, member{name: "c.env", data: env}))}),
			limits:    ArchiveLimits{MaxDepth: 2},
			wantLimit: "MaxDepth", wantIn: "a.zip!b.tgz",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "a.zip"), tt.data)
			writeFile(t, filepath.Join(dir, "z.env"), env) // scanned after the archive
			res := scanPaths(t, Options{ArchiveLimits: tt.limits, Workers: 1}, dir)
			if res.err != nil {
				t.Fatal(res.err)
			}
			prefix := filepath.ToSlash(dir) + "/"
			var got []string
			for _, h := range res.hits {
				got = append(got, strings.TrimPrefix(h.Path, prefix))
			}
			want := append(append([]string(nil), tt.wantHits...), "z.env")
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("hits = %v, want %v", got, want)
			}
			les := limitErrors(res)
			if tt.wantLimit == "" {
				if len(res.errs) != 0 {
					t.Errorf("errors: %s", res.errText())
				}
				return
			}
			wantN := 1
			if tt.wantMore != "" {
				wantN = 2
			}
			if len(les) != wantN || len(res.errs) != wantN {
				t.Fatalf("errors = %s, want %d %s", res.errText(), wantN, tt.wantLimit)
			}
			sort.Slice(les, func(i, j int) bool { return les[i].More < les[j].More })
			if tt.wantMore != "" {
				if m := les[1]; m.Limit != "MaxRatio" || m.Archive != prefix+tt.wantMore || m.More != 2 || !strings.Contains(m.Error(), "2 more members") {
					t.Errorf("summary = %+v (%v)", m, m)
				}
			}
			le := les[0]
			if le.Limit != tt.wantLimit || le.Archive != prefix+tt.wantIn {
				t.Errorf("limit error = %+v, want %s on %s", le, tt.wantLimit, tt.wantIn)
			}
			if msg := le.Error(); !strings.Contains(msg, le.Archive) || !strings.Contains(msg, tt.wantLimit) || !errors.Is(le, ErrArchiveLimit) {
				t.Errorf("message %q names neither archive nor limit", msg)
			}
		})
	}
}

func TestCorruptArchives(t *testing.T) {
	env := []byte("K=" + keyLong + "\n")
	good := makeZip(t, member{name: "a.env", data: env, store: true})
	tgz := gz(t, makeTar(t, member{name: "a.env", data: env}, member{name: "b.env", data: env}))
	tests := []struct {
		name     string
		data     []byte
		wantHits int
		wantErr  string
	}{
		// A zip whose central directory is cut off: reported, its raw
		// bytes still scanned (the stored member is found).
		{"truncated zip", good[:len(good)-30], 1, "open zip (scanned as raw bytes)"},
		{"zip magic only", []byte("PK\x03\x04 not really a zip, K=" + keyLong), 1, "open zip"},
		{"truncated tgz", tgz[:len(tgz)-40], 1, "read"},
		{"gzip magic, bad header", []byte("\x1f\x8b\x08\xff"), 0, "open gzip"},
		{"tar with bad second header", append(makeTar(t, member{name: "a.env", data: env})[:1024], bytes.Repeat([]byte{'x'}, 1024)...), 1, "tar"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := scanBytes(t, Options{}, "a", tt.data)
			if len(res.hits) != tt.wantHits {
				t.Errorf("hits = %v, want %d", res.hits, tt.wantHits)
			}
			if !strings.Contains(res.errText(), tt.wantErr) {
				t.Errorf("errors = %q, want %q", res.errText(), tt.wantErr)
			}
		})
	}
}

func TestSniffArchive(t *testing.T) {
	env := []byte("K=v\n")
	tar := makeTar(t, member{name: "a", data: env})
	v7 := append([]byte(nil), tar...)
	copy(v7[257:], make([]byte, 8)) // drop the ustar magic: a v7 header
	var sum int64
	for i, c := range v7[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	copy(v7[148:], fmt.Sprintf("%06o\x00 ", sum))
	tests := []struct {
		name string
		h    []byte
		want format
	}{
		{"zip", makeZip(t, member{name: "a", data: env}), formatZip},
		{"empty zip", makeZip(t), formatZip},
		{"gzip", gz(t, env), formatGzip},
		{"tar", tar, formatTar},
		{"v7 tar", v7, formatTar},
		{"text", bytes.Repeat([]byte("hello world\n"), 100), formatNone},
		{"zeros", make([]byte, 1024), formatNone},
		{"short", []byte("PK"), formatNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h[:min(len(tt.h), headLen)]
			if got := sniffArchive(h); got != tt.want {
				t.Errorf("sniffArchive = %d, want %d", got, tt.want)
			}
		})
	}
}

// FuzzArchives feeds arbitrary bytes through the content pipeline (archive
// sniffing, zip/tar/gzip readers, UTF-16 detection) with tight limits: it
// must not panic, and every chunk must stay inside its buffer.
func FuzzArchives(f *testing.F) {
	env := []byte("K=" + keyLong + "\n")
	f.Add(makeZip(f, member{name: "a.env", data: env}))
	f.Add(makeTar(f, member{name: "a.env", data: env}))
	f.Add(gz(f, makeTar(f, member{name: "a.env", data: env})))
	f.Add(utf16("K="+keyLong, false, true))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("BZh91AY&SY\xe5\x7d\x12\x8f\x00\x00\x01\x4c\x80\x00\x10\x00\x02\x00\x08\x01\x00\x20\x00\x21\x9a\x68\x33\x4d\x17\x3c\x5d\xc9\x14\xe1\x42\x43\x95\xf4\x4a\x3c")) // bzip2 -9 of "K=v\n"
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{ArchiveLimits: ArchiveLimits{MaxTotalBytes: 1 << 20, MaxEntries: 100}, OnError: func(string, error) {}}
		src := NewReader(bytes.NewReader(data), "x", "", opts)
		err := src.Chunks(t.Context(), sources.Chunker{Size: 512, Overlap: 64}, func(c sources.Chunk) error {
			if c.Limit < 0 || c.Limit > len(c.Data) || len(c.Data) > 512+64 {
				t.Fatalf("chunk limit %d of %d bytes", c.Limit, len(c.Data))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestTruncatedArchives is the issue's "a truncated gzip passes": `head -c
// 30000` of a gzip, tar or tar.gz still yields what was readable, and
// says "truncated archive".
func TestTruncatedArchives(t *testing.T) {
	env := []byte("K=" + keyLong + "\n")
	// Text that compresses poorly enough that 30000 bytes of gzip are a
	// fraction of it.
	var log bytes.Buffer
	for i := 0; log.Len() < 400_000; i++ {
		fmt.Fprintf(&log, "%08x line %d of a log that goes on %x\n", i*2654435761, i, i*i*40503)
	}
	bigTar := makeTar(t, member{name: "a.env", data: env}, member{name: "big.log", data: log.Bytes()})
	head := func(b []byte, n int) []byte {
		if len(b) <= n {
			t.Fatalf("test data of %d bytes is not longer than %d", len(b), n)
		}
		return b[:n]
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"gzip", head(gz(t, append(env, log.Bytes()...)), 30000)},
		{"tar cut in a member", head(bigTar, 30000)},
		{"tar cut in a header", head(bigTar, 512+512+100)},
		{"tar.gz", head(gz(t, bigTar), 30000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := scanBytes(t, Options{}, "a", tt.data)
			if len(res.hits) != 1 {
				t.Errorf("hits = %v, want the key before the cut", res.hits)
			}
			if !strings.Contains(res.errText(), "truncated archive") {
				t.Errorf("errors = %q, want \"truncated archive\"", res.errText())
			}
		})
	}
}

// repetitiveLog is n bytes of an ordinary, very repetitive log: it
// deflates more than 200 times.
func repetitiveLog(n int) []byte {
	line := []byte("2026-12-07T01:00:00Z INFO health check ok status=200 latency_ms=1\n")
	return bytes.Repeat(line, n/len(line)+1)[:n]
}
