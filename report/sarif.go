package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
)

// SARIF constants.
const (
	sarifSchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	sarifVersion   = "2.1.0"
	// SARIFFingerprintKey names the finding fingerprint in each result's
	// partialFingerprints. It hashes the rule and the key only, so an
	// alert follows a key wherever it moves.
	SARIFFingerprintKey = "bksFingerprint/v1"
	toolName            = "bks"
	toolURI             = "https://github.com/bks-dev/bks"
)

// The SARIF document is written by hand-written structs: bks emits a small
// part of SARIF, and streaming needs control over the layout that a SARIF
// library's whole-document model does not give.

type sarifMessage struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifArtifactLocation struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           *sarifRegion          `json:"region,omitempty"`
}

type sarifLogicalLocation struct {
	Name string `json:"name,omitempty"`
	Kind string `json:"kind,omitempty"`
}

type sarifLocation struct {
	ID               *int                   `json:"id,omitempty"`
	PhysicalLocation *sarifPhysicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogicalLocation `json:"logicalLocations,omitempty"`
	Message          *sarifMessage          `json:"message,omitempty"`
	Properties       map[string]any         `json:"properties,omitempty"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification,omitempty"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifMessage       `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	RelatedLocations    []sarifLocation    `json:"relatedLocations,omitempty"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	Name                 string             `json:"name"`
	ShortDescription     sarifMessage       `json:"shortDescription"`
	FullDescription      sarifMessage       `json:"fullDescription"`
	Help                 sarifMessage       `json:"help"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
	Properties           map[string]any     `json:"properties"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifNotification struct {
	Level   string       `json:"level"`
	Message sarifMessage `json:"message"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
	ConfigNotifications []sarifNotification `json:"toolConfigurationNotifications,omitempty"`
}

// sarifReporter streams SARIF 2.1.0. Results come first in the run object
// and the tool (with its rule table, known only at the end) last, which is
// legal JSON: only the rules seen so far are kept in memory.
type sarifReporter struct {
	w       io.Writer
	opts    Options
	buf     bytes.Buffer
	started bool
	closed  bool
	n       int
	rules   []sarifRule
	ruleIdx map[string]int
	notes   []sarifNotification // findings not written as they were
	failed  bool                // a finding is missing
	// incomplete is why the run did not scan everything (MarkIncomplete);
	// "" for a complete run.
	incomplete string
	// config are the notes about the configuration (ConfigNote).
	config []sarifNotification
}

func (r *sarifReporter) markIncomplete(reason string) { r.incomplete = reason }

func (r *sarifReporter) configNote(level, text string) {
	r.config = append(r.config, sarifNotification{Level: level, Message: sarifMessage{Text: text}})
}

var _ Reporter = (*sarifReporter)(nil)

func newSARIF(w io.Writer, opts Options) *sarifReporter {
	return &sarifReporter{w: w, opts: opts, ruleIdx: map[string]int{}}
}

const sarifHead = `{
  "$schema": "` + sarifSchemaURI + `",
  "version": "` + sarifVersion + `",
  "runs": [
    {
      "results": [`

func (r *sarifReporter) Finding(f findings.Finding) error {
	r.buf.Reset()
	if !r.started {
		r.buf.WriteString(sarifHead)
	}
	if r.n > 0 {
		r.buf.WriteByte(',')
	}
	r.buf.WriteString("\n        ")
	ferr := encodeResilient(&r.buf, &f, r.opts, "        ", true, func(f *findings.Finding) any {
		p := prepare(*f, r.opts)
		return r.result(&p)
	})
	r.notify(ferr)
	if !writtenAnyway(ferr) {
		return ferr
	}
	r.started = true
	r.n++
	if _, err := r.w.Write(r.buf.Bytes()); err != nil {
		return fmt.Errorf("report: write sarif: %w", err)
	}
	return ferr
}

// notify keeps a finding the report could not write as it was, for the
// run's toolExecutionNotifications: a warning when it was written without
// some fields, an error (and executionSuccessful false) when it is missing.
func (r *sarifReporter) notify(err error) {
	var fe *FindingError
	if !errors.As(err, &fe) {
		return
	}
	level := "warning"
	if !fe.Written {
		level, r.failed = "error", true
	}
	r.notes = append(r.notes, sarifNotification{Level: level, Message: sarifMessage{Text: fe.Error()}})
}

