package scan_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/rules"
	"github.com/bks-dev/bks/scan"
	"github.com/bks-dev/bks/sources"
)

// BenchmarkChunkFindings scans the files of BKS_BENCH_DIR (e.g. a
// directory of the make-bench AWS-dense corpus, /tmp/bench/aws-dense/docs/sdk;
// its first 64 MB) as `bks detect files` does: the built-in rules, the
// default config's filter, one chunk per file. It measures the per-finding
// work of Scanner.Chunk (finding construction, line counting, filter)
// around the engine; the handler only counts.
func BenchmarkChunkFindings(b *testing.B) {
	dir := os.Getenv("BKS_BENCH_DIR")
	if dir == "" {
		b.Skip("BKS_BENCH_DIR not set")
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		b.Fatal(err)
	}
	var files [][]byte
	total := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil || len(data) >= sources.DefaultChunkSize {
			continue
		}
		files = append(files, data)
		if total += len(data); total > 64<<20 {
			break
		}
	}
	eng := rules.NewEngine(nil, detectors.Options{})
	filter := rules.NewFilter(nil, nil)
	s := scan.Scanner{Engine: eng, Filter: filter.Apply}
	n := 0
	h := func(findings.Finding) error { n++; return nil }
	b.SetBytes(int64(total))
	for b.Loop() {
		n = 0
		for _, data := range files {
			c := sources.Chunk{Data: data, Limit: len(data), Line: 1, Column: 1, Origin: &location.Location{Path: "f"}}
			if err := s.Chunk(c, h); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n), "findings/op")
}
