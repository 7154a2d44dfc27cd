package serve

import (
	"context"
	"errors"
	"fmt"
	"github.com/bks-dev/bks/awsops/kpi"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/serve/store"
)

// hostileRepo is a repository name made to run a script in the page, break
// out of an attribute, clear a terminal and reverse the text after it.
const hostileRepo = "evil/<script>alert(1)</script>\"'><img src=x onerror=alert(2)>\x1b[2J\x1b]0;pwned\a\u202erepo"

// fillStore records what a running service would have: two open incidents
// (one seen in hostileRepo), one revoked an hour after it was first seen,
// their actions and a delivery.
func fillStore(t *testing.T, st *store.Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.AddDelivery(ctx, store.Delivery{ID: "dash-delivery-1", Event: "push", ReceivedAt: now, Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	open := []struct {
		inc   store.Incident
		where store.Sighting
	}{
		{store.Incident{Fingerprint: "fp-open-critical-0001", Redacted: "ABSK…QUFB", AccountID: "111122223333", Severity: "critical", KeyKind: "long-term", Principal: "BedrockAPIKey-open1"},
			store.Sighting{DeliveryID: "dash-delivery-1", Repository: hostileRepo, Commit: "abc", Path: "conf/<b>.env\x1b[31m", Line: 3}},
		{store.Incident{Fingerprint: "fp-open-high-0002", Redacted: "ABSK…QkJC", AccountID: "444455556666", Severity: "high"},
			store.Sighting{Repository: "octo/plain", Commit: "def", Path: "a.env", Line: 1}},
	}
	for _, o := range open {
		if _, err := st.RecordFinding(ctx, o.inc, o.where); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.RecordEffect(ctx, store.Effect{Key: "notify/fp-open-high-0002", Kind: "notify", Fingerprint: "fp-open-high-0002",
		Result: "done", Detail: "posted to <owner>", At: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// Revoked one hour after it was first seen.
	if _, err := st.Import(ctx, []store.Imported{{Incident: store.Incident{Fingerprint: "fp-revoked-0003", Redacted: "ABSK…Q0ND",
		AccountID: "111122223333", Severity: "critical", Status: "revoked", FirstSeen: now.Add(-26 * time.Hour), LastSeen: now.Add(-26 * time.Hour)},
		RevokedAt: now.Add(-25 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
}

// getPage fetches the dashboard with an optional bearer token.
func getPage(t *testing.T, url, token string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestDashboardShowsTheStore: the page lists the open incidents by account
// and severity, the actions and the deliveries, and computes mean time to
// remediate (1 h) from the store; without a KPI source the inventory and
// the other KPIs say "not available". A hostile repository name is text:
// no <script> or <img> element, no attribute broken out of, no terminal
// escape or bidirectional override left raw.
func TestDashboardShowsTheStore(t *testing.T) {
	ts := startServer(t, "", Config{Process: blocked})
	fillStore(t, ts.st, time.Now())
	for _, path := range []string{"/", "/dashboard"} {
		resp, page := getPage(t, ts.url+path, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, page)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
	}
	_, page := getPage(t, ts.url+"/dashboard", "")
	for _, want := range []string{
		"ABSK…QUFB", "111122223333", "444455556666", "BedrockAPIKey-open1", // open incidents
		"fp-open-crit…", "posted to &lt;owner&gt;", // actions
		"dash-delivery-1", // deliveries
		"evil/&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;\\x1b[2J\\x1b]0;pwned\\a\\u202erepo",
		`conf/&lt;b&gt;.env\x1b[31m:3`,
		"1h0m0s", // mean time to remediate
		"not available",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "<img", "\x1b", "\a", "\u202e", "fp-open-critical-0001", "ABSK…Q0ND</td><td>fp-revoked-0…</td><td>111122223333</td><td class=\"w\">"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s", page)
	}
}

// TestDashboardAccess: without a token only loopback clients are served;
// with one, a client anywhere must send it as a bearer token, and a wrong,
// missing or differently-schemed one gets 401.
func TestDashboardAccess(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "serve.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	get := func(h http.Handler, remote, auth string) int {
		r := httptest.NewRequest(http.MethodGet, "/dashboard", nil)
		r.RemoteAddr = remote
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	log := testLogger(t)
	open := newDashboard(st, DashboardConfig{}, time.Second, log)
	locked := newDashboard(st, DashboardConfig{Token: []byte("s3cr3t-dashboard-token")}, time.Second, log)
	cases := []struct {
		name         string
		h            http.Handler
		remote, auth string
		want         int
	}{
		{"no token, 127.0.0.1", open, "127.0.0.1:5000", "", http.StatusOK},
		{"no token, ::1", open, "[::1]:5000", "", http.StatusOK},
		{"no token, 127.0.0.2", open, "127.0.0.2:5000", "", http.StatusOK},
		{"no token, remote", open, "192.0.2.7:5000", "", http.StatusForbidden},
		{"no token, v4-mapped remote", open, "[::ffff:192.0.2.7]:5000", "", http.StatusForbidden},
		{"no token, unparsable remote", open, "garbage", "", http.StatusForbidden},
		{"token, remote, right", locked, "192.0.2.7:5000", "Bearer s3cr3t-dashboard-token", http.StatusOK},
		{"token, scheme in lower case", locked, "192.0.2.7:5000", "bearer s3cr3t-dashboard-token", http.StatusOK},
		{"token, loopback, none", locked, "127.0.0.1:5000", "", http.StatusUnauthorized},
		{"token, remote, wrong", locked, "192.0.2.7:5000", "Bearer s3cr3t-dashboard-tokeN", http.StatusUnauthorized},
		{"token, remote, prefix", locked, "192.0.2.7:5000", "Bearer s3cr3t", http.StatusUnauthorized},
		{"token, remote, basic", locked, "192.0.2.7:5000", "Basic s3cr3t-dashboard-token", http.StatusUnauthorized},
		{"token, remote, empty", locked, "192.0.2.7:5000", "Bearer ", http.StatusUnauthorized},
	}
	for _, c := range cases {
		if got := get(c.h, c.remote, c.auth); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

func testLogger(t *testing.T) interface{ Warn(string, ...any) } {
	return logFunc(func(msg string, args ...any) { t.Logf("warn: %s %v", msg, args) })
}

type logFunc func(msg string, args ...any)

func (f logFunc) Warn(msg string, args ...any) { f(msg, args...) }

// fakeKPIs is a KPISource answering snap or err.
type fakeKPIs struct {
	snap KPISnapshot
	err  error
}

func (f fakeKPIs) DashboardKPIs(ctx context.Context, now time.Time) (KPISnapshot, error) {
	return f.snap, f.err
}

// TestDashboardKPISource: the live keys and the two KPIs of a source are
// shown with their trend (hostile user names escaped); a source that
// fails leaves the rest of the page and says why.
func TestDashboardKPISource(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	src := fakeKPIs{snap: KPISnapshot{
		LiveKeys: []LiveKey{{AccountID: "111122223333", User: "BedrockAPIKey-<i>x</i>", KeyID: "ACCA-live-1", Kind: "bedrock-api-key", Created: now.Add(-time.Hour)}},
		ActiveKeys: []AccountSeries{{AccountID: "111122223333", Now: 1, Trend: []Point{
			{At: now.Add(-2 * week), Value: 4}, {At: now.Add(-week), Value: 2}, {At: now, Value: 1}}}},
		RoleShare: []AccountSeries{{AccountID: "111122223333", Now: 0.75, Trend: []Point{
			{At: now.Add(-week), Value: 0.5}, {At: now, Value: 0.75}}}},
	}}
	ts := startServer(t, "", Config{Process: blocked, Dashboard: DashboardConfig{KPIs: src, Now: func() time.Time { return now }}})
	_, page := getPage(t, ts.url+"/dashboard", "")
	for _, want := range []string{"BedrockAPIKey-&lt;i&gt;x&lt;/i&gt;", "ACCA-live-1", "down, from 4 to 1", "75%", "up, from 50% to 75%", "<polyline"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "not available") {
		t.Error("the page says not available with a source")
	}

	ts2 := startServer(t, "", Config{Process: blocked, Dashboard: DashboardConfig{KPIs: fakeKPIs{err: errors.New("inventory <down>")}}})
	fillStore(t, ts2.st, time.Now())
	resp, page := getPage(t, ts2.url+"/dashboard", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "not available: inventory &lt;down&gt;") || !strings.Contains(page, "ABSK…QUFB") {
		t.Errorf("with a failing source: %d, page:\n%s", resp.StatusCode, page)
	}
}

// TestMeanTimeToRemediate: the mean over the window, per account, and per
// week; a revocation before its sighting (imported) or out of the window
// is left out.
func TestMeanTimeToRemediate(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	rem := func(acct string, ago, took time.Duration) kpi.Remediation {
		return kpi.Remediation{AccountID: acct, Detected: now.Add(-ago - took), Remediated: now.Add(-ago)}
	}
	m := meanTimeToRemediate([]kpi.Remediation{
		rem("a", time.Hour, 10*time.Minute),
		rem("a", 2*time.Hour, 30*time.Minute),
		rem("b", 3*week+time.Hour, 2*time.Hour),
		rem("b", 9*week, time.Minute),                                    // out of the window
		{AccountID: "d", Detected: now.Add(-time.Hour)},                  // not remediated yet
		{AccountID: "c", Detected: now, Remediated: now.Add(-time.Hour)}, // revoked before seen
	}, now)
	if m.Count != 3 || m.Mean != (10*time.Minute+30*time.Minute+2*time.Hour)/3 {
		t.Errorf("count %d mean %s", m.Count, m.Mean)
	}
	if len(m.PerAccount) != 2 || m.PerAccount[0].Mean != 20*time.Minute || m.PerAccount[1].Mean != 2*time.Hour {
		t.Errorf("per account %+v", m.PerAccount)
	}
	if len(m.Trend) != trendWeeks || m.Trend[trendWeeks-1].Value != (20*time.Minute).Seconds() ||
		m.Trend[trendWeeks-4].Value != (2*time.Hour).Seconds() || m.Trend[0].Value != -1 {
		t.Errorf("trend %+v", m.Trend)
	}
	if got := trendWords(m.Trend, fmtSeconds); got != "down, from 2h0m0s to 20m0s" {
		t.Errorf("trend words %q", got)
	}
}

// TestDashboardTokenFile: a token file readable by others, or empty, is
// refused; a good one is read without its newline.
func TestDashboardTokenFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if tok, err := ReadDashboardToken(write("good", "tok-123\n", 0o600)); err != nil || string(tok) != "tok-123" {
		t.Errorf("good: %q %v", tok, err)
	}
	for name, p := range map[string]string{
		"world-readable": write("open", "tok-123\n", 0o644),
		"empty":          write("empty", " \n", 0o600),
		"missing":        filepath.Join(dir, "nope"),
	} {
		if _, err := ReadDashboardToken(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestDashboardManyOpenIncidents: past the 50 listed, the counts by
// account and severity still count every open incident, and the page says
// how many are not listed.
func TestDashboardManyOpenIncidents(t *testing.T) {
	ts := startServer(t, "", Config{Process: blocked})
	ctx := context.Background()
	for i := range 70 {
		fp := fmt.Sprintf("fp-many-%03d", i)
		if _, err := ts.st.RecordFinding(ctx, store.Incident{Fingerprint: fp, Redacted: "R-" + fp, AccountID: "999988887777", Severity: "critical"},
			store.Sighting{Repository: "o/r", Commit: "c", Path: "p", Line: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	_, page := getPage(t, ts.url+"/dashboard", "")
	for _, want := range []string{`<td class="n">70</td>`, "(50 newest; 20 more)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestDashboardDatabaseDown: a store that fails gives 503, not a page
// that looks complete with sections missing.
func TestDashboardDatabaseDown(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "serve.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	r := httptest.NewRequest(http.MethodGet, "/dashboard", nil)
	r.RemoteAddr = "127.0.0.1:1"
	w := httptest.NewRecorder()
	newDashboard(st, DashboardConfig{}, time.Second, testLogger(t)).ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "Open incidents") {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}