func (r *sarifReporter) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.buf.Reset()
	if !r.started {
		r.buf.WriteString(sarifHead)
	}
	if r.n > 0 {
		r.buf.WriteString("\n      ")
	}
	r.buf.WriteString("],\n      ")
	// One invocation, written only when something is to be said: findings
	// not written as they were, a run that did not scan everything, or
	// notes about the configuration.
	if len(r.notes) > 0 || r.incomplete != "" || len(r.config) > 0 {
		notes := r.notes
		if r.incomplete != "" {
			notes = append(notes, sarifNotification{Level: "error", Message: sarifMessage{Text: r.incomplete}})
		}
		inv := []sarifInvocation{{ExecutionSuccessful: !r.failed && r.incomplete == "", Notifications: notes, ConfigNotifications: r.config}}
		r.buf.WriteString("\"invocations\": ")
		if err := appendJSON(&r.buf, inv, "      ", true); err != nil {
			return fmt.Errorf("report: encode sarif invocations: %w", err)
		}
		r.buf.WriteString(",\n      ")
	}
	r.buf.WriteString("\"tool\": ")
	rules := r.rules
	if rules == nil {
		rules = []sarifRule{}
	}
	tool := sarifTool{Driver: sarifDriver{Name: toolName, Version: r.opts.ToolVersion, InformationURI: toolURI, Rules: rules}}
	if err := appendJSON(&r.buf, tool, "      ", true); err != nil {
		return fmt.Errorf("report: encode sarif tool: %w", err)
	}
	r.buf.WriteString("\n    }\n  ]\n}\n")
	if _, err := r.w.Write(r.buf.Bytes()); err != nil {
		return fmt.Errorf("report: write sarif: %w", err)
	}
	return nil
}

// ruleIndex returns the index of id in the rule table, adding it the first
// time a result uses it.
func (r *sarifReporter) ruleIndex(id string) int {
	if i, ok := r.ruleIdx[id]; ok {
		return i
	}
	i := len(r.rules)
	r.ruleIdx[id] = i
	r.rules = append(r.rules, ruleFor(id))
	return i
}

func (r *sarifReporter) result(f *findings.Finding) sarifResult {
	ix := r.ruleIndex(f.RuleID)
	res := sarifResult{
		RuleID:              f.RuleID,
		RuleIndex:           ix,
		Level:               "error",
		Message:             sarifMessage{Text: resultMessage(f, r.rules[ix].ShortDescription.Text)},
		PartialFingerprints: map[string]string{SARIFFingerprintKey: f.Fingerprint},
	}
	expired := f.Key != nil && f.Key.Expired != nil && *f.Key.Expired
	if f.Confidence == findings.ConfidenceLow || f.Confidence == findings.ConfidencePartial || expired {
		res.Level = "warning"
	}
	for i, l := range places(f) {
		loc := sarifLocationOf(l)
		if i == 0 {
			res.Locations = []sarifLocation{loc}
			continue
		}
		// GitHub code scanning uses only the first location; the other
		// places of a deduplicated key go to relatedLocations.
		id := i
		loc.ID = &id
		if loc.Message == nil {
			loc.Message = &sarifMessage{Text: "The same key is also here."}
		}
		res.RelatedLocations = append(res.RelatedLocations, loc)
	}
	if f.Suppressed != "" {
		res.Suppressions = []sarifSuppression{{Kind: "external", Justification: f.Suppressed}}
	}
	props := map[string]any{
		"redacted":   f.Redacted,
		"confidence": f.Confidence,
	}
	if f.Key != nil {
		props["key"] = f.Key
	}
	if f.Error != "" {
		props["error"] = f.Error
	}
	if f.Secret != "" {
		props["secret"] = f.Secret
	}
	res.Properties = props
	return res
}

// resultMessage describes a finding without its secret: the kind of key,
// its redacted form and what was decoded from it. kind is its rule's short
// description.
func resultMessage(f *findings.Finding, kind string) string {
	var sb strings.Builder
	switch f.Confidence {
	case findings.ConfidenceLow:
		sb.WriteString("Possible ")
	case findings.ConfidencePartial:
		sb.WriteString("Partial ")
	}
	sb.WriteString(kind)
	sb.WriteString(" ")
	sb.WriteString(f.Redacted)
	if k := f.Key; k != nil {
		var facts []string
		if k.AccountID != "" {
			facts = append(facts, "account "+k.AccountID)
		}
		if k.Username != "" {
			facts = append(facts, "IAM user "+k.Username)
		}
		if k.AccessKeyID != "" {
			facts = append(facts, "access key "+k.AccessKeyID)
		}
		if k.Region != "" {
			facts = append(facts, "region "+k.Region)
		}
		if k.ExpiresAt != nil {
			word := "expires"
			if k.Expired != nil && *k.Expired {
				word = "expired"
			}
			facts = append(facts, word+" "+k.ExpiresAt.UTC().Format(time.RFC3339))
		}
		if len(facts) > 0 {
			sb.WriteString(" (" + strings.Join(facts, ", ") + ")")
		}
	}
	if f.Error != "" {
		sb.WriteString(": does not decode: " + f.Error)
	}
	if f.Key != nil && f.Key.PartialReason != "" {
		sb.WriteString(": not a whole key: " + f.Key.PartialReason)
	}
	sb.WriteString(".")
	return sb.String()
}

