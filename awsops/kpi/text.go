package kpi

import (
	"fmt"
	"io"
	"time"
)

// WriteText prints r for a terminal: one line per account, then the MTTR,
// then what could not be read.
func (r Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "Bedrock key KPIs at %s (calls since %s)\n\n", r.At.Format(time.RFC3339), r.Since.Format("2006-01-02"))
	fmt.Fprintf(w, "%-14s %10s %10s %8s %8s %8s\n", "ACCOUNT", "LIVE KEYS", "ROLE SHARE", "ROLE", "API KEY", "IAM USER")
	for _, a := range r.Accounts {
		keys, share := "?", "-"
		if a.KeysKnown {
			keys = fmt.Sprint(a.LiveKeys)
		}
		if a.RoleShare != nil {
			share = fmt.Sprintf("%.1f%%", *a.RoleShare*100)
		}
		fmt.Fprintf(w, "%-14s %10s %10s %8d %8d %8d\n", a.Account, keys, share, a.Calls.Role, a.Calls.APIKey, a.Calls.User)
	}
	if len(r.Accounts) == 0 {
		fmt.Fprintln(w, "(no account)")
	}
	m := r.MTTR
	fmt.Fprintln(w)
	if m.MeanSeconds != nil {
		fmt.Fprintf(w, "Mean time to remediate: %s over %d incident(s); %d open", (time.Duration(*m.MeanSeconds) * time.Second).Round(time.Second), m.Remediated, m.Open)
	} else {
		fmt.Fprintf(w, "Mean time to remediate: - (no incident remediated); %d open", m.Open)
	}
	if m.Untimed > 0 {
		fmt.Fprintf(w, "; %d remediated at an unknown time (not in the mean)", m.Untimed)
	}
	fmt.Fprintln(w)
	for _, s := range r.Incomplete {
		fmt.Fprintln(w, "INCOMPLETE: "+s)
	}
}
