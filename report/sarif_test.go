package report

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/bks-dev/bks/findings"
)

// testdata/sarif-schema-2.1.0.json is the official OASIS SARIF 2.1.0 schema
// (errata 01), copied unchanged from the oasis-tcs/sarif-spec repository,
// sarif-2.1/schema/sarif-schema-2.1.0.json.
const schemaFile = "testdata/sarif-schema-2.1.0.json"

var sarifSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	f, err := os.Open(schemaFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat() // uri, uri-reference, date-time are checked too
	if err := c.AddResource(sarifSchemaURI, doc); err != nil {
		return nil, err
	}
	return c.Compile(sarifSchemaURI)
})

func validateSARIF(t *testing.T, out []byte) {
	t.Helper()
	sch, err := sarifSchema()
	if err != nil {
		t.Fatalf("load schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("sarif output is not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("sarif output does not validate:\n%v", err)
	}
}

// The validator must reject what the schema forbids, or the validation
// tests prove nothing.
func TestSARIFSchemaRejectsInvalid(t *testing.T) {
	sch, err := sarifSchema()
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{
		"wrong version":    `{"version":"2.0.0","runs":[]}`,
		"missing runs":     `{"version":"2.1.0"}`,
		"bad level":        `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"level":"fatal"}]}]}`,
		"line 0":           `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a"},"region":{"startLine":0}}}]}]}]}`,
		"unknown property": `{"version":"2.1.0","runs":[],"extra":1}`,
		"bad suppression":  `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"suppressions":[{"kind":"maybe"}]}]}]}`,
		"uri not absolute": `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x","informationUri":"not a uri"}}}]}`,
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(inst) == nil {
			t.Errorf("%s: schema accepted an invalid document", name)
		}
	}
}

type sarifLog struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []struct {
		Tool    sarifTool     `json:"tool"`
		Results []sarifResult `json:"results"`
	} `json:"runs"`
}

func TestSARIF(t *testing.T) {
	fs := fixture(t)
	cases := map[string][]findings.Finding{
		"all":         fs,
		"dedupe":      Dedupe(fs),
		"empty":       nil,
		"one":         fs[:1],
		"suppressed":  fs[4:5],
		"low":         fs[len(fs)-1:],
		"expired":     fs[3:4],
		"git":         fs[1:2],
		"commit msg":  fs[5:6],
		"user rule":   {withRule(fs[0], "aws-access-key")},
		"abs windows": {withPath(fs[0], `C:\src\app.env`)},
	}
	for name, in := range cases {
		for _, opts := range []Options{{ToolVersion: testVersion}, {ShowSecrets: true}} {
			out := render(t, FormatSARIF, opts, in)
			validateSARIF(t, out)

			var log sarifLog
			if err := json.Unmarshal(out, &log); err != nil {
				t.Fatal(err)
			}
			if log.Version != "2.1.0" || log.Schema != sarifSchemaURI || len(log.Runs) != 1 {
				t.Fatalf("%s: header %q %q, %d runs", name, log.Version, log.Schema, len(log.Runs))
			}
			run := log.Runs[0]
			if run.Results == nil {
				t.Errorf("%s: results is null, want [] (null means the tool did not run)", name)
			}
			if len(run.Results) != len(in) {
				t.Errorf("%s: %d results for %d findings (suppressed ones must be kept)", name, len(run.Results), len(in))
			}
			if run.Tool.Driver.Name != "bks" || run.Tool.Driver.Version != opts.ToolVersion {
				t.Errorf("%s: driver %+v", name, run.Tool.Driver)
			}
			rules := run.Tool.Driver.Rules
			seen := map[string]bool{}
			for _, r := range rules {
				if seen[r.ID] {
					t.Errorf("%s: rule %s listed twice", name, r.ID)
				}
				seen[r.ID] = true
				if r.Help.Text == "" || r.ShortDescription.Text == "" || r.FullDescription.Text == "" {
					t.Errorf("%s: rule %s lacks help text", name, r.ID)
				}
			}
			for i, res := range run.Results {
				f := in[i]
				if res.RuleIndex < 0 || res.RuleIndex >= len(rules) || rules[res.RuleIndex].ID != res.RuleID || res.RuleID != f.RuleID {
					t.Errorf("%s: result %d ruleIndex %d does not point at %s", name, i, res.RuleIndex, res.RuleID)
				}
				if res.PartialFingerprints[SARIFFingerprintKey] != f.Fingerprint {
					t.Errorf("%s: result %d partialFingerprints %v", name, i, res.PartialFingerprints)
				}
				if strings.Contains(res.Message.Text, f.RawKey()) {
					t.Errorf("%s: result %d message holds the key", name, i)
				}
				if (f.Suppressed != "") != (len(res.Suppressions) == 1) {
					t.Errorf("%s: result %d suppressions %+v for %q", name, i, res.Suppressions, f.Suppressed)
				}
				if f.Suppressed != "" && (res.Suppressions[0].Kind != "external" || res.Suppressions[0].Justification != f.Suppressed) {
					t.Errorf("%s: result %d suppression %+v", name, i, res.Suppressions[0])
				}
				if len(res.Locations) != 1 || len(res.RelatedLocations) != len(places(&f))-1 {
					t.Errorf("%s: result %d has %d locations and %d related for %d places", name, i, len(res.Locations), len(res.RelatedLocations), len(places(&f)))
				}
			}
			for _, f := range in {
				if !seen[f.RuleID] {
					t.Errorf("%s: rule %s not in tool.driver.rules", name, f.RuleID)
				}
			}
		}
	}
}