// sarifLocationOf maps a finding location to SARIF. A file becomes a
// relative URI with forward slashes (absolute paths become file: URIs). An
// archive member (Archive "a.zip", Path "a.zip!inner/f.txt"; a "!" in a
// path without Archive is part of a file name) points at the archive itself, the file
// a repository holds; the member and its line go into the location message
// and properties, since a line inside the member is not a line of the
// archive. A place with no path (stdin, a commit message) becomes a logical
// location named after its kind.
func sarifLocationOf(l findings.Location) sarifLocation {
	var loc sarifLocation
	props := map[string]any{}
	if l.Commit != "" {
		props["commit"] = l.Commit
	}
	if l.Repo != "" {
		props["repo"] = l.Repo
	}
	if l.Author != "" {
		props["author"] = l.Author
	}
	if l.Email != "" {
		props["email"] = l.Email
	}
	if l.Date != nil {
		props["date"] = l.Date.UTC().Format(time.RFC3339)
	}
	if l.InHead != nil {
		props["in_head"] = *l.InHead
	}
	if l.HTMLURL != "" {
		props["html_url"] = l.HTMLURL
	}
	if l.Encoding != "" {
		props["encoding"] = l.Encoding
	}
	if l.Pieces > 1 {
		props["pieces"] = l.Pieces
	}
	if l.Transcoded != "" {
		props["transcoded"] = l.Transcoded
	}
	outer, member, isMember := l.Archive, "", false
	if outer != "" {
		member, isMember = strings.CutPrefix(l.Path, outer+"!")
	}
	switch {
	case l.Path == "":
		kind := l.Kind
		if kind == "" {
			kind = "unknown"
		}
		loc.LogicalLocations = []sarifLogicalLocation{{Name: kind, Kind: kind}}
		text := "In " + kind
		if l.Commit != "" {
			text += " of commit " + l.Commit
		}
		loc.Message = &sarifMessage{Text: text + "."}
	case isMember && outer != "" && member != "":
		loc.PhysicalLocation = &sarifPhysicalLocation{ArtifactLocation: sarifArtifactLocation{URI: fileURI(outer)}}
		props["archive_member"] = member
		props["line"] = l.Line
		props["column"] = l.Column
		loc.Message = &sarifMessage{Text: fmt.Sprintf("In archive member %s, line %d, column %d.", member, l.Line, l.Column)}
	default:
		loc.PhysicalLocation = &sarifPhysicalLocation{ArtifactLocation: sarifArtifactLocation{URI: fileURI(l.Path)}}
		if l.Line > 0 {
			reg := &sarifRegion{StartLine: l.Line}
			if l.Column > 0 {
				reg.StartColumn = l.Column
			}
			loc.PhysicalLocation.Region = reg
		}
	}
	if len(props) > 0 {
		loc.Properties = props
	}
	return loc
}

// fileURI turns a file path into a URI reference: relative paths stay
// relative (forward slashes, "./" dropped, percent-encoded where needed);
// absolute ones become file: URIs.
func fileURI(p string) string {
	p = filepath.ToSlash(p)
	abs := strings.HasPrefix(p, "/")
	if len(p) >= 2 && p[1] == ':' && (p[0] >= 'A' && p[0] <= 'Z' || p[0] >= 'a' && p[0] <= 'z') {
		// A Windows drive path, C:/x.
		p = "/" + p
		abs = true
	}
	for strings.HasPrefix(p, "./") {
		p = p[2:]
	}
	enc := (&url.URL{Path: p}).EscapedPath()
	if abs {
		return "file://" + enc
	}
	// A colon in the first segment would read as a scheme.
	if first, _, _ := strings.Cut(enc, "/"); strings.Contains(first, ":") {
		enc = "./" + enc
	}
	return enc
}

// ruleFor returns the SARIF rule for id: a key family's text from the
// family table, generic text for rules bks has no description of
// (user-defined rules, the AWS access key rule).
func ruleFor(id string) sarifRule {
	var t detectors.SARIFText
	if f, ok := detectors.Lookup(id); ok {
		t = f.SARIF
	} else {
		t = detectors.SARIFText{
			Name:  ruleName(id),
			Short: "Secret matched by rule " + id,
			Full:  "A secret matched by the rule " + id + ".",
			Help:  "Treat the secret as compromised: revoke or rotate it, then remove it from the code and its history.",
		}
	}
	return sarifRule{
		ID:                   id,
		Name:                 t.Name,
		ShortDescription:     sarifMessage{Text: t.Short},
		FullDescription:      sarifMessage{Text: t.Full},
		Help:                 sarifMessage{Text: t.Help, Markdown: t.Help},
		DefaultConfiguration: sarifConfiguration{Level: "error"},
		Properties: map[string]any{
			"tags":              append([]string{"security", "secret"}, t.Tags...),
			"precision":         "very-high",
			"security-severity": "9.0",
		},
	}
}

// ruleName turns a rule id such as "aws-access-key" into "AwsAccessKey".
func ruleName(id string) string {
	var sb strings.Builder
	up := true
	for _, c := range id {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			up = true
			continue
		}
		if up {
			c = unicode.ToUpper(c)
			up = false
		}
		sb.WriteRune(c)
	}
	if sb.Len() == 0 {
		return "Secret"
	}
	return sb.String()
}
