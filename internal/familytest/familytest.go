// Package familytest is the conformance test of key families, in the spirit
// of osv-scalibr's velestest: for a family of detectors.Families and a key
// of it, Check runs the key through every consumer of the family table —
// the engine, Decode and Identify, findings (redaction, fingerprint),
// verify, revoke, triage, GitHub code search, SARIF rules and the rules
// list — and fails when one of them does not know the family or treats it
// differently from the others.
//
// It lives here, not in detectors, because it imports those consumers
// (detectors imports nothing from bks).
package familytest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bks-dev/bks/awsops/respond"
	"github.com/bks-dev/bks/awsops/revoke"
	"github.com/bks-dev/bks/awsops/verify"
	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/report"
	"github.com/bks-dev/bks/rules"
	"github.com/bks-dev/bks/sources/github"
	"github.com/bks-dev/bks/triage"
)

// Now is the clock of every check: generated short-term keys are valid then.
var Now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// Account is the AWS account generated keys belong to.
const Account = "111122223333"

// Keys generate a key of each built-in family, keyed by rule id, shaped as
// AWS issues them (console-made names for long-term keys). TestFamilies
// fails for a family without one.
var Keys = map[string]func(seed uint64) string{
	detectors.RuleLongTerm: func(seed uint64) string {
		return testkeys.LongTerm(testkeys.ConsoleUser(seed), Account, testkeys.Secret(seed))
	},
	detectors.RuleShortTerm: func(seed uint64) string {
		return ShortTermKey(detectors.PrefixShortTerm, detectors.Bedrock.Host, seed)
	},
	detectors.RuleClaudeLongTerm: func(seed uint64) string {
		return testkeys.ClaudeLongTerm(fmt.Sprint(seed), Account, testkeys.Secret(seed))
	},
	detectors.RuleClaudeShortTerm: func(seed uint64) string {
		return ShortTermKey(detectors.PrefixClaudeShortTerm, detectors.ClaudePlatform.Host, seed)
	},
}

// ShortTermKey builds a short-term-style key of any family: prefix +
// base64 of a URL of host presigned in eu-west-1, valid at Now.
func ShortTermKey(prefix, host string, seed uint64) string {
	return testkeys.ShortTerm(testkeys.ShortTermOptions{
		Prefix: prefix, Host: host, AccessKeyID: testkeys.AccessKeyID("ASIA", Account, seed), SecretKey: "s",
		SessionToken: testkeys.SessionToken(Account, 600, seed), Region: "eu-west-1",
		Issued: Now.Add(-10 * time.Minute), Expires: 3600,
	})
}

// LongTermKey builds a long-term-style key of any family:
// prefix + base64("<name>-at-<account>:<secret>").
func LongTermKey(prefix, name, account, secret string) string {
	return prefix + base64.StdEncoding.EncodeToString([]byte(name+"-at-"+account+":"+secret))
}

// Check runs key, a key of family f, through every consumer of the family
// table. Each consumer is a subtest named after it.
func Check(t *testing.T, f *detectors.Family, key string) {
	t.Helper()
	checkEntry(t, f)
	if g, ok := detectors.Identify(key); !ok || g.Rule != f.Rule {
		t.Fatalf("Identify(key) = %v, %v; want family %s", g, ok, f.Rule)
	}
	fnd := checkEngine(t, f, key)
	if fnd == nil {
		return
	}
	t.Run("findings", func(t *testing.T) { checkFindings(t, f, key, fnd) })
	t.Run("verify", func(t *testing.T) { checkVerify(t, f, key, fnd) })
	t.Run("revoke+triage", func(t *testing.T) { checkRevokeTriage(t, f, key, fnd) })
	t.Run("github", func(t *testing.T) { checkSearch(t, f, key) })
	t.Run("sarif", func(t *testing.T) { checkSARIF(t, f, fnd) })
	t.Run("rules", func(t *testing.T) { checkRules(t, f) })
}

