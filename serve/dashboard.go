package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/bks-dev/bks/serve/store"
)

// The dashboard (GET / and GET /dashboard) is one server-rendered page of
// what the store holds: open incidents by account and severity, the
// latest actions and deliveries, the queue, mean time to remediate with its
// weekly trend, and, from a KPISource when one is configured, the live
// long-term keys per account and the other two KPIs. It only reads. It has
// no script: html/template writes every value escaped for where it goes,
// and the page's Content-Security-Policy allows nothing but its own
// stylesheet, so a repository named "<script>…" is text on the page.
//
// Access: with a token (DashboardConfig.Token), every client must send
// "Authorization: Bearer TOKEN" (compared in constant time); without one,
// only loopback clients are served. Behind a reverse proxy on the same
// host every client is loopback: give the dashboard a token there.

// KPISource supplies what the store of deliveries and incidents does not
// know: the key inventory (kept from CloudTrail events) and the KPIs
// computed from it and from CloudTrail's Bedrock events. The dashboard
// takes one optionally and shows "not available" without it.
type KPISource interface {
	DashboardKPIs(ctx context.Context, now time.Time) (KPISnapshot, error)
}

// KPISnapshot is what a KPISource reports at one moment.
type KPISnapshot struct {
	// LiveKeys are the long-term keys alive now, in every account.
	LiveKeys []LiveKey
	// ActiveKeys is the number of active long-term keys per account (the
	// goal is zero), with its trend.
	ActiveKeys []AccountSeries
	// RoleShare is, per account, the share (0 to 1) of Bedrock calls made
	// with IAM roles rather than API keys, with its trend.
	RoleShare []AccountSeries
}

// LiveKey is one long-term key the inventory knows to be alive. Never the
// key: who holds it and its id.
type LiveKey struct {
	AccountID string
	User      string // the BedrockAPIKey-* IAM user
	KeyID     string // the service-specific credential or access key id
	Kind      string // bedrock-api-key, access-key…
	Created   time.Time
}

// AccountSeries is a KPI of one account: its value now and earlier values,
// oldest first.
type AccountSeries struct {
	AccountID string
	Now       float64
	Trend     []Point
}

// Point is one value of a trend.
type Point struct {
	At    time.Time
	Value float64
}

// DashboardConfig is how the dashboard is served.
type DashboardConfig struct {
	// Token, when set, is the bearer token every client must send; when
	// empty, only loopback clients are served.
	Token []byte
	// KPIs supplies the inventory and the KPIs (nil: "not available").
	KPIs KPISource
	// Now is the clock (time.Now).
	Now func() time.Time
}

// ReadDashboardToken reads a token file: its content without surrounding
// white space, refused when empty or readable by others.
func ReadDashboardToken(path string) ([]byte, error) {
	b, err := ReadPrivateFile("dashboard token", path)
	if err != nil {
		return nil, err
	}
	tok := []byte(strings.TrimSpace(string(b)))
	if len(tok) == 0 {
		return nil, fmt.Errorf("dashboard token %s: empty", path)
	}
	return tok, nil
}