func withRule(f findings.Finding, rule string) findings.Finding {
	f.RuleID = rule
	return f
}

func withPath(f findings.Finding, p string) findings.Finding {
	f.Path = p
	return f
}

func TestSARIFLocations(t *testing.T) {
	fs := fixture(t)
	out := render(t, FormatSARIF, Options{}, fs)
	var log sarifLog
	if err := json.Unmarshal(out, &log); err != nil {
		t.Fatal(err)
	}
	res := log.Runs[0].Results
	loc := func(i int) sarifLocation { return res[i].Locations[0] }

	if pl := loc(0).PhysicalLocation; pl == nil || pl.ArtifactLocation.URI != "config/app.env" || pl.Region == nil || pl.Region.StartLine != 3 || pl.Region.StartColumn != 15 {
		t.Errorf("plain file: %+v", pl)
	}
	// Archive member: the archive is the artifact, the member is named.
	if pl := loc(3).PhysicalLocation; pl == nil || pl.ArtifactLocation.URI != "backups/site.zip" || pl.Region != nil {
		t.Errorf("archive member: %+v", pl)
	}
	if m := loc(3).Message; m == nil || !strings.Contains(m.Text, "app/.env") {
		t.Errorf("archive member message: %+v", m)
	}
	if got := loc(4).PhysicalLocation.ArtifactLocation.URI; got != "odd%20dir/=HYPERLINK%281%29.txt" && got != "odd%20dir/=HYPERLINK(1).txt" {
		t.Errorf("escaped uri %q", got)
	}
	if l := loc(5); l.PhysicalLocation != nil || len(l.LogicalLocations) != 1 || l.LogicalLocations[0].Kind != "commit-message" {
		t.Errorf("commit message location: %+v", l)
	}
	if res[3].Level != "warning" || res[0].Level != "error" || res[len(res)-1].Level != "warning" {
		t.Errorf("levels: expired %s, live %s, low confidence %s", res[3].Level, res[0].Level, res[len(res)-1].Level)
	}
}

func TestFileURI(t *testing.T) {
	for in, want := range map[string]string{
		"a/b.go":          "a/b.go",
		"./a/b.go":        "a/b.go",
		"a b/c#d?.txt":    "a%20b/c%23d%3F.txt",
		"100%.txt":        "100%25.txt",
		"/abs/x.env":      "file:///abs/x.env",
		"C:/src/app.env":  "file:///C:/src/app.env",
		"weird:name/x":    "./weird:name/x",
		"../up/x":         "../up/x",
		"ünï/ファイル":        "%C3%BCn%C3%AF/%E3%83%95%E3%82%A1%E3%82%A4%E3%83%AB",
		"dir/with:colon":  "dir/with:colon",
		"-rf \x1b[2J.txt": "-rf%20%1B%5B2J.txt",
	} {
		if got := fileURI(in); got != want {
			t.Errorf("fileURI(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSARIFArchiveMember: only a location the source marked as an archive
// member (Archive set) is split into the archive and the member; a ! in a
// real file name, or in a member's own name, is kept.
func TestSARIFArchiveMember(t *testing.T) {
	tests := []struct {
		loc               findings.Location
		wantURI, wantMemb string
	}{
		{findings.Location{Path: "s/report!final.txt", Line: 1, Column: 3}, "s/report%21final.txt", ""},
		{findings.Location{Path: "s/a.zip!in!ner.env", Archive: "s/a.zip", Line: 1, Column: 3}, "s/a.zip", "in!ner.env"},
		{findings.Location{Path: "x!y.zip!b.tar!c.env", Archive: "x!y.zip", Line: 2}, "x%21y.zip", "b.tar!c.env"},
	}
	for _, tt := range tests {
		l := sarifLocationOf(tt.loc)
		uri := l.PhysicalLocation.ArtifactLocation.URI
		if uri != tt.wantURI && uri != strings.ReplaceAll(tt.wantURI, "%21", "!") {
			t.Errorf("%q: uri %q, want %q", tt.loc.Path, uri, tt.wantURI)
		}
		memb, _ := l.Properties["archive_member"].(string)
		if memb != tt.wantMemb {
			t.Errorf("%q: member %q, want %q", tt.loc.Path, memb, tt.wantMemb)
		}
		if tt.wantMemb == "" && l.PhysicalLocation.Region == nil {
			t.Errorf("%q: a file keeps its region", tt.loc.Path)
		}
	}
}

// TestSARIFIncomplete: a run marked incomplete writes an invocation with
// executionSuccessful false and the reason, and still validates.
func TestSARIFIncomplete(t *testing.T) {
	var buf bytes.Buffer
	r, err := New(FormatSARIF, &buf, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixture(t)[:2] {
		if err := r.Finding(f); err != nil {
			t.Fatal(err)
		}
	}
	MarkIncomplete(r, "interrupted: the scan is incomplete")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	validateSARIF(t, buf.Bytes())
	for _, want := range []string{`"executionSuccessful": false`, `"text": "interrupted: the scan is incomplete"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("no %s in\n%s", want, buf.String())
		}
	}
	// The other formats accept the call and change nothing.
	for _, format := range []string{FormatJSON, FormatJSONL, FormatCSV, FormatText} {
		r, _ := New(format, &bytes.Buffer{}, Options{})
		MarkIncomplete(r, "x")
	}
}
