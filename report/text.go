package report

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/termsafe"
)

// ANSI styles of the text format, used only with Options.Color.
const (
	ansiReset  = "\x1b[0m"
	ansiRule   = "\x1b[1;31m" // bold red
	ansiKey    = "\x1b[1m"    // bold
	ansiLabel  = "\x1b[2m"    // dim
	ansiWarn   = "\x1b[33m"   // yellow
	ansiPath   = "\x1b[36m"   // cyan
	ansiSecret = "\x1b[1;35m" // bold magenta
)

// textReporter writes one block per finding for people, and a summary line
// at Close. It writes nothing at all when there is no finding to show.
type textReporter struct {
	w    io.Writer
	opts Options
	buf  bytes.Buffer

	shown   int            // findings written
	places  int            // places they were found at
	rules   map[string]int // distinct keys per rule id
	keys    map[string]bool
	expired int // distinct expired keys
	hidden  int // suppressed findings not shown
	closed  bool
}

var _ Reporter = (*textReporter)(nil)

func newText(w io.Writer, opts Options) *textReporter {
	return &textReporter{w: w, opts: opts, rules: map[string]int{}, keys: map[string]bool{}}
}

func (r *textReporter) style(code, s string) string {
	if !r.opts.Color || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (r *textReporter) field(label, value string) {
	if value == "" {
		return
	}
	r.buf.WriteString("  ")
	r.buf.WriteString(r.style(ansiLabel, fmt.Sprintf("%-12s", label)))
	r.buf.WriteByte(' ')
	r.buf.WriteString(value)
	r.buf.WriteByte('\n')
}

func (r *textReporter) Finding(f findings.Finding) error {
	if !shown(&f, r.opts) {
		r.hidden++
		return nil
	}
	p := prepare(f, r.opts)
	r.buf.Reset()
	if r.shown > 0 {
		r.buf.WriteByte('\n')
	}
	r.block(&p)
	scrubTail(&r.buf, 0, &f, r.opts)
	if _, err := r.w.Write(r.buf.Bytes()); err != nil {
		return fmt.Errorf("report: write text: %w", err)
	}

	r.shown++
	locs := places(&p)
	r.places += len(locs)
	if !r.keys[p.Fingerprint] {
		r.keys[p.Fingerprint] = true
		r.rules[p.RuleID]++
		if p.Key != nil && p.Key.Expired != nil && *p.Key.Expired {
			r.expired++
		}
	}
	return nil
}

// block writes the lines of one finding into r.buf.
func (r *textReporter) block(f *findings.Finding) {
	head := r.style(ansiRule, safe(f.RuleID)) + "  " + r.style(ansiKey, safe(f.Redacted))
	if k := f.Key; k != nil && k.Expired != nil && *k.Expired {
		head += "  " + r.style(ansiWarn, "EXPIRED")
	}
	switch f.Confidence {
	case findings.ConfidenceLow:
		head += "  " + r.style(ansiWarn, "low confidence")
	case findings.ConfidencePartial:
		head += "  " + r.style(ansiWarn, "PARTIAL")
	}
	if f.Suppressed != "" {
		head += "  " + r.style(ansiLabel, "suppressed")
	}
	r.buf.WriteString(head)
	r.buf.WriteByte('\n')

	if f.Error != "" {
		r.field("Problem", safe(f.Error))
	}
	if k := f.Key; k != nil && k.PartialReason != "" {
		r.field("Partial", safe(k.PartialReason))
	}
	if k := f.Key; k != nil {
		desc := k.Type + " " + k.Service + " key"
		if k.KeyPosition != "" {
			desc += ", " + k.KeyPosition + " credential"
		}
		r.field("Key", safe(desc))
		acct := k.AccountID
		if acct != "" && k.Partition != "" {
			acct += " (" + k.Partition + ")"
		}
		r.field("Account", safe(acct))
		r.field("User", safe(k.Username))
		r.field("User ARN", safe(k.UserARN))
		r.field("Access key", safe(k.AccessKeyID))
		r.field("Region", safe(k.Region))
		if k.IssuedAt != nil {
			r.field("Issued", k.IssuedAt.UTC().Format(time.RFC3339))
		}
		if k.ExpiresAt != nil {
			exp := k.ExpiresAt.UTC().Format(time.RFC3339)
			switch {
			case k.Expired != nil && *k.Expired:
				exp += "  " + r.style(ansiWarn, "EXPIRED")
			case k.ExpiresInSeconds != nil:
				exp += "  (in " + secondsText(*k.ExpiresInSeconds) + ")"
			}
			r.field("Expires", exp)
		}
		r.field("Time note", safe(k.TimeError))
	}
	for _, l := range places(f) {
		r.field("Location", r.location(l))
		if l.Commit != "" {
			label, c := "Commit", l.Commit
			if isLayer(l) {
				label, c = "Layer", strings.TrimPrefix(c, layerPrefix)
			}
			if len(c) > 12 {
				c = c[:12]
			}
			if label == "Layer" {
				c = layerPrefix + c
			}
			if l.Author != "" {
				c += " " + l.Author
			}
			if l.Email != "" {
				c += " <" + l.Email + ">"
			}
			if l.Date != nil {
				c += " " + l.Date.UTC().Format("2006-01-02")
			}
			if l.Message != "" {
				c += " " + strconv.Quote(truncate(l.Message, 72))
			}
			r.field(label, safe(c))
		} else if l.Author != "" {
			r.field("Author", safe(byline(l)))
		}
		if l.HTMLURL != "" {
			r.field("URL", safe(l.HTMLURL))
		}
	}
	if f.Suppressed != "" {
		r.field("Suppressed", safe(f.Suppressed))
	}
	if f.Live != "" {
		r.field("Live check", safe(f.Live+" ("+f.LiveReason+")"))
	}
	r.field("Fingerprint", f.Fingerprint)
	if f.Secret != "" {
		r.field("Secret", r.style(ansiSecret, f.Secret))
	}
}

// byline says who wrote a text on a host outside git (an issue, a
// comment), what it is and when: "issue-comment by alice 2025-05-01".
func byline(l findings.Location) string {
	s := l.Author
	if l.Kind != "" {
		s = l.Kind + " by " + s
	}
	if l.Date != nil {
		s += " " + l.Date.UTC().Format("2006-01-02")
	}
	return s
}

// layerPrefix starts the Commit of a container image layer (sources/image
// puts the layer digest there), which no git commit id does.
const layerPrefix = "sha256:"

// isLayer says l is in a container image layer: Commit is its digest and
// InHead says whether the file is in the final image.
func isLayer(l findings.Location) bool { return strings.HasPrefix(l.Commit, layerPrefix) }

func (r *textReporter) location(l findings.Location) string {
	where := l.Path
	if where == "" {
		where = "(" + l.Kind + ")"
		if l.Kind == "" {
			where = "(unknown)"
		}
	}
	if l.Repo != "" {
		where = l.Repo + ": " + where
	}
	s := r.style(ansiPath, safe(where))
	if l.Line > 0 {
		s += fmt.Sprintf(":%d:%d", l.Line, l.Column)
	}
	var notes []string
	if l.Encoding != "" {
		notes = append(notes, l.Encoding+"-encoded")
	}
	if l.Pieces > 1 {
		notes = append(notes, fmt.Sprintf("joined from %d pieces", l.Pieces))
	}
	if l.Transcoded != "" {
		notes = append(notes, "from "+l.Transcoded)
	}
	if l.InHead != nil && !*l.InHead {
		if isLayer(l) {
			notes = append(notes, "not in final image")
		} else {
			notes = append(notes, "not in HEAD")
		}
	}
	if len(notes) > 0 {
		s += " (" + safe(strings.Join(notes, ", ")) + ")"
	}
	return s
}

// Close prints the summary line, or nothing when no finding was shown.
func (r *textReporter) Close() error {
	if r.shown == 0 || r.closed {
		return nil
	}
	r.closed = true
	n := len(r.keys)
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%s in %s", plural(n, "key", "keys"), plural(r.places, "place", "places"))
	ids := make([]string, 0, len(r.rules))
	for id := range r.rules {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if r.rules[ids[i]] != r.rules[ids[j]] {
			return r.rules[ids[i]] > r.rules[ids[j]]
		}
		return ids[i] < ids[j]
	})
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("%d %s", r.rules[id], safe(id))
	}
	sb.WriteString(": " + strings.Join(parts, ", "))
	if r.expired > 0 {
		fmt.Fprintf(&sb, "; %d expired", r.expired)
	}
	if r.hidden > 0 {
		fmt.Fprintf(&sb, "; %d suppressed not shown", r.hidden)
	}
	sb.WriteString("\n")
	if _, err := io.WriteString(r.w, sb.String()); err != nil {
		return fmt.Errorf("report: write text: %w", err)
	}
	return nil
}

// secondsText writes a count of seconds as a duration ("2h0m0s"); a count
// too large for time.Duration is written in days rather than clamped.
func secondsText(secs int64) string {
	if secs > int64(math.MaxInt64/time.Second) || secs < int64(math.MinInt64/time.Second) {
		return strconv.FormatInt(secs/86400, 10) + " days"
	}
	return (time.Duration(secs) * time.Second).String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)
	return string(rs[:n-1]) + "…"
}

// safe makes text that bks did not write (file names, commit authors and
// messages) harmless on a terminal (termsafe.String).
func safe(s string) string { return termsafe.String(s) }