// ReadPrivateFile reads a file that holds a secret of the service (what
// names it in errors): the dashboard token, the events secret, the App's
// private key. A file that group or others may read is refused: the
// secret may already be known to other users of the machine.
func ReadPrivateFile(what, path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s %s: mode %v, want no access for group and others (chmod 600)", what, path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}

// dashboardAccess wraps h with the dashboard's access rule.
func dashboardAccess(token []byte, h http.Handler) http.Handler {
	want := sha256.Sum256(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(token) > 0 {
			got, ok := bearerToken(r)
			// Compare digests: equal lengths, so the compare's time says
			// nothing of the token's length either.
			sum := sha256.Sum256([]byte(got))
			if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="bks dashboard"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		} else if !loopback(r.RemoteAddr) {
			http.Error(w, "the dashboard is served to loopback clients only (give it a token: --dashboard-token-file)", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// bearerToken returns the token of an "Authorization: Bearer" header (the
// scheme is case-insensitive, RFC 6750 section 2.1 and RFC 9110 11.1).
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

func loopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// dashboard serves the page.
type dashboard struct {
	st      *store.Store
	cfg     DashboardConfig
	timeout time.Duration
	log     interface {
		Warn(msg string, args ...any)
	}
}

// dashboardLimit is how many rows each list shows.
const dashboardLimit = 50

func (d *dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), d.timeout)
	defer cancel()
	v, err := d.view(ctx)
	if err != nil {
		d.log.Warn("dashboard", "err", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", dashboardCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	if err := dashboardPage.Execute(w, v); err != nil {
		d.log.Warn("dashboard render", "err", err)
	}
}

// view reads everything the page shows.
func (d *dashboard) view(ctx context.Context) (*dashView, error) {
	now := time.Now()
	if d.cfg.Now != nil {
		now = d.cfg.Now()
	}
	v := &dashView{Now: now, Refresh: 30}
	counts, err := d.st.OpenCounts(ctx)
	if err != nil {
		return nil, err
	}
	v.Matrix = openMatrix(counts)
	if v.Open, err = d.st.OpenIncidents(ctx, dashboardLimit); err != nil {
		return nil, err
	}
	v.OpenMore = max(v.Matrix.Total-len(v.Open), 0)
	if v.Actions, err = d.st.RecentActions(ctx, dashboardLimit); err != nil {
		return nil, err
	}
	if v.Jobs, v.Deliveries, err = d.st.QueueStates(ctx); err != nil {
		return nil, err
	}
	if v.Recent, err = d.st.RecentDeliveries(ctx, dashboardLimit); err != nil {
		return nil, err
	}
	rems, err := d.st.Remediations(ctx)
	if err != nil {
		return nil, err
	}
	v.MTTR = meanTimeToRemediate(rems, now)
	if d.cfg.KPIs != nil {
		k, err := d.cfg.KPIs.DashboardKPIs(ctx, now)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			v.KPIErr = err.Error() // the rest of the page is still worth showing
		} else {
			v.KPIs = &k
		}
	}
	return v, nil
}

// newDashboard returns the dashboard's handler, access rule included.
func newDashboard(st *store.Store, cfg DashboardConfig, timeout time.Duration, log interface {
	Warn(msg string, args ...any)
}) http.Handler {
	return dashboardAccess(cfg.Token, &dashboard{st: st, cfg: cfg, timeout: timeout, log: log})
}

// dashboardCSP allows the page its own inline stylesheet (by its digest)
// and nothing else: no script, no frame, no form, no image, no font.
var dashboardCSP = func() string {
	sum := sha256.Sum256([]byte(dashboardCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

// severityOrder are the severities most urgent first; others follow in
// alphabetical order, the empty one last.
var severityOrder = []string{"critical", "high", "medium", "low"}

// matrix is open incidents counted by account (rows) and severity
// (columns).
type matrix struct {
	Severities []string
	Rows       []matrixRow
	Total      int
}

type matrixRow struct {
	Account string
	Counts  []int
	Total   int
}

func openMatrix(counts []store.OpenCount) matrix {
	sevs := map[string]bool{}
	by := map[string]map[string]int{}
	for _, c := range counts {
		sevs[c.Severity] = true
		if by[c.AccountID] == nil {
			by[c.AccountID] = map[string]int{}
		}
		by[c.AccountID][c.Severity] += c.Open
	}
	var m matrix
	rank := func(s string) int {
		for i, k := range severityOrder {
			if s == k {
				return i
			}
		}
		if s == "" {
			return len(severityOrder) + 1
		}
		return len(severityOrder)
	}
	for s := range sevs {
		m.Severities = append(m.Severities, s)
	}
	sort.Slice(m.Severities, func(i, j int) bool {
		a, b := m.Severities[i], m.Severities[j]
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		return a < b
	})
	for acct, counts := range by {
		row := matrixRow{Account: acct}
		for _, s := range m.Severities {
			row.Counts = append(row.Counts, counts[s])
			row.Total += counts[s]
		}
		m.Rows = append(m.Rows, row)
		m.Total += row.Total
	}
	sort.Slice(m.Rows, func(i, j int) bool {
		if m.Rows[i].Total != m.Rows[j].Total {
			return m.Rows[i].Total > m.Rows[j].Total
		}
		return m.Rows[i].Account < m.Rows[j].Account
	})
	return m
}
