package merge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// sarifFingerprintKey is the partial fingerprint bks writes (report package).
const sarifFingerprintKey = "bksFingerprint/v1"

const defaultSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// sarifRun is the merge of the runs of one tool (by driver name).
type sarifRun struct {
	driverName string
	extra      map[string]json.RawMessage // run fields other than results and tool, from the first run
	tool       map[string]json.RawMessage
	driver     map[string]json.RawMessage
	rules      []json.RawMessage
	ruleIdx    map[string]int
	results    []json.RawMessage
	seen       map[string]bool
}

type sarifMerger struct {
	schema, version string
	runs            []*sarifRun
	byDriver        map[string]*sarifRun
}

func newSARIFMerger() *sarifMerger {
	return &sarifMerger{byDriver: map[string]*sarifRun{}}
}

type sarifDoc struct {
	Schema  string            `json:"$schema"`
	Version string            `json:"version"`
	Runs    []json.RawMessage `json:"runs"`
}

func (m *sarifMerger) add(name string, br *bufio.Reader, st *Stats) error {
	var doc sarifDoc
	dec := json.NewDecoder(br)
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("merge: %s: SARIF: %w", name, err)
	}
	if doc.Version != "" && doc.Version != "2.1.0" {
		return fmt.Errorf("merge: %s: SARIF version %q, want 2.1.0", name, doc.Version)
	}
	if m.schema == "" {
		m.schema, m.version = doc.Schema, doc.Version
	}
	for i, raw := range doc.Runs {
		if err := m.addRun(raw, st); err != nil {
			return fmt.Errorf("merge: %s: run %d: %w", name, i, err)
		}
	}
	return nil
}

func (m *sarifMerger) addRun(raw json.RawMessage, st *Stats) error {
	var run map[string]json.RawMessage
	if err := json.Unmarshal(raw, &run); err != nil {
		return err
	}
	var tool map[string]json.RawMessage
	if err := json.Unmarshal(run["tool"], &tool); err != nil {
		return fmt.Errorf("tool: %w", err)
	}
	var driver map[string]json.RawMessage
	if err := json.Unmarshal(tool["driver"], &driver); err != nil {
		return fmt.Errorf("tool.driver: %w", err)
	}
	var dname string
	_ = json.Unmarshal(driver["name"], &dname)
	r := m.byDriver[dname]
	if r == nil {
		r = &sarifRun{driverName: dname, extra: map[string]json.RawMessage{}, tool: tool, driver: driver, ruleIdx: map[string]int{}, seen: map[string]bool{}}
		for k, v := range run {
			if k != "results" && k != "tool" {
				r.extra[k] = v
			}
		}
		m.byDriver[dname] = r
		m.runs = append(m.runs, r)
	} else if err := r.addInvocations(run["invocations"]); err != nil {
		return err
	}
	// Rules of this run, in its own order: results point at them by index.
	var rules []json.RawMessage
	if raw := driver["rules"]; len(raw) > 0 {
		if err := json.Unmarshal(raw, &rules); err != nil {
			return fmt.Errorf("rules: %w", err)
		}
	}
	local := make([]string, len(rules))
	for i, rr := range rules {
		var rule struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(rr, &rule); err != nil {
			return fmt.Errorf("rule %d: %w", i, err)
		}
		local[i] = rule.ID
		if _, ok := r.ruleIdx[rule.ID]; !ok {
			r.ruleIdx[rule.ID] = len(r.rules)
			r.rules = append(r.rules, rr)
		}
	}
	var results []json.RawMessage
	if raw := run["results"]; len(raw) > 0 {
		if err := json.Unmarshal(raw, &results); err != nil {
			return fmt.Errorf("results: %w", err)
		}
	}
	for i, rr := range results {
		var res map[string]json.RawMessage
		if err := json.Unmarshal(rr, &res); err != nil {
			return fmt.Errorf("result %d: %w", i, err)
		}
		st.Read++
		k, ruleID, suppressed, err := resultKey(rr)
		if err != nil {
			return fmt.Errorf("result %d: %w", i, err)
		}
		if ruleID == "" {
			// ruleIndex alone names the rule.
			var idx int
			if err := json.Unmarshal(res["ruleIndex"], &idx); err == nil && idx >= 0 && idx < len(local) {
				ruleID = local[idx]
			}
		}
		if r.seen[k] {
			st.Duplicates++
			continue
		}
		r.seen[k] = true
		if idx, ok := r.ruleIdx[ruleID]; ok {
			res["ruleIndex"] = json.RawMessage(strconv.Itoa(idx))
		} else {
			delete(res, "ruleIndex")
		}
		out, err := marshal(res)
		if err != nil {
			return fmt.Errorf("result %d: %w", i, err)
		}
		r.results = append(r.results, out)
		st.Written++
		if !suppressed {
			st.Active++
		}
	}
	return nil
}

