package detectors_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/internal/testkeys"
)

// TestDecodeUnrepresentableTimes: a time a short-term key carries that JSON
// cannot write, or that is too far away to count, is omitted with a
// reason, never clamped, and the key still marshals.
func TestDecodeUnrepresentableTimes(t *testing.T) {
	now := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		issued    time.Time
		expires   int
		expiresAt bool // expires_at given
		left      bool // expires_in_seconds given
		expired   bool
		note      string // in TimeError; "" means none
	}{
		{"ordinary", now.Add(-time.Hour), 7200, true, true, false, ""},
		{"expired", now.Add(-3 * time.Hour), 7200, true, true, true, ""},
		{"year 9999 expiring in 10000", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), 43200, false, false, false, "outside years 0000-9999"},
		{"year 9999 expiring in 9999", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), 3600, true, false, false, "too far from now"},
		{"year 2500", time.Date(2500, 1, 1, 0, 0, 0, 0, time.UTC), 3600, true, false, false, "too far from now"},
		{"year 0000", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), 3600, true, true, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := testkeys.ShortTerm(testkeys.ShortTermOptions{
				AccessKeyID: testkeys.AccessKeyID("ASIA", "111122223333", 1), SecretKey: "s",
				SessionToken: "t", Region: "us-east-1", Issued: tc.issued, Expires: tc.expires,
			})
			k, err := detectors.Decode(key, detectors.DecodeOptions{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if (k.ExpiresAt != nil) != tc.expiresAt || (k.ExpiresInSeconds != nil) != tc.left || k.Expired == nil || *k.Expired != tc.expired {
				t.Errorf("expires_at %v, expires_in_seconds %v, expired %v", k.ExpiresAt, k.ExpiresInSeconds, k.Expired)
			}
			if tc.note == "" && k.TimeError != "" || !strings.Contains(k.TimeError, tc.note) {
				t.Errorf("time_error %q, want %q", k.TimeError, tc.note)
			}
			if _, err := json.Marshal(k); err != nil {
				t.Errorf("marshal: %v", err)
			}
		})
	}
}