// checkEntry: the table entry is complete.
func checkEntry(t *testing.T, f *detectors.Family) {
	t.Helper()
	s := f.SARIF
	switch {
	case f.Rule == "" || f.Prefix == "" || f.Description == "":
		t.Errorf("family %q: rule, prefix and description are required", f.Rule)
	case f.Service == nil || f.Service.Name == "" || f.Service.Title == "" || f.Service.Host == "" || len(f.Service.DenyActions) == 0:
		t.Errorf("family %s: service incomplete: %+v", f.Rule, f.Service)
	case s.Name == "" || s.Short == "" || s.Full == "" || s.Help == "" || len(s.Tags) == 0:
		t.Errorf("family %s: SARIF text incomplete: %+v", f.Rule, s)
	case len(f.SearchTerms) == 0:
		t.Errorf("family %s: no GitHub search term", f.Rule)
	case f.PairOffset < 0 || f.PairOffset+2 > len(f.Prefix):
		t.Errorf("family %s: pair offset %d outside the prefix", f.Rule, f.PairOffset)
	}
}

// checkEngine: the engine finds the key as written and re-encoded in
// base64, and it decodes to the family's service and type. It returns the
// finding detect makes of it.
func checkEngine(t *testing.T, f *detectors.Family, key string) *findings.Finding {
	t.Helper()
	eng := detectors.New(detectors.Options{Decode: detectors.DecodeOptions{Now: Now}})
	var fnd *findings.Finding
	for _, text := range []string{"export KEY=" + key + "\n", "data: " + base64.StdEncoding.EncodeToString([]byte(key)) + "\n"} {
		var ms []detectors.Match
		eng.Scan([]byte(text), 0, func(m detectors.Match) { ms = append(ms, m) })
		if len(ms) != 1 || ms[0].Rule != f.Rule || ms[0].Key != key || ms[0].Err != nil {
			t.Errorf("engine: %d matches in %.20q…, want one of %s", len(ms), text, f.Rule)
			continue
		}
		if fnd == nil {
			x := findings.New(ms[0], findings.Location{Path: "f.env", Line: 1})
			fnd = &x
		}
	}
	if fnd == nil {
		return nil
	}
	k, err := detectors.Decode(key, detectors.DecodeOptions{Now: Now})
	if err != nil || !reflect.DeepEqual(k, *fnd.Key) {
		t.Errorf("Decode: %v, or it differs from the engine's", err)
	}
	if k.Service != f.Service.Name || k.Type != f.Type() || k.AccountID != Account {
		t.Errorf("decoded service %q type %q account %q; want %s %s %s", k.Service, k.Type, k.AccountID, f.Service.Name, f.Type(), Account)
	}
	return fnd
}

// checkFindings: the finding carries the rule, its fingerprint is the rule
// and key's, and the redaction shows the family prefix and never the
// constant tail of short-term keys.
func checkFindings(t *testing.T, f *detectors.Family, key string, fnd *findings.Finding) {
	if fnd.RuleID != f.Rule || fnd.Fingerprint != findings.Fingerprint(f.Rule, key) {
		t.Errorf("finding rule %s fingerprint %s", fnd.RuleID, fnd.Fingerprint)
	}
	if fnd.Redacted != findings.Redact(key) || !strings.HasPrefix(fnd.Redacted, f.Prefix+"…") || len(fnd.Redacted) != len(f.Prefix+"…")+4 {
		t.Errorf("redacted %q, want %s…XXXX", fnd.Redacted, f.Prefix)
	}
	if tail := fnd.Redacted[len(fnd.Redacted)-4:]; !f.Long && strings.HasSuffix(strings.TrimRight(key, "="), tail) {
		t.Errorf("short-term key redacted to its constant &Version=1 tail %q", tail)
	}
}