// resultKey identifies a result: its fingerprint and its first location.
func resultKey(raw json.RawMessage) (key, ruleID string, suppressed bool, err error) {
	var r struct {
		RuleID              string `json:"ruleId"`
		Message             struct{ Text string }
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		Suppressions        []json.RawMessage `json:"suppressions"`
		Locations           []struct {
			Physical *struct {
				Artifact struct {
					URI string `json:"uri"`
				} `json:"artifactLocation"`
				Region *struct {
					StartLine   int `json:"startLine"`
					StartColumn int `json:"startColumn"`
				} `json:"region"`
			} `json:"physicalLocation"`
			Logical []struct {
				Name string `json:"name"`
			} `json:"logicalLocations"`
			Properties place `json:"properties"`
		} `json:"locations"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return "", "", false, err
	}
	fp := r.PartialFingerprints[sarifFingerprintKey]
	if fp == "" {
		fp = r.RuleID + "\x00" + r.Message.Text
	}
	var p place
	if len(r.Locations) > 0 {
		l := r.Locations[0]
		p = l.Properties
		p.Path, p.Line, p.Column = "", 0, 0
		if l.Physical != nil {
			p.Path = l.Physical.Artifact.URI
			if l.Physical.Region != nil {
				p.Line, p.Column = l.Physical.Region.StartLine, l.Physical.Region.StartColumn
			}
		}
		if len(l.Logical) > 0 {
			p.Kind = l.Logical[0].Name
		}
		// Archive members carry their line in properties.
		if l.Properties.Line != 0 {
			p.Line, p.Column = l.Properties.Line, l.Properties.Column
		}
	}
	return fp + "\x00" + p.key(), r.RuleID, len(r.Suppressions) > 0, nil
}

func (m *sarifMerger) write(w io.Writer, st *Stats) error {
	runs := make([]map[string]any, 0, max(len(m.runs), 1))
	for _, r := range m.runs {
		rules, err := marshal(r.rules)
		if err != nil {
			return err
		}
		if r.rules == nil {
			rules = []byte("[]")
		}
		r.driver["rules"] = rules
		driver, err := marshal(r.driver)
		if err != nil {
			return err
		}
		r.tool["driver"] = driver
		run := map[string]any{}
		for k, v := range r.extra {
			run[k] = v
		}
		results := r.results
		if results == nil {
			results = []json.RawMessage{}
		}
		run["results"] = results
		run["tool"] = r.tool
		runs = append(runs, run)
	}
	schema, version := m.schema, m.version
	if schema == "" {
		schema = defaultSchema
	}
	if version == "" {
		version = "2.1.0"
	}
	if len(runs) == 0 {
		runs = append(runs, map[string]any{"results": []any{}, "tool": map[string]any{"driver": map[string]any{"name": "bks", "rules": []any{}}}})
	}
	doc := struct {
		Schema  string           `json:"$schema"`
		Version string           `json:"version"`
		Runs    []map[string]any `json:"runs"`
	}{schema, version, runs}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("merge: encode SARIF: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("merge: write: %w", err)
	}
	return nil
}

// marshal encodes v as compact JSON without escaping <, > and &, as the
// reports bks writes.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// addInvocations appends the invocations of a further run of the same
// tool, so that a shard that did not complete (executionSuccessful false)
// still says so in the merge.
func (r *sarifRun) addInvocations(raw json.RawMessage) error {
	if len(raw) == 0 {
		return nil
	}
	var have, more []json.RawMessage
	if old := r.extra["invocations"]; len(old) > 0 {
		if err := json.Unmarshal(old, &have); err != nil {
			return fmt.Errorf("invocations: %w", err)
		}
	}
	if err := json.Unmarshal(raw, &more); err != nil {
		return fmt.Errorf("invocations: %w", err)
	}
	all, err := json.Marshal(append(have, more...))
	if err != nil {
		return fmt.Errorf("invocations: %w", err)
	}
	r.extra["invocations"] = all
	return nil
}
