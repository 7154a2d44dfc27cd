// Package location is the one description of a place: where a source's
// bytes came from (a file, an archive member, a blob at a commit, a commit
// message…) and, once a key is found in them, its line, column and
// encoding there. Sources fill the first part and share it between the
// chunks of a blob; the scan copies it into each finding and adds the rest.
// Its JSON field names are the findings' stable output.
//
// It is a leaf package (it imports only time) because both ends of the
// pipeline need the type and neither may import the other: findings must
// not import sources (a finding does not depend on how bytes were read),
// and sources must not import findings, which imports detectors (sources
// know nothing about what a key looks like). findings.Location is this
// type.
package location

import "time"

// Location is one place a key was found, or (without Line, Column and
// Encoding) the place a chunk's bytes came from. Its JSON field names are
// stable.
type Location struct {
	// Path of the file; archive members are "archive.zip!inner/path".
	Path   string `json:"path"`
	Line   int    `json:"line"`   // 1-based; set by the scan
	Column int    `json:"column"` // 1-based byte column; set by the scan
	// Archive is set for an archive member only: the file (or stream)
	// holding it, so Path is Archive + "!" + the member's path inside.
	// It says where that separator is, since a real file name, or a
	// member's own name, may contain "!" too.
	Archive string `json:"archive,omitempty"`
	// Git history (empty elsewhere).
	Repo   string `json:"repo,omitempty"`
	Commit string `json:"commit,omitempty"`
	Author string `json:"author,omitempty"`
	Email  string `json:"email,omitempty"`
	// Date of the commit, in UTC (see Date); nil when unknown.
	Date    *time.Time `json:"date,omitempty"`
	Message string     `json:"message,omitempty"` // first line of the commit message
	// InHead: is the content still present at HEAD of the default branch.
	InHead  *bool  `json:"in_head,omitempty"`
	HTMLURL string `json:"html_url,omitempty"` // link to the file at that commit (GitHub sweeps)
	// Kind says what the bytes are when they are not a file's content:
	// "commit-message", "tag-message", "stdin"; on GitHub (Author and
	// HTMLURL set, Path below the repository): "issue", "pull-request",
	// "issue-comment", "pr-comment", "review-comment".
	Kind string `json:"kind,omitempty"`
	// Encoding says how the key was written there: "" as issued,
	// "percent" (padding as %3D), "base64" (the key re-encoded). Set by
	// the scan.
	Encoding string `json:"encoding,omitempty"`
	// Pieces is set when the key was written split and joined by the
	// scan (adjacent or concatenated string literals, a backslash-newline,
	// a YAML block scalar, a wrapped block): the number of pieces. The
	// location is the first piece's.
	Pieces int `json:"pieces,omitempty"`
	// Transcoded is set when the bytes were converted before scanning,
	// e.g. "utf-16le"; line and column then refer to the converted text.
	Transcoded string `json:"transcoded,omitempty"`
}

// Date returns t for Location.Date: nil for the zero time, else t in UTC,
// so that reports write every date the same way whatever the committer's
// time zone.
func Date(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
