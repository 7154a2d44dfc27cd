package serve

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/bks-dev/bks/serve/store"
)

// BenchmarkDashboard renders the dashboard of a SQLite store holding
// 5,000 open incidents (two sightings each), 2,000 revoked ones with their
// revocation, and 1,000 deliveries: the cost of one page view.
func BenchmarkDashboard(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "serve.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	for i := range 1000 {
		if _, err := st.AddDelivery(ctx, store.Delivery{ID: fmt.Sprintf("d-%04d", i), Event: "push", ReceivedAt: now, Body: []byte("{}")}); err != nil {
			b.Fatal(err)
		}
	}
	var imported []store.Imported
	for i := range 7000 {
		fp := fmt.Sprintf("fp-%05d", i)
		inc := store.Incident{Fingerprint: fp, Redacted: "R-" + fp, AccountID: fmt.Sprintf("1111222233%02d", i%20), Severity: severityOrder[i%4]}
		if i >= 5000 {
			inc.Status, inc.FirstSeen, inc.LastSeen = "revoked", now.Add(-time.Duration(i)*time.Minute), now
			imported = append(imported, store.Imported{Incident: inc, RevokedAt: now.Add(-time.Duration(i-1) * time.Minute)})
			continue
		}
		for _, path := range []string{"a.env", "b.env"} {
			if _, err := st.RecordFinding(ctx, inc, store.Sighting{Repository: "o/r", Commit: "c", Path: path, Line: 1}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := st.Import(ctx, imported); err != nil {
		b.Fatal(err)
	}
	h := newDashboard(st, DashboardConfig{}, time.Minute, logFunc(func(string, ...any) {}))
	b.ResetTimer()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, "/dashboard", nil)
		r.RemoteAddr = "127.0.0.1:1"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}
