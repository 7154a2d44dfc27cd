package merge

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/report"
	"github.com/bks-dev/bks/scan"
	"github.com/bks-dev/bks/sources"
)

var update = flag.Bool("update", false, "rewrite golden files")

var eng = detectors.New(detectors.Options{})

func key(seed uint64) string {
	return testkeys.LongTerm(testkeys.ConsoleUser(seed), "123456789012", testkeys.Secret(seed))
}

func shortKey() string {
	return testkeys.ShortTerm(testkeys.ShortTermOptions{
		AccessKeyID: testkeys.AccessKeyID("AKIA", "123456789012", 1),
		SecretKey:   "fake",
		Region:      "us-east-1",
		Issued:      time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Expires:     3600,
	})
}

type place1 struct {
	repo, path, text string
}

// reportOf writes the findings in places as a report of format.
func reportOf(t *testing.T, format string, places []place1) []byte {
	t.Helper()
	var buf bytes.Buffer
	rep, err := report.New(format, &buf, report.Options{ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range places {
		o := &location.Location{Repo: p.repo, Path: p.path, Commit: strings.Repeat("c", 40)}
		data := []byte(p.text)
		err := scan.Scanner{Engine: eng}.Chunk(sources.Chunk{Data: data, Limit: len(data), Line: 1, Column: 1, Origin: o}, func(f findings.Finding) error {
			return rep.Finding(f)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := rep.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Two shards; shard B repeats one finding of A (a resumed run) and holds
// the same key at another place.
func shards() (a, b []place1) {
	k1, k2, k3 := key(1), key(2), shortKey()
	a = []place1{
		{"acme/one", "a.env", "KEY=" + k1 + "\n"},
		{"acme/two", "b.py", "x = '" + k2 + "'\n"},
	}
	b = []place1{
		{"acme/two", "b.py", "x = '" + k2 + "'\n"},
		{"acme/three", "c.txt", "\n\n  " + k2 + "\n"},
		{"acme/four", "d.sh", "export AWS_BEARER_TOKEN_BEDROCK=" + k3 + "\n"},
	}
	return a, b
}

func TestMergeJSONL(t *testing.T) {
	a, b := shards()
	ra, rb := reportOf(t, "jsonl", a), reportOf(t, "jsonl", b)
	var out bytes.Buffer
	st, err := Merge(&out, []Input{{"a", bytes.NewReader(ra)}, {"empty", strings.NewReader("")}, {"b", bytes.NewReader(rb)}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Read != 5 || st.Written != 4 || st.Duplicates != 1 || st.Active != 4 {
		t.Errorf("stats %+v", st)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var repos []string
	for _, l := range lines {
		var f findings.Finding
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatal(err)
		}
		repos = append(repos, f.Repo)
		if strings.Contains(l, key(1)) || strings.Contains(l, key(2)) {
			t.Error("secret in the merged report")
		}
	}
	if got := strings.Join(repos, ","); got != "acme/one,acme/two,acme/three,acme/four" {
		t.Errorf("order %s", got)
	}
	// The lines are the inputs' own lines.
	if !strings.HasPrefix(string(ra), lines[0]+"\n") {
		t.Error("first line rewritten")
	}
	// Merging is idempotent.
	var again bytes.Buffer
	if _, err := Merge(&again, []Input{{"m", bytes.NewReader(out.Bytes())}, {"m2", bytes.NewReader(out.Bytes())}}); err != nil {
		t.Fatal(err)
	}
	if again.String() != out.String() {
		t.Error("merging a merged report with itself changed it")
	}
}

func TestMergeSARIF(t *testing.T) {
	a, b := shards()
	ra, rb := reportOf(t, "sarif", a), reportOf(t, "sarif", b)
	// An empty shard's SARIF has no results and no rules.
	empty := reportOf(t, "sarif", nil)
	var out bytes.Buffer
	st, err := Merge(&out, []Input{{"a", bytes.NewReader(ra)}, {"empty", bytes.NewReader(empty)}, {"b", bytes.NewReader(rb)}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Read != 5 || st.Written != 4 || st.Duplicates != 1 {
		t.Errorf("stats %+v", st)
	}
	var doc struct {
		Runs []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
			} `json:"results"`
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 1 || len(doc.Runs[0].Results) != 4 || len(doc.Runs[0].Tool.Driver.Rules) != 2 {
		t.Fatalf("merged: %+v", doc)
	}
	rules := doc.Runs[0].Tool.Driver.Rules
	for _, r := range doc.Runs[0].Results {
		if rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result of %s points at rule %d (%s)", r.RuleID, r.RuleIndex, rules[r.RuleIndex].ID)
		}
	}
}

// TestMergeSARIFGolden merges fixed shard reports (written by this
// package's -update from the report package's output) against a golden
// merge, so a change of the report format does not move the golden file.
func TestMergeSARIFGolden(t *testing.T) {
	paths := []string{filepath.Join("testdata", "shard-a.sarif"), filepath.Join("testdata", "shard-b.sarif")}
	golden := filepath.Join("testdata", "merged.sarif")
	if *update {
		a, b := shards()
		for i, p := range [][]place1{a, b} {
			if err := os.WriteFile(paths[i], reportOf(t, "sarif", p), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var ins []Input
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, Input{p, bytes.NewReader(data)})
	}
	var out bytes.Buffer
	if _, err := Merge(&out, ins); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("merged SARIF differs from %s (go test ./merge -update)", golden)
	}
}

func TestMergeErrors(t *testing.T) {
	a, _ := shards()
	jl, sa := reportOf(t, "jsonl", a), reportOf(t, "sarif", a)
	cases := []struct {
		name   string
		inputs [][]byte
		want   string
	}{
		{"mixed formats", [][]byte{jl, sa}, "merge reports of one format"},
		{"json array", [][]byte{[]byte("[\n{}\n]")}, "cannot be merged"},
		{"text", [][]byte{[]byte("bks found 1 key")}, "not a bks"},
		{"bad line", [][]byte{append(append([]byte{}, jl...), "{oops\n"...)}, "x:3"},
		{"no fingerprint", [][]byte{[]byte(`{"rule_id":"x"}` + "\n")}, "no fingerprint"},
		{"bad sarif", [][]byte{[]byte(`{"version":"2.1.0","runs":[{"tool":3}]}`)}, "tool"},
		{"sarif 1", [][]byte{[]byte(`{"version":"1.0.0","runs":[]}`)}, "version"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ins []Input
			for _, in := range tc.inputs {
				ins = append(ins, Input{"x", bytes.NewReader(in)})
			}
			_, err := Merge(&bytes.Buffer{}, ins)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestMergeNothing(t *testing.T) {
	var out bytes.Buffer
	st, err := Merge(&out, []Input{{"e", strings.NewReader("\n")}})
	if err != nil || out.Len() != 0 || st.Written != 0 {
		t.Errorf("%v %q %+v", err, out.String(), st)
	}
}

func FuzzMerge(f *testing.F) {
	f.Add([]byte(`{"rule_id":"r","fingerprint":"f","path":"p","line":1}` + "\n"))
	f.Add([]byte(`{"version":"2.1.0","runs":[{"results":[{"ruleId":"r","ruleIndex":0,"partialFingerprints":{"bksFingerprint/v1":"f"}}],"tool":{"driver":{"name":"bks","rules":[{"id":"r"}]}}}]}`))
	f.Add([]byte(`{"$schema":"x","runs":[]}`))
	f.Add([]byte("[]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		st, err := Merge(&out, []Input{{"a", bytes.NewReader(data)}, {"b", bytes.NewReader(data)}})
		if err != nil {
			return
		}
		if st.Written > st.Read || st.Written+st.Duplicates != st.Read {
			t.Fatalf("stats %+v", st)
		}
		// A merged report merges into itself.
		var again bytes.Buffer
		st2, err := Merge(&again, []Input{{"m", bytes.NewReader(out.Bytes())}})
		if err != nil {
			t.Fatalf("merged output does not merge: %v\n%s", err, out.Bytes())
		}
		if st2.Written != st.Written {
			t.Fatalf("re-merge wrote %d, first merge %d", st2.Written, st.Written)
		}
	})
}

// TestMergeSARIFKeepsIncomplete: a shard whose run did not complete
// (executionSuccessful false) keeps saying so after the merge, whichever
// shard comes first.
func TestMergeSARIFKeepsIncomplete(t *testing.T) {
	a, _ := shards()
	ra := reportOf(t, "sarif", a)
	var buf bytes.Buffer
	rep, err := report.New("sarif", &buf, report.Options{ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	report.MarkIncomplete(rep, "shard b was interrupted")
	if err := rep.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := Merge(&out, []Input{{"a", bytes.NewReader(ra)}, {"b", bytes.NewReader(buf.Bytes())}}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs []struct {
			Invocations []struct {
				ExecutionSuccessful bool `json:"executionSuccessful"`
			} `json:"invocations"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 1 || len(doc.Runs[0].Invocations) != 1 || doc.Runs[0].Invocations[0].ExecutionSuccessful {
		t.Errorf("merged run lost the incomplete shard's invocation:\n%s", out.String())
	}
}
