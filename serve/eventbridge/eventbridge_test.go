package eventbridge

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/bks-dev/bks/serve"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var testOpts = Options{URL: "https://bks.example.com/events/aws"}

func TestGolden(t *testing.T) {
	for format, file := range map[string]string{"terraform": "eventbridge.tf", "cloudformation": "eventbridge.cfn.json"} {
		got, err := Render(format, testOpts)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", file)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (go test -update to accept):\n%s", format, path, got)
		}
	}
}

// walk calls f on every map of v.
func walk(v any, f func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(v)
		for _, x := range v {
			walk(x, f)
		}
	case []any:
		for _, x := range v {
			walk(x, f)
		}
	}
}

// The CloudFormation template is JSON whose every Ref and Fn::GetAtt names
// a parameter or resource of it, whose resources are of the four types,
// whose secret is a NoEcho parameter, and whose rules match the events
// the service reads.
func TestCloudFormationStructure(t *testing.T) {
	b, err := Render("cloudformation", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Parameters map[string]map[string]any
		Resources  map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal(b, &tpl); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	var doc any
	json.Unmarshal(b, &doc)
	walk(doc, func(m map[string]any) {
		if ref, ok := m["Ref"].(string); ok {
			if _, p := tpl.Parameters[ref]; !p {
				if _, r := tpl.Resources[ref]; !r {
					t.Errorf("Ref %s names nothing", ref)
				}
			}
		}
		if ga, ok := m["Fn::GetAtt"].([]any); ok {
			if _, r := tpl.Resources[ga[0].(string)]; !r || len(ga) != 2 || ga[1] != "Arn" {
				t.Errorf("Fn::GetAtt %v names nothing", ga)
			}
		}
	})
	if tpl.Parameters["EventsSecret"]["NoEcho"] != true {
		t.Error("the secret parameter is not NoEcho")
	}
	types := map[string]int{}
	var patterns []any
	for name, r := range tpl.Resources {
		types[r.Type]++
		if r.Type == "AWS::Events::Rule" {
			patterns = append(patterns, r.Properties["EventPattern"])
			if s := r.Properties["State"]; s != "ENABLED" && s != "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" {
				t.Errorf("%s: State %v", name, s)
			}
		}
	}
	want := map[string]int{"AWS::Events::Connection": 1, "AWS::Events::ApiDestination": 1, "AWS::IAM::Role": 1, "AWS::Events::Rule": 2}
	if !reflect.DeepEqual(types, want) {
		t.Errorf("resource types %v, want %v", types, want)
	}
	conn := tpl.Resources["BksConnection"].Properties["AuthParameters"].(map[string]any)["ApiKeyAuthParameters"].(map[string]any)
	if conn["ApiKeyName"] != serve.DefaultEventsHeader {
		t.Errorf("API key header %v, want %s", conn["ApiKeyName"], serve.DefaultEventsHeader)
	}
	checkPatterns(t, patterns)
}

// checkPatterns: one rule takes the IAM events the service reads, from
// aws.iam; the other the Bedrock calls.
func checkPatterns(t *testing.T, patterns []any) {
	t.Helper()
	var names []any
	for _, n := range serve.KeyEventNames() {
		names = append(names, n)
	}
	var keys, calls bool
	for _, p := range patterns {
		m := p.(map[string]any)
		if dt := m["detail-type"]; !reflect.DeepEqual(dt, []any{serve.CloudTrailDetailType}) {
			t.Errorf("detail-type %v", dt)
		}
		d := m["detail"].(map[string]any)
		switch {
		case reflect.DeepEqual(m["source"], []any{"aws.iam"}) && reflect.DeepEqual(d["eventName"], names):
			keys = true
		case reflect.DeepEqual(d["eventSource"], []any{"bedrock.amazonaws.com", "bedrock-mantle.amazonaws.com"}):
			calls = true
		}
	}
	if !keys || !calls || len(names) != 6 {
		t.Errorf("patterns %v: keys rule %v (events %v), Bedrock calls rule %v", patterns, keys, names, calls)
	}
}

var (
	tfBlock   = regexp.MustCompile(`(?m)^(resource|variable) "([a-z_]+)"(?: "([a-z_]+)")? \{$`)
	tfRef     = regexp.MustCompile(`\b(aws_[a-z_]+)\.([a-z_]+)\.[a-z_]+\b`)
	tfVar     = regexp.MustCompile(`\bvar\.([a-z_]+)\b`)
	tfPattern = regexp.MustCompile(`(?s)event_pattern = jsonencode\((\{.*?\n  \})\)`)
)

// The Terraform, read minimally (terraform is not installed here): its
// braces balance outside strings, every reference names a declared
// resource or variable, the secret variable is sensitive, and each
// event_pattern is JSON that matches the events the service reads.
func TestTerraformStructure(t *testing.T) {
	b, err := Render("terraform", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	depth, inStr := 0, false
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '{' || c == '(' || c == '['):
			depth++
		case !inStr && (c == '}' || c == ')' || c == ']'):
			depth--
			if depth < 0 {
				t.Fatalf("unbalanced at byte %d", i)
			}
		}
	}
	if depth != 0 || inStr {
		t.Fatalf("unbalanced: depth %d, in a string %v", depth, inStr)
	}
	declared, vars := map[string]bool{}, map[string]bool{}
	for _, m := range tfBlock.FindAllStringSubmatch(src, -1) {
		if m[1] == "variable" {
			vars[m[2]] = true
			continue
		}
		if declared[m[2]+"."+m[3]] {
			t.Errorf("%s.%s declared twice", m[2], m[3])
		}
		declared[m[2]+"."+m[3]] = true
	}
	for _, m := range tfRef.FindAllStringSubmatch(src, -1) {
		if !declared[m[1]+"."+m[2]] {
			t.Errorf("%s refers to an undeclared resource", m[0])
		}
	}
	for _, m := range tfVar.FindAllStringSubmatch(src, -1) {
		if !vars[m[1]] {
			t.Errorf("%s is not declared", m[0])
		}
	}
	if !regexp.MustCompile(`(?s)variable "bks_events_secret" \{[^}]*sensitive   = true`).MatchString(src) {
		t.Error("the secret variable is not sensitive")
	}
	var patterns []any
	for _, m := range tfPattern.FindAllStringSubmatch(src, -1) {
		var p any
		if err := json.Unmarshal([]byte(m[1]), &p); err != nil {
			t.Fatalf("event_pattern is not JSON: %v\n%s", err, m[1])
		}
		patterns = append(patterns, p)
	}
	if len(patterns) != 2 || len(declared) != 8 {
		t.Fatalf("%d patterns, %d resources, want 2 and 8", len(patterns), len(declared))
	}
	checkPatterns(t, patterns)
}

// What a user passes lands in the output as data: the URL must be https
// (API destinations call HTTPS only) without credentials, the header a
// header name, and a ${ in the URL is no Terraform template.
func TestRenderInputs(t *testing.T) {
	for _, o := range []Options{
		{URL: "http://bks.example.com/events/aws"},
		{URL: "https://user:pw@bks.example.com/events/aws"},
		{URL: "https://bks.example.com/", Header: "X-Key\nX-Other: 1"},
		{URL: "https://bks.example.com/", Header: "X Key"},
		{URL: ""},
	} {
		if _, err := Render("terraform", o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := Render("yaml", testOpts); err == nil {
		t.Error("an unknown format accepted")
	}
	b, err := Render("terraform", Options{URL: "https://bks.example.com/events/aws?x=${file(\"/etc/passwd\")}", Header: "X-Api-Key"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `$${file(\"/etc/passwd\")}`) || !strings.Contains(string(b), `key   = "X-Api-Key"`) {
		t.Errorf("the URL's ${ is not escaped, or the header is not used:\n%s", b)
	}
}
