package rules

import (
	"bytes"
	"fmt"

	"github.com/bks-dev/bks/detectors"
)

// ExampleResult is the outcome of one rule example.
type ExampleResult struct {
	Rule    string
	File    string
	Line    int
	Match   bool   // a match example (else no_match)
	Pass    bool   // the rule behaved as the example says
	Problem string // why it failed; never contains the example text
}

func (e ExampleResult) String() string {
	kind := "no_match"
	if e.Match {
		kind = "match"
	}
	s := fmt.Sprintf("%s:%d: %s: %s example", e.File, e.Line, e.Rule, kind)
	if e.Pass {
		return s + ": ok"
	}
	return s + ": FAIL: " + e.Problem
}

// TestExamples runs the examples of rule r: a match example must make the
// rule report (the given secret, when it names one), a no_match example
// must not. Examples test detection only: allowlists and path scopes do not
// apply. Built-in Bedrock rules run through the detector engine.
func (r *Rule) TestExamples() []ExampleResult {
	var out []ExampleResult
	for _, ex := range r.Examples {
		text := ex.Match
		if text == "" {
			text = ex.NoMatch
		}
		ms := r.Find([]byte(text))
		res := ExampleResult{Rule: r.ID, File: r.File, Line: ex.Line, Match: ex.Match != ""}
		switch {
		case res.Match && len(ms) == 0:
			res.Problem = "the rule did not match"
		case res.Match && ms[0].Err != nil:
			res.Problem = "matched, but the decoder rejected it: " + ms[0].Err.Error()
		case res.Match && ex.Secret != "" && !anyKey(ms, ex.Secret):
			res.Problem = fmt.Sprintf("matched, but captured a different secret (%d bytes, want %d)", len(ms[0].Key), len(ex.Secret))
		case !res.Match && len(ms) > 0:
			res.Problem = fmt.Sprintf("the rule matched (at byte %d)", ms[0].Start)
		default:
			res.Pass = true
		}
		out = append(out, res)
	}
	return out
}

func anyKey(ms []detectors.Match, key string) bool {
	for _, m := range ms {
		if m.Key == key {
			return true
		}
	}
	return false
}

// Find returns the matches of rule r alone in data, as the engine would
// report them (including candidates that fail to decode).
func (r *Rule) Find(data []byte) []detectors.Match {
	var ms []detectors.Match
	if r.Engine {
		detectors.New(detectors.Options{IncludeInvalid: true}).Scan(data, len(data), func(m detectors.Match) {
			if m.Rule == r.ID {
				ms = append(ms, m)
			}
		})
		return ms
	}
	d := newDetector(r, detectors.DecodeOptions{})
	// The engine's keyword loop, for this one detector.
	fold := d.FoldCase()
	for i := 0; i < len(data); {
		next := i + 1
		for kw, k := range d.Keywords() {
			if len(k) < 2 || i+len(k) > len(data) {
				continue
			}
			seg := data[i : i+len(k)]
			if fold && !bytes.EqualFold(seg, []byte(k)) || !fold && !bytes.Equal(seg, []byte(k)) {
				continue
			}
			m, ok := d.Check(data, i, kw)
			if !ok || m.Start < 0 {
				continue
			}
			ms = append(ms, m)
			if m.End > next {
				next = m.End
			}
			break
		}
		i = next
	}
	return ms
}
