package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testkeys"
)

// A partial key (here a short-term key cut in X-Amz-Expires) is shown by
// every format, says it is partial and why, and claims no expiry.
func TestPartialFinding(t *testing.T) {
	const acct = "123456789012"
	key := testkeys.ShortTerm(testkeys.ShortTermOptions{
		AccessKeyID: testkeys.AccessKeyID("ASIA", acct, 2), SecretKey: "x", SessionToken: testkeys.SessionToken(acct, 400, 2),
		Region: "us-east-1", Issued: fixedNow.Add(-48 * time.Hour), Expires: 43200,
	})
	key = key[:len(key)/2]
	m := match(t, detectors.RuleShortTerm, key, "")
	f := findings.New(m, findings.Location{Path: "notes.md", Line: 1, Column: 1})
	if f.Confidence != findings.ConfidencePartial || f.Key == nil || f.Key.PartialReason == "" {
		t.Fatalf("finding: confidence %q, key %+v; want partial with a reason", f.Confidence, f.Key)
	}
	for _, format := range Formats() {
		out := string(render(t, format, Options{}, []findings.Finding{f}))
		if !strings.Contains(strings.ToLower(out), "partial") || !strings.Contains(out, acct) {
			t.Errorf("%s does not show the partial key and its account:\n%s", format, out)
		}
		for _, claim := range []string{`"expires_at"`, `"expired"`, `"expires_in_seconds"`, "EXPIRED", "Expires", ",false,partial", ",true,partial"} {
			if strings.Contains(out, claim) {
				t.Errorf("%s claims an expiry (%s) for a partial key:\n%s", format, claim, out)
			}
		}
		if format == FormatSARIF {
			var doc struct {
				Runs []struct {
					Results []struct{ Level string } `json:"results"`
				} `json:"runs"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Runs) != 1 || len(doc.Runs[0].Results) != 1 ||
				doc.Runs[0].Results[0].Level != "warning" {
				t.Errorf("sarif: want one result of level warning: %v\n%s", err, out)
			}
		}
	}
}
