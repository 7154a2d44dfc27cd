// Package merge combines the reports of several bks runs (the shards of a
// sweep, or a run and its resumption) into one, dropping duplicates: the
// same key (fingerprint) at the same place (repository, commit, path, line,
// column). JSON Lines and SARIF are supported; every field of the inputs is
// kept as written, so merging never loses what a newer bks wrote.
package merge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Formats.
const (
	FormatJSONL = "jsonl"
	FormatSARIF = "sarif"
)

// Input is one report to merge.
type Input struct {
	Name string // for messages
	R    io.Reader
}

// Stats says what a merge did.
type Stats struct {
	Inputs     int
	Read       int // findings read
	Written    int // findings written
	Duplicates int // findings dropped as duplicates
	Active     int // findings written that are not suppressed
}

// maxLine bounds one JSON Lines record (a finding with many locations).
const maxLine = 64 << 20

// Sniff says which format a report is in from its first bytes: "sarif" for
// a JSON object with "runs" or a SARIF "$schema"/"version", "jsonl" for a
// stream of JSON objects, "" when it cannot tell (empty input).
func Sniff(head []byte) (string, error) {
	t := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	if len(t) == 0 {
		return "", nil
	}
	switch t[0] {
	case '[':
		return "", errors.New("a JSON array (--format json) cannot be merged; write shards with --format jsonl or sarif")
	case '{':
	default:
		return "", errors.New("not a bks JSON Lines or SARIF report")
	}
	// SARIF is one object whose first keys, as bks and other tools write
	// them, are "$schema", "version" or "runs"; a JSON Lines finding starts
	// with "rule_id". Look at the first key.
	dec := json.NewDecoder(bytes.NewReader(t))
	if _, err := dec.Token(); err != nil {
		return "", fmt.Errorf("not JSON: %w", err)
	}
	tok, err := dec.Token()
	if err != nil {
		// The first object is longer than the head: a long finding.
		return FormatJSONL, nil
	}
	switch tok {
	case "$schema", "version", "runs":
		return FormatSARIF, nil
	}
	return FormatJSONL, nil
}

// Merge reads every input, which must all be in the same format, and writes
// the merged report to w in that format. The format is sniffed from the
// inputs; empty inputs are skipped (a shard that found nothing may write an
// empty JSON Lines file).
func Merge(w io.Writer, inputs []Input) (Stats, error) {
	type sniffed struct {
		Input
		br     *bufio.Reader
		format string
	}
	var ins []sniffed
	format := ""
	for _, in := range inputs {
		br := bufio.NewReaderSize(in.R, 1<<16)
		head, err := br.Peek(4096)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return Stats{}, fmt.Errorf("merge: read %s: %w", in.Name, err)
		}
		f, err := Sniff(head)
		if err != nil {
			return Stats{}, fmt.Errorf("merge: %s: %w", in.Name, err)
		}
		if f == "" {
			continue
		}
		if format != "" && f != format {
			return Stats{}, fmt.Errorf("merge: %s is %s, the reports before it are %s: merge reports of one format", in.Name, f, format)
		}
		format = f
		ins = append(ins, sniffed{Input: in, br: br, format: f})
	}
	st := Stats{Inputs: len(inputs)}
	switch format {
	case "", FormatJSONL:
		m := &jsonlMerger{w: w, seen: map[string]bool{}}
		for _, in := range ins {
			if err := m.add(in.Name, in.br, &st); err != nil {
				return st, err
			}
		}
		return st, nil
	default:
		m := newSARIFMerger()
		for _, in := range ins {
			if err := m.add(in.Name, in.br, &st); err != nil {
				return st, err
			}
		}
		return st, m.write(w, &st)
	}
}

// place is the part of a location that tells two findings of one key
// apart.
type place struct {
	Repo    string `json:"repo"`
	Commit  string `json:"commit"`
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Kind    string `json:"kind"`
	Archive string `json:"archive_member"`
}

func (p place) key() string {
	return strings.Join([]string{p.Repo, p.Commit, p.Path, strconv.Itoa(p.Line), strconv.Itoa(p.Column), p.Kind, p.Archive}, "\x00")
}

type jsonlFinding struct {
	RuleID      string `json:"rule_id"`
	Fingerprint string `json:"fingerprint"`
	Suppressed  string `json:"suppressed"`
	place
}

type jsonlMerger struct {
	w    io.Writer
	seen map[string]bool
}

func (m *jsonlMerger) add(name string, br *bufio.Reader, st *Stats) error {
	for n := 1; ; n++ {
		line, err := readLine(br)
		if len(bytes.TrimSpace(line)) > 0 {
			var f jsonlFinding
			if uerr := json.Unmarshal(line, &f); uerr != nil {
				return fmt.Errorf("merge: %s:%d: %w", name, n, uerr)
			}
			if f.Fingerprint == "" {
				return fmt.Errorf("merge: %s:%d: no fingerprint: not a bks finding", name, n)
			}
			st.Read++
			k := f.Fingerprint + "\x00" + f.place.key()
			if m.seen[k] {
				st.Duplicates++
			} else {
				m.seen[k] = true
				line = bytes.TrimRight(line, "\r\n")
				if _, werr := m.w.Write(append(line, '\n')); werr != nil {
					return fmt.Errorf("merge: write: %w", werr)
				}
				st.Written++
				if f.Suppressed == "" {
					st.Active++
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("merge: read %s: %w", name, err)
		}
	}
}

// readLine reads one line of at most maxLine bytes.
func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > maxLine {
			return nil, fmt.Errorf("line longer than %d bytes", maxLine)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return out, err
	}
}
