package incident

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bks-dev/bks/awsops/iamscan"
	"github.com/bks-dev/bks/awsops/timeline"
)

// Formats.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
)

// Write renders the report in format.
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		return nil
	case FormatText, FormatMarkdown, "":
		p := &printer{w: w, md: format == FormatMarkdown}
		r.render(p)
		return p.err
	}
	return fmt.Errorf("write report: unknown format %q (want text, markdown or json)", format)
}

type printer struct {
	w   io.Writer
	md  bool
	err error
}

func (p *printer) f(format string, a ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, a...)
	}
}

func (p *printer) heading(level int, s string) {
	if p.md {
		p.f("\n%s %s\n\n", strings.Repeat("#", level), s)
		return
	}
	if level == 1 {
		p.f("%s\n%s\n", s, strings.Repeat("=", len([]rune(s))))
		return
	}
	p.f("\n%s\n%s\n", s, strings.Repeat("-", len([]rune(s))))
}

func (p *printer) item(format string, a ...any) {
	if p.md {
		p.f("- "+format+"\n", a...)
		return
	}
	p.f("  "+format+"\n", a...)
}

func (p *printer) code(s string) string {
	if p.md {
		return "`" + s + "`"
	}
	return s
}

// state prints a section's reason when it has one; it returns true when
// the section has content to print.
// names writes one item per name, or "None".
func (p *printer) names(names []string) {
	if len(names) == 0 {
		p.item("None")
	}
	for _, n := range names {
		p.item("%s", n)
	}
}

func (p *printer) state(s Section) bool {
	switch s.State {
	case StateUnavailable:
		p.item("Could not be read: %s", s.Reason)
		return false
	case StateNotApplicable:
		p.item("Not applicable: %s", s.Reason)
		return false
	}
	if s.Reason != "" {
		p.item("Note: %s", s.Reason)
	}
	return true
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (r *Report) render(p *printer) {
	t := r.Target
	title := "Incident report: "
	if t.Key != "" {
		title += t.Kind + " key " + t.Key
	} else {
		title += "IAM user " + t.UserName
	}
	p.heading(1, title)
	if p.md {
		p.f("\n")
	}
	p.item("Account: %s (%s)", r.Account, r.Partition)
	p.item("Generated: %s", ts(r.GeneratedAt))
	if t.Kind == "short-term" {
		p.item("Access key id: %s, region %s", t.AccessKeyID, t.Region)
		if t.IssuedAt != nil && t.ExpiresAt != nil {
			p.item("Signed %s, expires %s", ts(*t.IssuedAt), ts(*t.ExpiresAt))
		}
	}
	u := r.User
	now := r.GeneratedAt

	p.heading(2, "User")
	if p.state(r.Sections[SecUser]) && u != nil {
		p.item("Name: %s", u.UserName)
		p.item("ARN: %s", u.ARN)
		p.item("Path: %s", u.Path)
		p.item("Created: %s (%s)", ts(u.Created), iamscan.Ago(now.Sub(u.Created)))
		p.item("Console-made phantom user: %v", u.Phantom)
		p.item("Category: %s — %s", u.Status, strings.Join(u.Reasons, "; "))
	}

	p.heading(2, "Bedrock credentials")
	if p.state(r.Sections[SecCredentials]) && u != nil {
		if len(u.BedrockKeys) == 0 {
			p.item("None")
		}
		for _, c := range u.BedrockKeys {
			exp := "never expires"
			if c.Expires != nil {
				exp = "expires " + ts(*c.Expires)
			}
			p.item("%s: %s, created %s (%s old), %s", p.code(c.ID), c.Status, ts(c.Created), strings.TrimSuffix(iamscan.Ago(now.Sub(c.Created)), " ago"), exp)
		}
	}

	p.heading(2, "Access keys")
	if p.state(r.Sections[SecAccessKeys]) && u != nil {
		if len(u.AccessKeys) == 0 {
			p.item("None")
		}
		for _, k := range u.AccessKeys {
			last := "never used"
			if k.LastUsed != nil {
				last = fmt.Sprintf("last used %s by %s in %s", ts(*k.LastUsed), dash(k.LastUsedService), dash(k.LastUsedRegion))
			}
			p.item("%s: %s, created %s, %s", p.code(k.ID), k.Status, ts(k.Created), last)
		}
	}

	p.heading(2, "Console password")
	if p.state(r.Sections[SecConsole]) && u != nil {
		if u.LoginProfile == nil {
			p.item("None")
		} else {
			used := "never used"
			if u.PasswordLastUsed != nil {
				used = "last used " + ts(*u.PasswordLastUsed)
			}
			p.item("Set %s, %s", ts(u.LoginProfile.Created), used)
		}
	}

	p.heading(2, "MFA")
	if p.state(r.Sections[SecMFA]) && u != nil {
		p.names(u.MFADevices)
	}

	p.heading(2, "Groups")
	if p.state(r.Sections[SecGroups]) && u != nil {
		p.names(u.Groups)
	}

	p.heading(2, "Policies")
	if p.state(r.Sections[SecPolicies]) && u != nil {
		p.item("Attached: %s", list(u.AttachedPolicies))
		p.item("Inline: %s", list(u.InlinePolicies))
		p.item("Permissions boundary: %s", dash(u.PermissionsBoundary))
	}

	p.heading(2, "Timeline")
	if p.state(r.Sections[SecTimeline]) && r.Timeline != nil {
		tl := r.Timeline
		p.item("Searched %s in %d region(s), %s to %s", strings.Join(tl.Lookups, ", "), len(tl.Regions), ts(tl.Start), ts(tl.End))
		for _, w := range tl.Warnings {
			p.item("Warning: %s", w)
		}
		s := tl.Summary
		if s.Events == 0 {
			p.item("No events")
		} else {
			p.item("Events: %d, first seen %s, last seen %s", s.Events, ts(*s.FirstSeen), ts(*s.LastSeen))
			p.item("Regions: %s", counts(s.Regions))
			p.item("Source IPs (%d): %s", len(s.SourceIPs), counts(s.SourceIPs))
			p.item("User agents: %s", counts(s.UserAgents))
			p.item("Events by name: %s", counts(s.EventNames))
			p.item("Calls with a Bedrock API key: %d; failed calls: %d", s.BearerTokenCalls, s.Errors)
		}
	}

	p.heading(2, "Bedrock usage")
	if p.state(r.Sections[SecUsage]) && r.Timeline != nil {
		s := r.Timeline.Summary
		p.item("Model invocations: %d", s.Invocations)
		for _, c := range s.InvocationsByModel {
			p.item("%s: %d", c.Name, c.Count)
		}
	}

	p.heading(2, "Bedrock cost (Cost Explorer)")
	if p.state(r.Sections[SecCost]) {
		if len(r.Cost) == 0 {
			p.item("No Bedrock cost in the window")
		}
		for _, c := range r.Cost {
			p.item("%s %s: %s %s", c.Date, c.Service, c.Amount, c.Unit)
		}
	}

	p.heading(2, "Risk: "+strings.ToUpper(r.Risk.Level))
	for _, why := range r.Risk.Reasons {
		p.item("%s", why)
	}

	p.heading(2, "Recommended actions")
	for i, a := range r.Actions {
		if p.md {
			p.f("%d. %s\n", i+1, a)
		} else {
			p.f("  %d. %s\n", i+1, strings.ReplaceAll(a, "`", ""))
		}
	}
}

func counts(cs []timeline.Count) string {
	if len(cs) == 0 {
		return "-"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s ×%d", c.Name, c.Count)
	}
	return strings.Join(parts, ", ")
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
