package detectors

import (
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testkeys"
)

func TestIdentify(t *testing.T) {
	for _, tc := range []struct{ key, rule string }{
		{testkeys.LongTerm("u", "123456789012", "s"), RuleLongTerm},
		{testkeys.ClaudeLongTerm("k", "123456789012", "s"), RuleClaudeLongTerm},
		{PrefixShortTerm + "Zm9v", RuleShortTerm},
		{PrefixClaudeShortTerm + "Zm9v", RuleClaudeShortTerm},
		{"AKIAIOSFODNN7EXAMPLE", ""},
		{"bedrock-api-key", ""}, // the prefix without its last byte
		{"", ""},
	} {
		f, ok := Identify(tc.key)
		if ok != (tc.rule != "") || ok && f.Rule != tc.rule {
			t.Errorf("Identify(%.20q) = %v, %v; want %q", tc.key, f, ok, tc.rule)
		}
	}
}

// TestFamilyTable: rule ids are unique and no prefix starts another, so
// Identify has one answer; each family has a service.
func TestFamilyTable(t *testing.T) {
	fams := Families()
	for i, f := range fams {
		if f.Service == nil || f.Rule == "" || f.Prefix == "" {
			t.Errorf("family %d incomplete: %+v", i, f)
		}
		for _, g := range fams[i+1:] {
			if f.Rule == g.Rule || strings.HasPrefix(f.Prefix, g.Prefix) || strings.HasPrefix(g.Prefix, f.Prefix) {
				t.Errorf("families %s and %s clash", f.Rule, g.Rule)
			}
		}
	}
	if s, ok := ServiceNamed(ServiceClaudePlatform); !ok || s != ClaudePlatform {
		t.Errorf("ServiceNamed(%s) = %v", ServiceClaudePlatform, s)
	}
	if s, ok := ServiceAt("bedrock.amazonaws.com"); !ok || s != Bedrock {
		t.Errorf("ServiceAt(bedrock) = %v", s)
	}
}

func TestRegister(t *testing.T) {
	n := len(Families())
	svc := &Service{Name: "x-svc", Title: "X", Host: "x.amazonaws.com"}
	un := Register(Family{Rule: "x-long-term", Prefix: "AXQZ", Service: svc, Long: true})
	if f, ok := Identify("AXQZabc"); !ok || f.Rule != "x-long-term" || len(Families()) != n+1 {
		t.Fatalf("registered family not identified")
	}
	if _, ok := ServiceNamed("x-svc"); !ok {
		t.Error("registered service not found")
	}
	for _, bad := range []Family{{Rule: RuleLongTerm, Prefix: "QQQQ"}, {Rule: "y", Prefix: "ABSKx"}, {Rule: "z", Prefix: "AB"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%s %s) did not panic", bad.Rule, bad.Prefix)
				}
			}()
			Register(bad)
		}()
	}
	un()
	if _, ok := Identify("AXQZabc"); ok || len(Families()) != n {
		t.Error("unregister left the family")
	}
}

// TestDecodeNotAKey: the error names every service and prefix, e.g. "not
// a Bedrock or Claude Platform API key (expected prefix ABSK,
// bedrock-api-key-, AEAA or aws-external-anthropic-api-key-)".
func TestDecodeNotAKey(t *testing.T) {
	_, err := Decode("hello", DecodeOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "not a Bedrock, ") && !strings.HasPrefix(err.Error(), "not a Bedrock or ") {
		t.Fatalf("Decode(hello) = %v", err)
	}
	for _, f := range Families() {
		if !strings.Contains(err.Error(), f.Prefix) || !strings.Contains(err.Error(), f.Service.Title) {
			t.Errorf("Decode(hello) = %v: %s or %s missing", err, f.Prefix, f.Service.Title)
		}
	}
}
