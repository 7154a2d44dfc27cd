package benchcorpus

import (
	"context"
	"sync"
	"testing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/rules"
	"github.com/bks-dev/bks/scan"
	"github.com/bks-dev/bks/sources/files"
)

// TestAWSCorpusGroundTruth: with bks's default rules (the aws-access-key
// rule and its documentation-examples allowlist), every real-looking id of
// the AWS corpus is reported once, paired with its own secret, and no
// documented example id is, not even as suppressed.
func TestAWSCorpusGroundTruth(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	truth, st, err := GenerateAWS(root, AWSOptions{Size: 4 << 20, Seed: 3, Every: 40})
	if err != nil {
		t.Fatal(err)
	}
	if st.Planted < 100 || st.Decoys < 5*st.Planted || st.Files < 20 {
		t.Fatalf("corpus too small: %+v", st)
	}
	cfg := rules.Default()
	eng := detectors.New(detectors.Options{Extra: cfg.Detectors(detectors.DecodeOptions{})})
	filter := rules.NewFilter(cfg, nil)
	src := files.New(files.Options{Paths: []string{root}})
	var mu sync.Mutex
	var found []Found
	suppressed := 0
	err = scan.Scanner{Engine: eng, Filter: filter.Apply}.Run(context.Background(), src, func(f findings.Finding) error {
		mu.Lock()
		defer mu.Unlock()
		if f.Suppressed != "" {
			suppressed++
			return nil
		}
		found = append(found, Found{Path: f.Path, Line: f.Line, Column: f.Column, Rule: f.RuleID, Fingerprint: f.Fingerprint})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res := Verify(truth, found); !res.OK() {
		t.Fatal(res)
	} else {
		t.Logf("%s; %d suppressed", res, suppressed)
	}
	// The documentation examples are dropped by the detector, before a
	// finding is made (rules.Config.Detectors).
	if suppressed != 0 {
		t.Errorf("%d suppressed, want 0: the %d documentation examples are dropped", suppressed, st.Decoys)
	}
}

func TestAWSCorpusDeterministic(t *testing.T) {
	t.Parallel()
	a, b := t.TempDir(), t.TempDir()
	ta, sa, err := GenerateAWS(a, AWSOptions{Size: 1 << 20, Seed: 9, Every: 400})
	if err != nil {
		t.Fatal(err)
	}
	tb, sb, err := GenerateAWS(b, AWSOptions{Size: 1 << 20, Seed: 9, Every: 400})
	if err != nil {
		t.Fatal(err)
	}
	if sa != sb || len(ta) != len(tb) {
		t.Fatalf("%+v vs %+v", sa, sb)
	}
	for i := range ta {
		if ta[i] != tb[i] {
			t.Fatalf("entry %d: %+v vs %+v", i, ta[i], tb[i])
		}
	}
	if sa.Planted+sa.Decoys == 0 || sa.Bytes < 1<<20 {
		t.Fatalf("stats %+v", sa)
	}
}
