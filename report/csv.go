package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/termsafe"
)

// csvColumns are the columns every CSV report has, in order. With
// ShowSuppressed a "suppressed" column follows, and with ShowSecrets a
// "secret" column comes last.
var csvColumns = []string{
	"rule_id", "fingerprint", "redacted", "path", "line", "column", "commit",
	"account_id", "username", "region", "type", "service", "expires_at",
	"expired", "confidence",
}

// csvReporter writes a header and one row per place a key was found (a
// deduplicated finding gives one row per location, all with the same
// fingerprint). Every cell is guarded against formula injection.
type csvReporter struct {
	w      *csv.Writer
	opts   Options
	header bool
	row    []string
}

var _ Reporter = (*csvReporter)(nil)

func newCSV(w io.Writer, opts Options) *csvReporter {
	return &csvReporter{w: csv.NewWriter(w), opts: opts}
}

func (r *csvReporter) writeHeader() error {
	if r.header {
		return nil
	}
	r.header = true
	h := append([]string(nil), csvColumns...)
	if r.opts.ShowSuppressed {
		h = append(h, "suppressed")
	}
	if r.opts.ShowSecrets {
		h = append(h, "secret")
	}
	if err := r.w.Write(h); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	return nil
}

func (r *csvReporter) Finding(f findings.Finding) error {
	if !shown(&f, r.opts) {
		return nil
	}
	if err := r.writeHeader(); err != nil {
		return err
	}
	p := prepare(f, r.opts)
	var k struct{ account, user, region, typ, service, expires, expired string }
	if p.Key != nil {
		k.account, k.user, k.region = p.Key.AccountID, p.Key.Username, p.Key.Region
		k.typ, k.service = p.Key.Type, p.Key.Service
		if p.Key.ExpiresAt != nil {
			k.expires = p.Key.ExpiresAt.UTC().Format(time.RFC3339)
		}
		if p.Key.Expired != nil {
			k.expired = strconv.FormatBool(*p.Key.Expired)
		}
	}
	for _, l := range places(&p) {
		r.row = append(r.row[:0],
			p.RuleID, p.Fingerprint, p.Redacted, l.Path, strconv.Itoa(l.Line), strconv.Itoa(l.Column), l.Commit,
			k.account, k.user, k.region, k.typ, k.service, k.expires, k.expired, p.Confidence)
		if r.opts.ShowSuppressed {
			r.row = append(r.row, p.Suppressed)
		}
		if r.opts.ShowSecrets {
			r.row = append(r.row, p.Secret)
		}
		for i, c := range r.row {
			if raw := f.RawKey(); !r.opts.ShowSecrets && len(raw) >= 8 && strings.Contains(c, raw) {
				c = strings.ReplaceAll(c, raw, f.Redacted)
			}
			r.row[i] = csvCell(c)
		}
		if err := r.w.Write(r.row); err != nil {
			return fmt.Errorf("report: write csv: %w", err)
		}
	}
	r.w.Flush()
	if err := r.w.Error(); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	return nil
}

// Close writes the header if no finding did, so an empty report is still a
// well-formed table.
func (r *csvReporter) Close() error {
	if err := r.writeHeader(); err != nil {
		return err
	}
	r.w.Flush()
	if err := r.w.Error(); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	return nil
}

// csvCell escapes control characters (ESC, BEL, CR, newlines...), invalid
// UTF-8 and bidirectional overrides as Go escapes (termsafe.String: \x1b,
// \a, \n), so that a file name cannot drive the terminal that shows the
// CSV, and guards the cell against formula injection (CWE-1236): a
// spreadsheet evaluates a cell that starts with = + - @, so such a cell
// gets a leading single quote, which spreadsheets show as text and do not
// display.
func csvCell(s string) string {
	s = termsafe.String(s)
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
