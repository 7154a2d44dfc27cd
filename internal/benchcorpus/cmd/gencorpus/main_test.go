package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/benchcorpus"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1234", 1234, true},
		{"20M", 20 << 20, true},
		{"20MiB", 20 << 20, true},
		{"20mb", 20 << 20, true},
		{"1GiB", 1 << 30, true},
		{"1.5G", 3 << 29, true},
		{"2K", 2048, true},
		{"", 0, false},
		{"-1M", 0, false},
		{"lots", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestGenerateVerify runs the command end to end: a report holding exactly
// the planted keys verifies (exit 0); one missing a key fails (exit 1);
// unreadable input is an error (exit 2).
func TestGenerateVerify(t *testing.T) {
	dir := t.TempDir()
	truth := filepath.Join(dir, "truth.jsonl")
	var out, errb bytes.Buffer
	if code := run([]string{"generate", "-out", filepath.Join(dir, "corpus"), "-truth", truth, "-size", "1MiB", "-seed", "3"}, &out, &errb); code != 0 {
		t.Fatalf("generate: exit %d: %s", code, errb.String())
	}
	f, err := os.Open(truth)
	if err != nil {
		t.Fatal(err)
	}
	es, err := benchcorpus.ReadTruth(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var report bytes.Buffer
	enc := json.NewEncoder(&report)
	n := 0
	for _, e := range es {
		if e.Type == benchcorpus.TypePlanted {
			n++
			enc.Encode(map[string]any{"rule_id": e.Rule, "fingerprint": e.Fingerprint, "path": "corpus/" + e.Path, "line": e.Line, "column": e.Column})
		}
	}
	lines := strings.SplitAfter(report.String(), "\n")
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, findings string
		code           int
	}{
		{"all", write("all.jsonl", report.String()), 0},
		{"one missing", write("missing.jsonl", strings.Join(lines[1:], "")), 1},
		{"absent file", filepath.Join(dir, "nope.jsonl"), 2},
		{"not findings", write("bad.jsonl", "{}\n"), 2},
	} {
		out.Reset()
		errb.Reset()
		if code := run([]string{"verify", "-truth", truth, "-findings", tc.findings}, &out, &errb); code != tc.code {
			t.Errorf("%s: exit %d, want %d; out %s err %s", tc.name, code, tc.code, out.String(), errb.String())
		}
	}
	if n == 0 {
		t.Fatal("no planted keys")
	}
	if code := run([]string{"bogus"}, &out, &errb); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
}
