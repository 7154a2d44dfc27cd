package timeline

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes the timeline as a table, then the summary.
func (r *Result) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "CloudTrail %s, %s to %s (%d days), %d region(s)\n", strings.Join(r.Lookups, ", "),
		r.Start.Format(time.RFC3339), r.End.Format(time.RFC3339), r.Days, len(r.Regions))
	for _, wn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", wn)
	}
	for _, f := range r.Failed {
		fmt.Fprintf(w, "warning: %s not read: %s\n", f.Region, f.Error)
	}
	if len(r.Events) == 0 {
		fmt.Fprintln(w, "\nNo events.")
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tREGION\tEVENT\tSOURCE\tIP\tUSER AGENT\tERROR")
	for _, e := range r.Events {
		name := e.Name
		if e.BearerToken {
			name += " [API key" + strings.TrimRight(" "+e.BearerTokenType, " ") + "]"
		}
		if e.IsInvocation() {
			name = "* " + name
			if e.ModelID != "" {
				name += " " + e.ModelID
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), e.Region, name,
			strings.TrimSuffix(e.Source, ".amazonaws.com"), dash(e.SourceIP), dash(clipUA(e.UserAgent)), dash(e.ErrorCode))
	}
	tw.Flush()
	fmt.Fprintln(w, "\n* model invocation   [API key] called with a Bedrock API key (bearer token)")
	fmt.Fprintln(w)
	r.Summary.WriteText(w)
	return nil
}

// WriteText writes the summary.
func (s Summary) WriteText(w io.Writer) {
	if s.Events == 0 {
		fmt.Fprintln(w, "Summary: no events in the window.")
		return
	}
	fmt.Fprintf(w, "Summary: %d events, first %s, last %s\n", s.Events, s.FirstSeen.Format(time.RFC3339), s.LastSeen.Format(time.RFC3339))
	fmt.Fprintf(w, "  regions:           %s\n", join(s.Regions))
	fmt.Fprintf(w, "  source IPs (%d):    %s\n", len(s.SourceIPs), join(s.SourceIPs))
	fmt.Fprintf(w, "  events:            %s\n", join(s.EventNames))
	fmt.Fprintf(w, "  model invocations: %d", s.Invocations)
	if s.Invocations > 0 {
		fmt.Fprintf(w, " (%s)", join(s.InvocationsByModel))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  with an API key:   %d, errors: %d\n", s.BearerTokenCalls, s.Errors)
}

func join(cs []Count) string {
	if len(cs) == 0 {
		return "-"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s ×%d", c.Name, c.Count)
	}
	return strings.Join(parts, ", ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clipUA(s string) string {
	if len(s) > 40 {
		return s[:39] + "…"
	}
	return s
}
