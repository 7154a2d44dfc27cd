package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
)

// extreme returns a copy of base with every decoded and location value
// set from the fuzz inputs: times in any year, any expires_in_seconds and
// strings with control characters or invalid UTF-8. base is not changed.
func extreme(base findings.Finding, year, year2 int, secs int64, s string) findings.Finding {
	f := base
	k := detectors.Key{}
	if base.Key != nil {
		k = *base.Key
	}
	issued := time.Date(year, 12, 31, 23, 59, 59, 0, time.UTC)
	expires := time.Date(year2, 1, 1, 11, 59, 59, 0, time.UTC)
	expired := secs <= 0
	k.IssuedAt, k.ExpiresAt, k.ExpiresInSeconds, k.Expired = &issued, &expires, &secs, &expired
	k.Username, k.Region, k.UserARN, k.TimeError = s, s, s, s
	f.Key = &k
	f.Date = &expires
	f.Path, f.Message, f.Author, f.Error = s, s, s, s
	return f
}

// checkReport renders fs in format and checks the report is well-formed
// and holds every finding the format shows.
func checkReport(t *testing.T, format string, fs []findings.Finding) {
	t.Helper()
	var buf bytes.Buffer
	r, err := New(format, &buf, Options{})
	if err != nil {
		t.Fatal(err)
	}
	shownN, rows := 0, 0
	for _, f := range fs {
		if err := r.Finding(f); err != nil {
			var fe *FindingError
			if !errors.As(err, &fe) || !fe.Written {
				t.Fatalf("%s: finding %s not written: %v", format, f.Fingerprint, err)
			}
		}
		if shown(&f, Options{}) {
			shownN++
			rows += len(places(&f))
		}
	}
	if err := r.Close(); err != nil {
		t.Fatalf("%s: Close: %v", format, err)
	}
	out := buf.Bytes()
	var got, want int
	switch format {
	case FormatJSON:
		var all []json.RawMessage
		if err := json.Unmarshal(out, &all); err != nil {
			t.Fatalf("json does not parse: %v\n%s", err, out)
		}
		got, want = len(all), shownN
	case FormatJSONL:
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("jsonl line %d does not parse: %v", got+1, err)
			}
			got++
		}
		want = shownN
	case FormatSARIF:
		validateSARIF(t, out)
		var doc struct {
			Runs []struct{ Results []json.RawMessage } `json:"runs"`
		}
		if err := json.Unmarshal(out, &doc); err != nil || len(doc.Runs) != 1 {
			t.Fatalf("sarif: %v", err)
		}
		got, want = len(doc.Runs[0].Results), len(fs)
	case FormatCSV:
		all, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("csv does not parse: %v", err)
		}
		got, want = len(all)-1, rows
	case FormatText:
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "  Fingerprint ") {
				got++
			}
		}
		want = shownN
	}
	if got != want {
		t.Fatalf("%s: %d findings written, want %d:\n%s", format, got, want, out)
	}
}

// TestUnwritableFindingKeepsTheRest: a finding whose times JSON cannot
// write (year 10000), first of the fixture, is written without them and
// every other finding follows, in every format.
func TestUnwritableFindingKeepsTheRest(t *testing.T) {
	base := fixture(t)
	fs := append([]findings.Finding{extreme(base[1], 9999, 10000, 1<<62, "far")}, base...)
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) { checkReport(t, format, fs) })
	}
	var buf bytes.Buffer
	r, _ := New(FormatJSON, &buf, Options{})
	err := r.Finding(fs[0])
	var fe *FindingError
	if !errors.As(err, &fe) || !fe.Written || !strings.Contains(err.Error(), "expires_at") {
		t.Fatalf("Finding = %v, want a FindingError naming what was left out", err)
	}
	r.Close()
	if !strings.Contains(buf.String(), `"time_error"`) || strings.Contains(buf.String(), "10000-") {
		t.Errorf("json:\n%s", buf.String())
	}
	out := render(t, FormatSARIF, Options{}, fs[1:])
	if strings.Contains(string(out), "invocations") {
		t.Errorf("sarif without a problem has notifications")
	}
	buf.Reset()
	r, _ = New(FormatSARIF, &buf, Options{})
	_ = r.Finding(fs[0])
	r.Close()
	validateSARIF(t, buf.Bytes())
	if s := buf.String(); !strings.Contains(s, `"toolExecutionNotifications"`) || !strings.Contains(s, `"executionSuccessful": true`) || !strings.Contains(s, "written without key.expires_at") {
		t.Errorf("sarif does not notify the omitted field:\n%s", s)
	}
}

// FuzzReporters feeds every format a finding with extreme decoded values
// among the fixture: no panic, a well-formed report, no finding dropped.
func FuzzReporters(f *testing.F) {
	base := fixture(f)
	f.Add(9999, 10000, int64(43200), "far", uint8(0))
	f.Add(0, 0, int64(-1), "", uint8(3))
	f.Add(-1, 292277026596, int64(1<<63-1), "\x00\x1b[2J\u202e\xff\xfe", uint8(7))
	f.Add(2026, 2026, int64(-1<<63), strings.Repeat("=A", 5000), uint8(1))
	f.Fuzz(func(t *testing.T, year, year2 int, secs int64, s string, at uint8) {
		fs := append([]findings.Finding(nil), base...)
		i := int(at) % len(fs)
		fs = append(fs[:i], append([]findings.Finding{extreme(fs[i], year, year2, secs, s)}, fs[i:]...)...)
		for _, format := range Formats() {
			checkReport(t, format, fs)
		}
	})
}

func TestSecondsText(t *testing.T) {
	for secs, want := range map[int64]string{7200: "2h0m0s", 0: "0s", 1 << 62: "53375995583650 days", -1 << 62: "-53375995583650 days"} {
		if got := secondsText(secs); got != want {
			t.Errorf("secondsText(%d) = %q, want %q", secs, got, want)
		}
	}
}
