package serve

import (
	"fmt"
	"github.com/bks-dev/bks/awsops/kpi"
	"html/template"
	"sort"
	"strings"
	"time"

	"github.com/bks-dev/bks/internal/termsafe"
	"github.com/bks-dev/bks/serve/store"
)

// dashView is everything the page shows.
type dashView struct {
	Now        time.Time
	Refresh    int // seconds between reloads (meta refresh: no script)
	Open       []store.OpenIncident
	OpenMore   int // open incidents not listed
	Matrix     matrix
	Actions    []store.Action
	Jobs       map[string]int
	Deliveries map[string]int
	Recent     []store.DeliveryState
	MTTR       mttr
	KPIs       *KPISnapshot // nil: no source, or it failed (KPIErr)
	KPIErr     string
}

// Mean time to remediate is computed over trendWeeks weeks, and every
// trend of the page (the three KPIs) has one point per week, the last
// ending now.
const (
	trendWeeks = 8
	week       = 7 * 24 * time.Hour
)

// weekBounds are the bounds of the trends' weeks at now, oldest first:
// trendWeeks+1 times, the last now. Week i is [bounds[i], bounds[i+1]);
// its point is at its end.
func weekBounds(now time.Time) []time.Time {
	b := make([]time.Time, trendWeeks+1)
	for i := range b {
		b[i] = now.Add(-time.Duration(trendWeeks-i) * week)
	}
	return b
}

// mttr is mean time to remediate, from an incident's first sighting to
// its key's revocation.
type mttr struct {
	Count      int
	Mean       time.Duration
	PerAccount []accountMTTR
	Trend      []Point // one per week, oldest first; Value in seconds, -1 for a week without revocation
}

type accountMTTR struct {
	AccountID string
	Count     int
	Mean      time.Duration
}

// meanTimeToRemediate averages the remediations of the last trendWeeks
// weeks, overall, per account and per week.
func meanTimeToRemediate(rems []kpi.Remediation, now time.Time) mttr {
	var m mttr
	var total time.Duration
	type acc struct {
		n   int
		sum time.Duration
	}
	per := map[string]*acc{}
	weeks := make([]acc, trendWeeks)
	bounds := weekBounds(now)
	start := bounds[0]
	for _, r := range rems {
		d := r.Remediated.Sub(r.Detected)
		if r.Remediated.IsZero() || d < 0 || r.Remediated.Before(start) || r.Remediated.After(now) {
			continue // a revocation before the sighting was imported from elsewhere: no time to remediate
		}
		m.Count++
		total += d
		if per[r.AccountID] == nil {
			per[r.AccountID] = &acc{}
		}
		per[r.AccountID].n++
		per[r.AccountID].sum += d
		i := min(int(r.Remediated.Sub(start)/week), trendWeeks-1)
		weeks[i].n++
		weeks[i].sum += d
	}
	if m.Count > 0 {
		m.Mean = total / time.Duration(m.Count)
	}
	for id, a := range per {
		m.PerAccount = append(m.PerAccount, accountMTTR{AccountID: id, Count: a.n, Mean: a.sum / time.Duration(a.n)})
	}
	sort.Slice(m.PerAccount, func(i, j int) bool { return m.PerAccount[i].AccountID < m.PerAccount[j].AccountID })
	for i, w := range weeks {
		p := Point{At: bounds[i+1], Value: -1}
		if w.n > 0 {
			p.Value = (w.sum / time.Duration(w.n)).Seconds()
		}
		m.Trend = append(m.Trend, p)
	}
	return m
}

// sparkline is a trend as the points of an SVG polyline 100 by 20 (the
// largest value at the top); points with a negative value (no data) are
// left out. It is numbers only.
func sparkline(ps []Point) string {
	hi := 0.0
	for _, p := range ps {
		hi = max(hi, p.Value)
	}
	var b strings.Builder
	for i, p := range ps {
		if p.Value < 0 {
			continue
		}
		x := 0.0
		if len(ps) > 1 {
			x = 100 * float64(i) / float64(len(ps)-1)
		}
		y := 19.0
		if hi > 0 {
			y = 19 - 18*p.Value/hi
		}
		fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
	}
	return strings.TrimSpace(b.String())
}

// trendWords says how a trend moved from its first known value to its
// last, in the unit fmtValue gives.
func trendWords(ps []Point, fmtValue func(float64) string) string {
	var known []float64
	for _, p := range ps {
		if p.Value >= 0 {
			known = append(known, p.Value)
		}
	}
	switch {
	case len(known) == 0:
		return "no data yet"
	case len(known) == 1:
		return "one point: " + fmtValue(known[0])
	}
	first, last := known[0], known[len(known)-1]
	word := "flat"
	if last > first {
		word = "up"
	} else if last < first {
		word = "down"
	}
	return fmt.Sprintf("%s, from %s to %s", word, fmtValue(first), fmtValue(last))
}

func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < 48*time.Hour:
		return d.Round(time.Second).String()
	}
	return fmt.Sprintf("%.1f days", d.Hours()/24)
}

func fmtSeconds(s float64) string { return fmtDuration(time.Duration(s * float64(time.Second))) }

func fmtShare(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) }

func fmtCount(v float64) string { return fmt.Sprintf("%.0f", v) }

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// shortFP is the start of a fingerprint, enough to tell keys apart on the
// page.
func shortFP(fp string) string {
	if len(fp) > 12 {
		return textOf(fp[:12]) + "…"
	}
	return textOf(fp) // an imported state file's fingerprint is not ours
}

// textOf is a value from the store (a repository's name, a path, an
// error) fit for the page: control characters, bidirectional overrides
// and invalid UTF-8 shown as escapes (termsafe), so that a name made to
// drive a terminal or reorder the text reads as what it is. html/template
// escapes the rest.
func textOf(s string) string { return termsafe.String(s) }

var dashboardFuncs = template.FuncMap{
	"t": textOf, "time": fmtTime, "dur": fmtDuration, "fp": shortFP,
	"spark": sparkline, "share": fmtShare, "count": fmtCount, "secs": fmtSeconds,
	"trend": func(kind string, ps []Point) string {
		f := map[string]func(float64) string{"share": fmtShare, "count": fmtCount, "secs": fmtSeconds}[kind]
		return trendWords(ps, f)
	},
	"dflt": func(alt, s string) string {
		if s == "" {
			return alt
		}
		return s
	},
}
