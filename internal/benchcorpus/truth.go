package benchcorpus

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bks-dev/bks/findings"
)

// Entry types of the ground truth.
const (
	TypePlanted = "planted" // must be reported, at this place, with this fingerprint
	TypeDecoy   = "decoy"   // must not be reported
)

// Entry is one line of ground_truth.jsonl.
type Entry struct {
	Type        string `json:"type"`
	Path        string `json:"path"` // slash-separated, relative to the corpus root
	Line        int    `json:"line"`
	Column      int    `json:"column"`
	Rule        string `json:"rule,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// Variant is the key variant of a planted key, the class of a decoy.
	Variant string `json:"variant"`
	// Place is the hiding place (template) it was written in.
	Place string `json:"place"`
	// Encoding is what bks reports for the key there ("", percent, base64).
	Encoding string `json:"encoding,omitempty"`
	CRLF     bool   `json:"crlf,omitempty"`
}

func fingerprint(rule, key string) string { return findings.Fingerprint(rule, key) }

// SortEntries orders entries by path, line, column.
func SortEntries(es []Entry) {
	slices.SortStableFunc(es, func(a, b Entry) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// WriteTruth writes entries as JSON lines.
func WriteTruth(w io.Writer, es []Entry) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range es {
		if err := enc.Encode(&es[i]); err != nil {
			return fmt.Errorf("write ground truth: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write ground truth: %w", err)
	}
	return nil
}

// ReadTruth reads what WriteTruth wrote.
func ReadTruth(r io.Reader) ([]Entry, error) {
	var es []Entry
	err := eachJSONLine(r, func(n int, b []byte) error {
		var e Entry
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("read ground truth: line %d: %w", n, err)
		}
		if e.Type != TypePlanted && e.Type != TypeDecoy || e.Path == "" || e.Line < 1 {
			return fmt.Errorf("read ground truth: line %d: not a ground truth entry", n)
		}
		es = append(es, e)
		return nil
	})
	return es, err
}

// Found is one place a scanner reported a key.
type Found struct {
	Path        string `json:"path"`
	Line        int    `json:"line"`
	Column      int    `json:"column"`
	Rule        string `json:"rule_id"`
	Fingerprint string `json:"fingerprint"`
}

// ReadFindings reads a bks JSON Lines report (`--format jsonl`): one finding
// per line, each with its locations when deduplicated.
func ReadFindings(r io.Reader) ([]Found, error) {
	var out []Found
	err := eachJSONLine(r, func(n int, b []byte) error {
		var f struct {
			Found
			Locations []struct {
				Path   string `json:"path"`
				Line   int    `json:"line"`
				Column int    `json:"column"`
			} `json:"locations"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("read findings: line %d: %w", n, err)
		}
		if f.Fingerprint == "" || f.Rule == "" {
			return fmt.Errorf("read findings: line %d: not a finding (no rule_id or fingerprint)", n)
		}
		if len(f.Locations) == 0 {
			out = append(out, f.Found)
			return nil
		}
		for _, l := range f.Locations {
			out = append(out, Found{Path: l.Path, Line: l.Line, Column: l.Column, Rule: f.Rule, Fingerprint: f.Fingerprint})
		}
		return nil
	})
	return out, err
}

func eachJSONLine(r io.Reader, fn func(n int, b []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		if err := fn(n, b); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read JSON lines: %w", err)
	}
	return nil
}

// Result of comparing findings with the ground truth.
type Result struct {
	Planted, Decoys, Findings int
	Found                     int     // planted keys found at their place
	Missing                   []Entry // planted keys not reported
	DecoysReported            []Found // findings on a decoy's line
	Unexpected                []Found // other findings matching nothing planted
	Duplicates                []Found // the same place reported more than once
	WrongDetail               []string
}

// OK says whether every planted key was found exactly once, correctly, and
// nothing else was reported.
func (r *Result) OK() bool {
	return len(r.Missing) == 0 && len(r.DecoysReported) == 0 && len(r.Unexpected) == 0 &&
		len(r.Duplicates) == 0 && len(r.WrongDetail) == 0 && r.Found == r.Planted
}

// String summarizes the result; at most a few of each problem are listed.
func (r *Result) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "planted %d, found %d, missing %d; decoys %d, reported %d; unexpected %d; duplicates %d; wrong details %d",
		r.Planted, r.Found, len(r.Missing), r.Decoys, len(r.DecoysReported), len(r.Unexpected), len(r.Duplicates), len(r.WrongDetail))
	const show = 10
	for i, e := range r.Missing {
		if i == show {
			fmt.Fprintf(&sb, "\n  … %d more missing", len(r.Missing)-show)
			break
		}
		fmt.Fprintf(&sb, "\n  missing: %s:%d:%d %s %s in %s (%s)", e.Path, e.Line, e.Column, e.Rule, e.Variant, e.Place, e.Fingerprint)
	}
	for _, l := range []struct {
		what string
		fs   []Found
	}{{"decoy reported", r.DecoysReported}, {"unexpected", r.Unexpected}, {"duplicate", r.Duplicates}} {
		for i, f := range l.fs {
			if i == show {
				fmt.Fprintf(&sb, "\n  … %d more %s", len(l.fs)-show, l.what)
				break
			}
			fmt.Fprintf(&sb, "\n  %s: %s:%d:%d %s (%s)", l.what, f.Path, f.Line, f.Column, f.Rule, f.Fingerprint)
		}
	}
	for i, d := range r.WrongDetail {
		if i == show {
			fmt.Fprintf(&sb, "\n  … %d more wrong details", len(r.WrongDetail)-show)
			break
		}
		sb.WriteString("\n  " + d)
	}
	return sb.String()
}

