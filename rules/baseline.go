package rules

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/bks-dev/bks/findings"
)

// BaselineHeader is the first line of a baseline file.
const BaselineHeader = `{"bks_baseline":1}`

// BaselineEntry is one accepted key. Its identity is the rule and the
// fingerprint (a hash of rule and secret) only: no path, line, commit or
// time, so a key moved to another file stays accepted and a new key on an
// accepted line is reported.
type BaselineEntry struct {
	RuleID      string `json:"rule_id"`
	Fingerprint string `json:"fingerprint"`
	// Redacted helps a person recognize the key; it is not part of the
	// identity.
	Redacted string `json:"redacted,omitempty"`
}

// Baseline is a set of accepted keys.
type Baseline struct {
	// Name is the file it was read from, for messages.
	Name    string
	entries []BaselineEntry
	index   map[string]int // fingerprint -> entries index
}

// Len is the number of entries.
func (b *Baseline) Len() int {
	if b == nil {
		return 0
	}
	return len(b.entries)
}

func (b *Baseline) lookup(f *findings.Finding) (int, bool) {
	return b.lookupID(f.RuleID, f.Fingerprint)
}

// lookupID is lookup by rule and fingerprint.
func (b *Baseline) lookupID(rule, fingerprint string) (int, bool) {
	if b == nil {
		return 0, false
	}
	i, ok := b.index[fingerprint]
	if !ok || b.entries[i].RuleID != rule {
		return 0, false
	}
	return i, true
}

func newBaseline(name string, es []BaselineEntry) *Baseline {
	sort.Slice(es, func(i, j int) bool {
		if es[i].RuleID != es[j].RuleID {
			return es[i].RuleID < es[j].RuleID
		}
		return es[i].Fingerprint < es[j].Fingerprint
	})
	b := &Baseline{Name: name, index: map[string]int{}}
	for _, e := range es {
		if _, dup := b.index[e.Fingerprint]; dup {
			continue
		}
		b.index[e.Fingerprint] = len(b.entries)
		b.entries = append(b.entries, e)
	}
	return b
}

// WriteBaseline writes the findings as a baseline: a header line, then one
// JSON object per line, sorted by rule and fingerprint, duplicates removed.
// The output depends only on the set of keys, so two baselines merge
// cleanly (a union of lines). Findings suppressed inline or by an allowlist
// are left out (they need no entry); those suppressed by a baseline are
// kept, so rewriting a baseline keeps the keys still present.
func WriteBaseline(w io.Writer, fs []findings.Finding) error {
	es := make([]BaselineEntry, 0, len(fs))
	for i := range fs {
		f := &fs[i]
		if f.Suppressed != "" && f.Suppressed != SuppressedBaseline {
			continue
		}
		es = append(es, BaselineEntry{RuleID: f.RuleID, Fingerprint: f.Fingerprint, Redacted: f.Redacted})
	}
	return writeEntries(w, newBaseline("", es).entries)
}

func writeEntries(w io.Writer, es []BaselineEntry) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(BaselineHeader + "\n")
	for _, e := range es {
		line, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("write baseline: %w", err)
		}
		bw.Write(line)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write baseline: %w", err)
	}
	return nil
}

// LoadBaseline reads the baseline file at path.
func LoadBaseline(path string) (*Baseline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read baseline: %w", err)
	}
	defer f.Close()
	b, err := ReadBaseline(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b.Name = path
	return b, nil
}

// ReadBaseline reads a baseline written by WriteBaseline. It also accepts a
// `bks detect --format json` report (an array of findings) or JSON Lines
// findings: anything whose objects carry rule_id and fingerprint. Lines
// left by a merge conflict are an error, not silently skipped.
func ReadBaseline(r io.Reader) (*Baseline, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read baseline: %w", err)
	}
	trimmed := bytes.TrimSpace(data)
	var es []BaselineEntry
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &es); err != nil {
			return nil, fmt.Errorf("read baseline: a JSON array of findings expected: %w", err)
		}
		for i, e := range es {
			if err := checkEntry(e); err != nil {
				return nil, fmt.Errorf("read baseline: entry %d: %w", i+1, err)
			}
		}
		return newBaseline("", es), nil
	}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line == BaselineHeader {
			continue
		}
		if strings.HasPrefix(line, "<<<<<<<") || strings.HasPrefix(line, "=======") || strings.HasPrefix(line, ">>>>>>>") {
			return nil, fmt.Errorf("read baseline: line %d: unresolved merge conflict (keep the lines of both sides)", n+1)
		}
		var e BaselineEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return nil, fmt.Errorf("read baseline: line %d: not a JSON object: %w", n+1, err)
		}
		if err := checkEntry(e); err != nil {
			return nil, fmt.Errorf("read baseline: line %d: %w", n+1, err)
		}
		es = append(es, e)
	}
	return newBaseline("", es), nil
}

func checkEntry(e BaselineEntry) error {
	if e.RuleID == "" {
		return fmt.Errorf("no rule_id")
	}
	if len(e.Fingerprint) != 32 || !hexRe().MatchString(e.Fingerprint) {
		return fmt.Errorf("fingerprint must be 32 lower-case hex digits")
	}
	return nil
}
