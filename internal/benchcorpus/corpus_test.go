package benchcorpus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/scan"
	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/files"
)

// scanDir scans every file under root through the detection pipeline in
// process, as `bks detect files` does: file bytes -> overlapping chunks ->
// engine -> findings.
func scanDir(t *testing.T, root string, chunkSize int) []Found {
	t.Helper()
	eng := detectors.New(detectors.Options{})
	sc := scan.Scanner{Engine: eng, ChunkSize: chunkSize}
	ch := sc.Chunker()
	var mu sync.Mutex
	var out []Found
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		origin := &location.Location{Path: filepath.ToSlash(rel)}
		return ch.SplitBytes(data, origin, func(c sources.Chunk) error {
			return sc.Chunk(c, func(f findings.Finding) error {
				mu.Lock()
				defer mu.Unlock()
				out = append(out, Found{Path: f.Path, Line: f.Line, Column: f.Column, Rule: f.RuleID, Fingerprint: f.Fingerprint})
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// scanFiles scans root through the files source bks detect files uses.
func scanFiles(t *testing.T, root string, chunkSize int) []Found {
	t.Helper()
	eng := detectors.New(detectors.Options{})
	src := files.New(files.Options{Paths: []string{root}})
	var mu sync.Mutex
	var out []Found
	err := scan.Scanner{Engine: eng, ChunkSize: chunkSize}.Run(context.Background(), src, func(f findings.Finding) error {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, Found{Path: f.Path, Line: f.Line, Column: f.Column, Rule: f.RuleID, Fingerprint: f.Fingerprint})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCorpusGroundTruth is the must-show of the benchmark: on a generated
// corpus, every planted key is found at its place with its fingerprint and
// no decoy (nor anything else) is reported.
func TestCorpusGroundTruth(t *testing.T) {
	t.Parallel()
	size := int64(20 << 20)
	if testing.Short() {
		size = 4 << 20
	}
	root := t.TempDir()
	truth, st, err := Generate(root, Options{Size: size, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	if st.Bytes < size || st.Planted < len(places)*len(variants) || st.Decoys < len(decoyClasses)*3 {
		t.Fatalf("corpus too small: %+v", st)
	}
	checkCoverage(t, truth)
	// A small chunk size puts many keys across chunk boundaries (the big
	// minified file has keys planted across every 64 KiB multiple).
	for _, tc := range []struct {
		name string
		scan func(*testing.T, string, int) []Found
		size int
	}{
		{"chunker 64KiB", scanDir, 64 << 10},
		{"files source", scanFiles, 0},
	} {
		res := Verify(truth, tc.scan(t, root, tc.size))
		if !res.OK() {
			t.Errorf("%s: %s", tc.name, res)
		}
		t.Logf("%s: %s", tc.name, res)
	}
}

// checkCoverage asserts the corpus holds every place, variant and decoy
// class, CRLF files, and keys across chunk boundaries.
func checkCoverage(t *testing.T, truth []Entry) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range truth {
		seen[e.Type+"/"+e.Variant] = true
		seen[e.Type+"/place/"+e.Place] = true
		if e.CRLF {
			seen[e.Type+"/crlf"] = true
		}
	}
	var want []string
	for _, p := range places {
		want = append(want, TypePlanted+"/place/"+p.name)
	}
	for _, v := range variants {
		want = append(want, TypePlanted+"/"+v)
	}
	for _, c := range append(decoyClasses, DecoyProse) {
		want = append(want, TypeDecoy+"/"+c)
	}
	want = append(want, TypePlanted+"/crlf", TypePlanted+"/place/minified-chunk-boundary")
	for _, w := range want {
		if !seen[w] {
			t.Errorf("corpus has no %s", w)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	digest := func(workers int) ([]Entry, [32]byte) {
		root := t.TempDir()
		truth, _, err := Generate(root, Options{Size: 2 << 20, Seed: 7, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			h.Write([]byte(rel + "\x00"))
			h.Write(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return truth, [32]byte(h.Sum(nil))
	}
	t1, d1 := digest(1)
	t2, d2 := digest(4)
	if d1 != d2 {
		t.Error("same seed and size gave different files")
	}
	var b1, b2 bytes.Buffer
	if err := WriteTruth(&b1, t1); err != nil {
		t.Fatal(err)
	}
	if err := WriteTruth(&b2, t2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Error("same seed and size gave a different ground truth")
	}
	back, err := ReadTruth(&b1)
	if err != nil || len(back) != len(t1) || back[0] != t1[0] {
		t.Fatalf("ground truth does not read back: %d entries, %v", len(back), err)
	}
}

func TestGenerateRefusesNonEmptyDir(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Generate(root, Options{Size: 1 << 20}); err == nil {
		t.Fatal("Generate wrote into a non-empty directory")
	}
}

func TestOneLine(t *testing.T) {
	file := filepath.Join(t.TempDir(), "huge.min.js")
	size := int64(3<<20 + 12345)
	truth, err := GenerateOneLine(file, size, 3)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != size || bytes.IndexByte(data, '\n') >= 0 {
		t.Fatalf("want %d bytes on one line, got %d bytes, newline at %d", size, len(data), bytes.IndexByte(data, '\n'))
	}
	if len(truth) != 3 || truth[0].Column != 8 || truth[2].Column < int(size)-3000 {
		t.Fatalf("keys not at start, middle and end: %+v", truth)
	}
	res := Verify(truth, scanDir(t, filepath.Dir(file), 1<<20))
	if !res.OK() {
		t.Error(res)
	}
}

// TestKeysAndDecoysAgainstSpec checks the generator's own ground truth: each
// variant decodes per KEYS.md (independently of the detectors) and in the
// detectors, and no decoy does in either.
func TestKeysAndDecoysAgainstSpec(t *testing.T) {
	r := rng(9, 9)
	for _, v := range variants {
		for range 20 {
			k, rule := makeKey(v, r)
			if !SpecValid(k) {
				t.Errorf("%s key fails the spec check", v)
			}
			dk, err := detectors.Decode(k, detectors.DecodeOptions{})
			if err != nil {
				t.Errorf("%s key does not decode: %v", v, err)
			}
			if wantLong := strings.HasPrefix(v, "long") || v == VariantClaudeLongTerm; (dk.Type == detectors.TypeLongTerm) != wantLong || rule == "" {
				t.Errorf("%s key decodes as %q (rule %s)", v, dk.Type, rule)
			}
		}
	}
	for _, c := range decoyClasses {
		for range 20 {
			d := makeDecoy(c, r)
			if SpecValid(d) {
				t.Errorf("%s decoy passes the spec check", c)
			}
			if _, err := detectors.Decode(d, detectors.DecodeOptions{}); err == nil {
				t.Errorf("%s decoy decodes", c)
			}
		}
	}
}

func TestVerify(t *testing.T) {
	truth := []Entry{
		{Type: TypePlanted, Path: "a/b.go", Line: 3, Column: 5, Rule: "r", Fingerprint: "f1"},
		{Type: TypePlanted, Path: "a/c.env", Line: 1, Column: 1, Rule: "r", Fingerprint: "f2"},
		{Type: TypeDecoy, Path: "a/b.go", Line: 9, Column: 2},
	}
	good := []Found{
		{Path: "/tmp/x/corpus/a/b.go", Line: 3, Column: 5, Rule: "r", Fingerprint: "f1"},
		{Path: `corpus/a/c.env`, Line: 1, Column: 1, Rule: "r", Fingerprint: "f2"},
	}
	if res := Verify(truth, good); !res.OK() {
		t.Fatalf("good findings rejected: %s", res)
	}
	tests := []struct {
		name  string
		found []Found
		check func(*Result) bool
	}{
		{"missing", good[:1], func(r *Result) bool { return len(r.Missing) == 1 }},
		{"decoy", append(good[:2:2], Found{Path: "a/b.go", Line: 9, Column: 2, Rule: "r", Fingerprint: "zz"}), func(r *Result) bool { return len(r.DecoysReported) == 1 }},
		{"unexpected", append(good[:2:2], Found{Path: "a/z.go", Line: 1, Rule: "r", Fingerprint: "f1"}), func(r *Result) bool { return len(r.Unexpected) == 1 }},
		{"duplicate", append(good[:2:2], good[0]), func(r *Result) bool { return len(r.Duplicates) == 1 }},
		{"wrong fingerprint", []Found{{Path: "a/b.go", Line: 3, Column: 5, Rule: "r", Fingerprint: "f9"}, good[1]}, func(r *Result) bool { return len(r.Missing) == 1 && len(r.Unexpected) == 1 }},
		{"wrong column", []Found{{Path: "a/b.go", Line: 3, Column: 6, Rule: "r", Fingerprint: "f1"}, good[1]}, func(r *Result) bool { return len(r.WrongDetail) == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Verify(truth, tt.found)
			if res.OK() || !tt.check(res) {
				t.Errorf("got %s", res)
			}
		})
	}
}

func TestReadFindings(t *testing.T) {
	in := `{"rule_id":"bedrock-long-term","fingerprint":"ab","path":"x/y","line":2,"column":3,"key":{"type":"long-term"}}

{"rule_id":"bedrock-short-term","fingerprint":"cd","path":"p","line":1,"column":1,"locations":[{"path":"p","line":1,"column":1},{"path":"q","line":7,"column":9}]}
`
	got, err := ReadFindings(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Found{
		{Path: "x/y", Line: 2, Column: 3, Rule: "bedrock-long-term", Fingerprint: "ab"},
		{Path: "p", Line: 1, Column: 1, Rule: "bedrock-short-term", Fingerprint: "cd"},
		{Path: "q", Line: 7, Column: 9, Rule: "bedrock-short-term", Fingerprint: "cd"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("finding %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{`{"path":"x"}`, `not json`, `{"rule_id":"r"}`} {
		if _, err := ReadFindings(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadFindings(%q) accepted it", bad)
		}
	}
}

func FuzzReadFindings(f *testing.F) {
	f.Add([]byte(`{"rule_id":"r","fingerprint":"f","path":"p","line":1,"column":1}`))
	f.Add([]byte(`{"rule_id":"r","fingerprint":"f","locations":[{"path":"p","line":1}]}` + "\n\n{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := ReadFindings(bytes.NewReader(b))
		if err == nil {
			for _, x := range fs {
				if x.Rule == "" || x.Fingerprint == "" {
					t.Fatalf("accepted a finding without rule or fingerprint: %+v", x)
				}
			}
		}
		_, _ = ReadTruth(bytes.NewReader(b))
	})
}

func TestVerifyLinesGitleaks(t *testing.T) {
	truth := []Entry{
		{Type: TypePlanted, Path: "a/b.go", Line: 3, Fingerprint: "f1"},
		{Type: TypePlanted, Path: "a/b.go", Line: 5, Fingerprint: "f2"},
		{Type: TypePlanted, Path: "a/c.go", Line: 1, Fingerprint: "f3"},
		{Type: TypeDecoy, Path: "a/b.go", Line: 9},
		{Type: TypeDecoy, Path: "a/b.go", Line: 10},
		{Type: TypePlanted, Path: "a/m.js", Line: 1, Column: 100, Fingerprint: "f4"},
		{Type: TypeDecoy, Path: "a/m.js", Line: 1, Column: 5000},
		{Type: TypePlanted, Path: "a/m.js", Line: 1, Column: 9000, Fingerprint: "f5"},
	}
	rep := `[{"RuleID":"x","File":"root/a/b.go","StartLine":3,"Secret":"bedrock-api-key-Ym"},
	{"RuleID":"x","File":"root/a/b.go","StartLine":5,"Secret":"bedrock-api-key-Ym"},
	{"RuleID":"x","File":"root/a/b.go","StartLine":9,"Secret":"ABSKxx"},
	{"RuleID":"x","File":"a/m.js","StartLine":1,"StartColumn":101,"Secret":"ABSKyy"},
	{"RuleID":"x","File":"a/m.js","StartLine":1,"StartColumn":7000,"Secret":"ABSKzz"}]`
	found, err := ReadGitleaks(strings.NewReader(rep))
	if err != nil {
		t.Fatal(err)
	}
	got := VerifyLines(truth, found)
	want := LineResult{Planted: 5, PlantedFound: 3, Distinct: 2, Decoys: 3, DecoysFlagged: 1}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := ReadGitleaks(strings.NewReader("{")); err == nil {
		t.Error("ReadGitleaks accepted a broken report")
	}
}