type lineKey struct {
	path string
	line int
}

// Verify compares findings with the truth. A finding's path may carry the
// corpus root before the truth's relative path (any OS separator).
func Verify(truth []Entry, found []Found) *Result {
	res := &Result{Findings: len(found)}
	paths := map[string]bool{}
	planted := map[lineKey][]int{}
	decoys := map[lineKey]bool{}
	for i, e := range truth {
		paths[e.Path] = true
		k := lineKey{e.Path, e.Line}
		if e.Type == TypePlanted {
			res.Planted++
			planted[k] = append(planted[k], i)
		} else {
			res.Decoys++
			decoys[k] = true
		}
	}
	hit := make([]bool, len(truth))
	for _, f := range found {
		p := relPath(f.Path, paths)
		k := lineKey{p, f.Line}
		matched := false
		for _, i := range planted[k] {
			e := truth[i]
			if e.Fingerprint != f.Fingerprint {
				continue
			}
			matched = true
			if hit[i] {
				res.Duplicates = append(res.Duplicates, f)
				break
			}
			hit[i] = true
			res.Found++
			if e.Rule != f.Rule {
				res.WrongDetail = append(res.WrongDetail, fmt.Sprintf("%s:%d: rule %s, want %s", p, f.Line, f.Rule, e.Rule))
			}
			if e.Column != f.Column {
				res.WrongDetail = append(res.WrongDetail, fmt.Sprintf("%s:%d: column %d, want %d (%s)", p, f.Line, f.Column, e.Column, e.Place))
			}
			break
		}
		switch {
		case matched:
		case decoys[k]:
			res.DecoysReported = append(res.DecoysReported, f)
		default:
			res.Unexpected = append(res.Unexpected, f)
		}
	}
	for i, e := range truth {
		if e.Type == TypePlanted && !hit[i] {
			res.Missing = append(res.Missing, e)
		}
	}
	return res
}

// relPath maps a reported path to the truth's relative path: the longest
// suffix at a separator that names a file of the truth.
func relPath(p string, paths map[string]bool) string {
	s := filepath.ToSlash(p)
	if paths[s] {
		return s
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '/' && paths[s[i+1:]] {
			return s[i+1:]
		}
	}
	return s
}

// ReadGitleaks reads a gitleaks JSON report (--report-format json). Its
// secrets are not bks's keys (the short-term rule captures a fixed prefix),
// so only the places are comparable: see VerifyLines.
func ReadGitleaks(r io.Reader) ([]Found, error) {
	var rep []struct {
		RuleID      string
		File        string
		StartLine   int
		StartColumn int
		Secret      string
	}
	if err := json.NewDecoder(r).Decode(&rep); err != nil {
		return nil, fmt.Errorf("read gitleaks report: %w", err)
	}
	out := make([]Found, 0, len(rep))
	for _, f := range rep {
		out = append(out, Found{Path: f.File, Line: f.StartLine, Column: f.StartColumn, Rule: f.RuleID, Fingerprint: fingerprint(f.RuleID, f.Secret)})
	}
	return out, nil
}

// LineResult compares another scanner's findings with the truth by place
// (path and line) only.
type LineResult struct {
	Planted, PlantedFound int // planted keys with a finding on their line
	Decoys, DecoysFlagged int // decoys with a finding on their line
	// Distinct is the number of distinct secrets reported on planted
	// lines: fewer than PlantedFound means different keys were reported
	// as one.
	Distinct int
}

func (r LineResult) String() string {
	return fmt.Sprintf("planted keys found %d/%d (%d distinct secrets), decoys reported %d/%d",
		r.PlantedFound, r.Planted, r.Distinct, r.DecoysFlagged, r.Decoys)
}

// VerifyLines compares findings with the truth by place: path and line,
// and, on lines holding several entries (minified files), a column within
// two bytes of the entry's (peers count columns differently).
func VerifyLines(truth []Entry, found []Found) LineResult {
	paths := map[string]bool{}
	byLine := map[lineKey][]int{}
	var res LineResult
	for i, e := range truth {
		paths[e.Path] = true
		k := lineKey{e.Path, e.Line}
		byLine[k] = append(byLine[k], i)
		if e.Type == TypePlanted {
			res.Planted++
		} else {
			res.Decoys++
		}
	}
	hit := make([]bool, len(truth))
	distinct := map[string]bool{}
	for _, f := range found {
		at := byLine[lineKey{relPath(f.Path, paths), f.Line}]
		i := -1
		if len(at) == 1 {
			i = at[0]
		} else {
			for _, j := range at {
				if d := truth[j].Column - f.Column; d >= -2 && d <= 2 {
					i = j
					break
				}
			}
		}
		if i < 0 {
			continue
		}
		if truth[i].Type == TypePlanted {
			distinct[f.Fingerprint] = true
		}
		hit[i] = true
	}
	for i, e := range truth {
		switch {
		case !hit[i]:
		case e.Type == TypePlanted:
			res.PlantedFound++
		default:
			res.DecoysFlagged++
		}
	}
	res.Distinct = len(distinct)
	return res
}