// checkVerify: verify gives the key detect's fingerprint and redaction, and
// calls AWS only for a service with a live check.
func checkVerify(t *testing.T, f *detectors.Family, key string, fnd *findings.Finding) {
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"message":"Authentication failed"}`)
	}))
	defer srv.Close()
	c, err := verify.New(verify.Options{EndpointURL: srv.URL, HTTPClient: srv.Client(), MaxAttempts: 1, Now: func() time.Time { return Now }})
	if err != nil {
		t.Fatal(err)
	}
	r := c.Check(context.Background(), key)
	if r.Fingerprint != fnd.Fingerprint || r.Key != fnd.Redacted {
		t.Errorf("verify: fingerprint %s key %s; detect: %s %s", r.Fingerprint, r.Key, fnd.Fingerprint, fnd.Redacted)
	}
	switch n := calls.Load(); {
	case f.Service.LiveCheck && (n != 1 || r.Status != verify.Invalid):
		t.Errorf("verify: %d calls, status %s; want one call answered invalid", n, r.Status)
	case !f.Service.LiveCheck && (n != 0 || !r.Offline || r.Reason != "no live check for "+f.Service.Name+" keys"):
		t.Errorf("verify: %d calls, %q; want no call for a service without a live check", n, r.Reason)
	}
}

// checkRevokeTriage: revoke-key and triage target the family's service
// and name the key as detect does.
func checkRevokeTriage(t *testing.T, f *detectors.Family, key string, fnd *findings.Finding) {
	rt, err := revoke.ParseTarget(key, "aws")
	if err != nil {
		t.Fatalf("revoke.ParseTarget: %v", err)
	}
	kind := revoke.KindShortTerm
	if f.Long {
		kind = revoke.KindLongTerm
	}
	if rt.Key != fnd.Redacted || rt.Service != f.Service.Host || rt.Kind != kind || rt.Account != Account {
		t.Errorf("revoke target %+v; want key %s service %s kind %s", rt, fnd.Redacted, f.Service.Host, kind)
	}
	incs := triage.Group([]findings.Finding{*fnd})
	if len(incs) != 1 || incs[0].Fingerprint != fnd.Fingerprint || incs[0].Redacted != fnd.Redacted {
		t.Fatalf("triage: %d incidents, or not keyed by the finding's fingerprint", len(incs))
	}
	if tt := respond.Target(incs[0]); !reflect.DeepEqual(tt, rt) {
		t.Errorf("triage revokes %+v, revoke-key %+v", tt, rt)
	}
}

// checkSearch: GitHub code search, given the terms bks detect github
// --search gives it (detectors.SearchTerms), queries the family's terms, and
// one of them stands in the key.
func checkSearch(t *testing.T, f *detectors.Family, key string) {
	queries := github.NewSearch(github.SearchOptions{
		Target: github.Target{Orgs: []string{"acme"}},
		Terms:  detectors.SearchTerms(),
	}).Queries()
	found := false
	for _, term := range f.SearchTerms {
		if !slices.Contains(queries, fmt.Sprintf("%q org:acme", term)) {
			t.Errorf("no GitHub code search query for %q in %q", term, queries)
		}
		found = found || strings.Contains(key, term)
	}
	if !found {
		t.Errorf("no search term of %s (%q) is in its key", f.Rule, f.SearchTerms)
	}
}

// checkSARIF: a SARIF report describes the family's rule with its text.
func checkSARIF(t *testing.T, f *detectors.Family, fnd *findings.Finding) {
	var buf bytes.Buffer
	rep, err := report.New(report.FormatSARIF, &buf, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Finding(*fnd); err != nil {
		t.Fatal(err)
	}
	if err := rep.Close(); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID               string
						Name             string
						ShortDescription struct{ Text string }
						FullDescription  struct{ Text string }
						Help             struct{ Text string }
						Properties       struct{ Tags []string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil || len(doc.Runs) != 1 || len(doc.Runs[0].Tool.Driver.Rules) != 1 {
		t.Fatalf("SARIF: %v, or not one run with one rule", err)
	}
	r := doc.Runs[0].Tool.Driver.Rules[0]
	s := f.SARIF
	if r.ID != f.Rule || r.Name != s.Name || r.ShortDescription.Text != s.Short || r.FullDescription.Text != s.Full || r.Help.Text != s.Help {
		t.Errorf("SARIF rule %s %q %q: not the family's text", r.ID, r.Name, r.ShortDescription.Text)
	}
	for _, tag := range s.Tags {
		if !slices.Contains(r.Properties.Tags, tag) {
			t.Errorf("SARIF rule lacks tag %q", tag)
		}
	}
}

// checkRules: `bks rules list` shows the family as a built-in engine rule,
// and a TOML rule may use its service as a decoder.
func checkRules(t *testing.T, f *detectors.Family) {
	r := rules.Default().Rule(f.Rule)
	if r == nil || !r.Engine || !r.Builtin || r.Description != f.Description || r.Decoder != f.Service.Name || fmt.Sprint(r.Keywords) != fmt.Sprint([]string{f.Prefix}) {
		t.Fatalf("rules: built-in rule %s is %+v", f.Rule, r)
	}
	toml := fmt.Sprintf("[[rules]]\nid = 'wrapped'\nkeywords = ['KEY(']\nregex = '''KEY\\((?P<secret>[A-Za-z0-9=-]+)\\)'''\ndecoder = %q\n", f.Service.Name)
	if _, err := rules.Parse("c.toml", []byte(toml)); err != nil {
		t.Errorf("rules: decoder %q refused: %v", f.Service.Name, err)
	}
}
