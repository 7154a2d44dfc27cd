package store

import (
	"context"
	"testing"
	"time"
)

// TestDashboardReads: the dashboard's reads on both databases: open
// incidents newest first with their latest sighting, actions newest first
// with the incident's redacted key, queue states, deliveries with their
// job, and remediations (the first revocation done, not one found
// unchanged) since a time.
func TestDashboardReads(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func(*testing.T) string) {
		ctx := context.Background()
		s := openTemp(t, newDSN(t))
		base := time.UnixMilli(1_800_000_000_000)
		clock := base
		s.now = func() time.Time { return clock }
		if _, err := s.AddDelivery(ctx, Delivery{ID: "d1", Event: "push", ReceivedAt: base, Body: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
		for i, fp := range []string{"fp-a", "fp-b", "fp-c"} {
			clock = base.Add(time.Duration(i) * time.Minute)
			for _, path := range []string{"old.env", "new.env"} {
				if _, err := s.RecordFinding(ctx, Incident{Fingerprint: fp, Redacted: "R-" + fp, AccountID: "acct", Severity: "high"},
					Sighting{DeliveryID: "d1", Repository: "o/r", Commit: "c", Path: path, Line: i + 1}); err != nil {
					t.Fatal(err)
				}
			}
		}
		effects := []Effect{
			{Key: "revoke/fp-a", Kind: "revoke", Fingerprint: "fp-a", Result: "done", At: base.Add(time.Hour)},
			{Key: "revoke/fp-b", Kind: "revoke", Fingerprint: "fp-b", Result: "unchanged", At: base.Add(2 * time.Hour)},
			{Key: "notify/fp-c", Kind: "notify", Fingerprint: "fp-c", Result: "done", At: base.Add(3 * time.Hour)},
		}
		for _, e := range effects {
			if _, err := s.RecordEffect(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		open, err := s.OpenIncidents(ctx, 10)
		if err != nil || len(open) != 1 || open[0].Fingerprint != "fp-c" || open[0].Path != "new.env" || open[0].Findings != 2 || open[0].Line != 3 {
			t.Fatalf("open incidents %+v %v; want fp-c last seen in new.env:3, 2 sightings", open, err)
		}
		counts, err := s.OpenCounts(ctx)
		if err != nil || len(counts) != 1 || counts[0] != (OpenCount{AccountID: "acct", Severity: "high", Open: 1}) {
			t.Fatalf("open counts %+v %v", counts, err)
		}
		acts, err := s.RecentActions(ctx, 2)
		if err != nil || len(acts) != 2 || acts[0].Kind != "notify" || acts[0].Redacted != "R-fp-c" || acts[1].Fingerprint != "fp-b" {
			t.Fatalf("recent actions %+v %v", acts, err)
		}
		jobs, dels, err := s.QueueStates(ctx)
		if err != nil || jobs[JobQueued] != 1 || dels[DeliveryQueued] != 1 {
			t.Fatalf("queue states %v %v %v", jobs, dels, err)
		}
		ds, err := s.RecentDeliveries(ctx, 5)
		if err != nil || len(ds) != 1 || ds[0].JobState != JobQueued || ds[0].Event != "push" {
			t.Fatalf("deliveries %+v %v", ds, err)
		}
		// Only a revocation that was done counts (fp-b's was found
		// "unchanged": already revoked, which says nothing of our time).
		rems, err := s.Remediations(ctx)
		timed := 0
		for _, r := range rems {
			if !r.Remediated.IsZero() {
				timed++
				if r.AccountID != "acct" || r.Remediated.Sub(r.Detected) != time.Hour {
					t.Fatalf("remediation %+v; want acct, one hour", r)
				}
			}
		}
		if err != nil || len(rems) != 3 || timed != 1 {
			t.Fatalf("remediations %+v %v; want 3 incidents, fp-a remediated after one hour", rems, err)
		}
	})
}
