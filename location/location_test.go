package location

import (
	"encoding/json"
	"testing"
	"time"
)

// Date is nil for the zero time (omitted from JSON) and UTC otherwise, so
// a date is written the same way whatever the committer's time zone.
func TestDate(t *testing.T) {
	if Date(time.Time{}) != nil {
		t.Error("Date(zero) is not nil")
	}
	in := time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("CEST", 2*3600))
	b, err := json.Marshal(Location{Path: "p", Date: Date(in)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"path":"p","line":0,"column":0,"date":"2024-05-06T05:08:09Z"}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	if b, _ := json.Marshal(Location{Path: "p", Date: Date(time.Time{})}); string(b) != `{"path":"p","line":0,"column":0}` {
		t.Errorf("zero date in JSON: %s", b)
	}
}
