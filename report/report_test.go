package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/termsafe"
	"github.com/bks-dev/bks/internal/testkeys"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// fixedNow is the clock every fixture key is decoded against.
var fixedNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const testVersion = "1.2.3-test"

// match decodes key as the engine would report it under rule.
func match(t testing.TB, rule, key, encoding string) detectors.Match {
	t.Helper()
	k, err := detectors.Decode(key, detectors.DecodeOptions{Now: fixedNow})
	if err != nil {
		t.Fatalf("fixture key for %s does not decode: %v", rule, err)
	}
	return detectors.Match{Rule: rule, Key: key, Encoding: encoding, Decoded: k}
}

// fixture is a fixed set of findings that covers what reporters must
// handle: every rule, the same key in two places, git metadata, an archive
// member, a commit message, an expired key, a suppressed finding, a
// low-confidence candidate, and file names that try spreadsheet formulas
// and terminal escapes.
func fixture(t testing.TB) []findings.Finding {
	t.Helper()
	const acct = "123456789012"
	long := testkeys.LongTerm(testkeys.ConsoleUser(1), acct, testkeys.Secret(1))
	shortLive := testkeys.ShortTerm(testkeys.ShortTermOptions{
		AccessKeyID:  testkeys.AccessKeyID("ASIA", acct, 2),
		SecretKey:    testkeys.Secret(2),
		SessionToken: testkeys.SessionToken(acct, 800, 2),
		Region:       "us-east-1",
		Issued:       fixedNow.Add(-2 * time.Hour),
		Expires:      43200,
	})
	shortExpired := testkeys.ShortTerm(testkeys.ShortTermOptions{
		AccessKeyID: testkeys.AccessKeyID("AKIA", "210987654321", 3),
		SecretKey:   testkeys.Secret(3),
		Region:      "eu-west-3",
		Issued:      fixedNow.Add(-30 * 24 * time.Hour),
		Expires:     3600,
	})
	claudeLong := testkeys.ClaudeLongTerm("k7f2", acct, testkeys.Secret(4))
	claudeShort := testkeys.ShortTerm(testkeys.ShortTermOptions{
		Host:        "aws-external-anthropic.amazonaws.com",
		AccessKeyID: testkeys.AccessKeyID("AKIA", acct, 5),
		SecretKey:   testkeys.Secret(5),
		Region:      "us-west-2",
		Issued:      fixedNow.Add(-time.Hour),
		Expires:     7200,
	})
	date := time.Date(2025, 5, 20, 9, 30, 0, 0, time.UTC)
	inHead := false

	fs := []findings.Finding{
		findings.New(match(t, detectors.RuleLongTerm, long, ""),
			findings.Location{Path: "config/app.env", Line: 3, Column: 15}),
		findings.New(match(t, detectors.RuleShortTerm, shortLive, ""),
			findings.Location{Path: "src/client.py", Line: 42, Column: 17, Repo: "acme/api",
				Commit: "0123456789abcdef0123456789abcdef01234567", Author: "Dev One", Email: "dev@example.com",
				Date: &date, Message: "add client", InHead: &inHead}),
		findings.New(match(t, detectors.RuleLongTerm, long, "base64"),
			findings.Location{Path: "deploy/secret.yaml", Line: 7, Column: 9}),
		findings.New(match(t, detectors.RuleShortTerm, shortExpired, "percent"),
			findings.Location{Path: "backups/site.zip!app/.env", Archive: "backups/site.zip", Line: 2, Column: 1}),
		findings.New(match(t, detectors.RuleClaudeLongTerm, claudeLong, ""),
			findings.Location{Path: "./odd dir/=HYPERLINK(1).txt", Line: 1, Column: 1}),
		findings.New(match(t, detectors.RuleClaudeShortTerm, claudeShort, ""),
			findings.Location{Kind: "commit-message", Line: 1, Column: 7, Commit: "fedcba9876543210fedcba9876543210fedcba98",
				Author: "@attacker", Message: "=cmd|' /C calc'!A0"}),
	}
	fs[4].Suppressed = "baseline .bks-baseline.json"

	bad := "ABSK" + "bm90LWEta2V5LWF0LWFsbA" // decodes, but not to user-at-account:secret
	_, derr := detectors.Decode(bad, detectors.DecodeOptions{Now: fixedNow})
	if derr == nil {
		t.Fatal("the low-confidence fixture decodes")
	}
	fs = append(fs, findings.New(detectors.Match{Rule: detectors.RuleLongTerm, Key: bad, Err: derr},
		findings.Location{Path: "-rf \x1b[2Jtmp\u202e.txt", Line: 9, Column: 3}))
	return fs
}

func render(t testing.TB, format string, opts Options, fs []findings.Finding) []byte {
	t.Helper()
	var buf bytes.Buffer
	r, err := New(format, &buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if err := r.Finding(f); err != nil {
			t.Fatalf("%s: Finding: %v", format, err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatalf("%s: Close: %v", format, err)
	}
	return buf.Bytes()
}

type goldenCase struct {
	name   string
	format string
	opts   Options
	dedupe bool
	empty  bool
}

var goldenCases = []goldenCase{
	{name: "text.txt", format: FormatText},
	{name: "text-color.txt", format: FormatText, opts: Options{Color: true}},
	{name: "text-dedupe.txt", format: FormatText, dedupe: true},
	{name: "text-suppressed.txt", format: FormatText, opts: Options{ShowSuppressed: true}},
	{name: "json.json", format: FormatJSON},
	{name: "json-dedupe.json", format: FormatJSON, dedupe: true},
	{name: "jsonl.jsonl", format: FormatJSONL},
	{name: "csv.csv", format: FormatCSV},
	{name: "csv-suppressed-dedupe.csv", format: FormatCSV, opts: Options{ShowSuppressed: true}, dedupe: true},
	{name: "sarif.sarif", format: FormatSARIF},
	{name: "sarif-dedupe.sarif", format: FormatSARIF, dedupe: true},
	{name: "empty.txt", format: FormatText, empty: true},
	{name: "empty.json", format: FormatJSON, empty: true},
	{name: "empty.jsonl", format: FormatJSONL, empty: true},
	{name: "empty.csv", format: FormatCSV, empty: true},
	{name: "empty.sarif", format: FormatSARIF, empty: true},
}

func (c goldenCase) findings(t testing.TB) []findings.Finding {
	if c.empty {
		return nil
	}
	fs := fixture(t)
	if c.dedupe {
		fs = Dedupe(fs)
	}
	return fs
}

func (c goldenCase) options() Options {
	o := c.opts
	o.ToolVersion = testVersion
	return o
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			got := render(t, c.format, c.options(), c.findings(t))
			path := filepath.Join("testdata", "golden", c.name)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./report -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run go test ./report -update to accept):\n%s", path, got)
			}
		})
	}
}

func TestTextQuietWhenClean(t *testing.T) {
	if out := render(t, FormatText, Options{}, nil); len(out) != 0 {
		t.Errorf("text with no finding printed %q", out)
	}
	// Only suppressed findings, not asked for: still nothing.
	fs := fixture(t)
	var sup []findings.Finding
	for _, f := range fs {
		if f.Suppressed != "" {
			sup = append(sup, f)
		}
	}
	if len(sup) == 0 {
		t.Fatal("fixture has no suppressed finding")
	}
	if out := render(t, FormatText, Options{}, sup); len(out) != 0 {
		t.Errorf("text with only suppressed findings printed %q", out)
	}
}

func TestTextSummary(t *testing.T) {
	fs := fixture(t)
	out := string(render(t, FormatText, Options{}, fs))
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := lines[len(lines)-1]
	// 7 findings, one suppressed (hidden): 6 shown, 5 distinct keys (the
	// long-term key is in two places).
	want := "5 keys in 6 places: 2 bedrock-long-term, 2 bedrock-short-term, 1 claude-platform-short-term; 1 expired; 1 suppressed not shown"
	if last != want {
		t.Errorf("summary\n got %q\nwant %q", last, want)
	}
	if strings.Contains(out, "\x1b") {
		t.Error("text without Color contains an escape byte")
	}
	if !strings.Contains(string(render(t, FormatText, Options{Color: true}, fs)), "\x1b[") {
		t.Error("text with Color has no colour")
	}
}

// secretParts returns the strings that must never appear in output without
// ShowSecrets: each key whole, and every 16-byte window of it past the
// family prefix (so no large piece of a key leaks either).
func secretParts(fs []findings.Finding) []string {
	var parts []string
	for _, f := range fs {
		raw := f.RawKey()
		parts = append(parts, raw)
		start := len(f.Redacted) - len("…") - 4 // the family prefix
		for i := max(start, 0); i+16 <= len(raw); i++ {
			parts = append(parts, raw[i:i+16])
		}
	}
	return parts
}

func TestNoSecretLeaks(t *testing.T) {
	fs := fixture(t)
	// A caller that left Secret filled must not make it leak either, nor
	// text bks did not write that happens to hold the key.
	for i := range fs {
		fs[i].Secret = fs[i].RawKey()
	}
	fs[0].Message = "oops, committed " + fs[0].RawKey()
	parts := secretParts(fs)
	for _, format := range Formats() {
		for _, opts := range []Options{{}, {Color: true, ShowSuppressed: true}} {
			for _, dedupe := range []bool{false, true} {
				in := fs
				if dedupe {
					in = Dedupe(fs)
				}
				out := string(render(t, format, opts, in))
				for _, p := range parts {
					if strings.Contains(out, p) {
						t.Fatalf("%s %+v dedupe=%v: output contains key material %q", format, opts, dedupe, p)
					}
				}
			}
		}
		// With ShowSecrets every key (of a shown finding) is there whole.
		out := string(render(t, format, Options{ShowSecrets: true, ShowSuppressed: true}, fs))
		for _, f := range fs {
			if !strings.Contains(out, f.RawKey()) {
				t.Errorf("%s with ShowSecrets lacks the key of %s", format, f.Fingerprint)
			}
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	fs := fixture(t)
	for _, opts := range []Options{{}, {ShowSecrets: true, ShowSuppressed: true}} {
		var want []findings.Finding
		for _, f := range fs {
			if shown(&f, opts) {
				want = append(want, prepare(f, opts))
			}
		}
		wantJSON, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}

		var got []findings.Finding
		out := render(t, FormatJSON, opts, fs)
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("json output does not parse: %v", err)
		}
		if gotJSON, _ := json.Marshal(got); !bytes.Equal(gotJSON, wantJSON) {
			t.Errorf("json round trip (%+v):\n got %s\nwant %s", opts, gotJSON, wantJSON)
		}

		got = nil
		lines := bytes.Split(bytes.TrimSuffix(render(t, FormatJSONL, opts, fs), []byte("\n")), []byte("\n"))
		for i, line := range lines {
			var f findings.Finding
			if err := json.Unmarshal(line, &f); err != nil {
				t.Fatalf("jsonl line %d does not parse: %v", i+1, err)
			}
			got = append(got, f)
		}
		if gotJSON, _ := json.Marshal(got); !bytes.Equal(gotJSON, wantJSON) {
			t.Errorf("jsonl round trip (%+v):\n got %s\nwant %s", opts, gotJSON, wantJSON)
		}
	}
	var empty []findings.Finding
	if err := json.Unmarshal(render(t, FormatJSON, Options{}, nil), &empty); err != nil || empty == nil || len(empty) != 0 {
		t.Errorf("empty json report: %v %v", empty, err)
	}
}

// lockedBuffer is a bytes.Buffer a timed flush may write to while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) Len() int { return len(l.String()) }

// TestStreams checks that every format writes a finding when it arrives,
// not at Close: text at once, the machine formats (buffered) within
// flushDelay.
func TestStreams(t *testing.T) {
	fs := fixture(t)
	for _, format := range Formats() {
		var buf lockedBuffer
		r, err := New(format, &buf, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Finding(fs[0]); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * flushDelay)
		for !strings.Contains(buf.String(), fs[0].Fingerprint) && time.Now().Before(deadline) {
			time.Sleep(flushDelay / 10)
		}
		if !strings.Contains(buf.String(), fs[0].Fingerprint) {
			t.Errorf("%s: first finding not written before Close", format)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		// Close is idempotent: a second call writes nothing.
		n := buf.Len()
		if err := r.Close(); err != nil || buf.Len() != n {
			t.Errorf("%s: second Close wrote %d bytes, err %v", format, buf.Len()-n, err)
		}
	}
}

func TestCSV(t *testing.T) {
	fs := fixture(t)
	out := render(t, FormatCSV, Options{ShowSuppressed: true, ShowSecrets: true}, fs)
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := append(append([]string(nil), csvColumns...), "suppressed", "secret")
	if strings.Join(recs[0], ",") != strings.Join(header, ",") {
		t.Errorf("header %v, want %v", recs[0], header)
	}
	if len(recs)-1 != len(fs) {
		t.Errorf("%d rows, want %d", len(recs)-1, len(fs))
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, rec := range recs[1:] {
		for _, c := range rec {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("cell %q starts a formula", c)
			}
		}
	}
	if got := recs[5][col["path"]]; got != "./odd dir/=HYPERLINK(1).txt" {
		t.Errorf("path cell %q", got)
	}
	if got := recs[7][col["path"]]; !strings.HasPrefix(got, "'-rf") {
		t.Errorf("path starting with '-' not guarded: %q", got)
	}
	if got := recs[2][col["expires_at"]]; got != "2025-06-01T22:00:00Z" {
		t.Errorf("expires_at %q", got)
	}
	if got := recs[4][col["expired"]]; got != "true" {
		t.Errorf("expired %q", got)
	}
	if got := recs[1][col["secret"]]; got != fs[0].RawKey() {
		t.Error("secret column does not hold the key")
	}

	// Deduplicated: one row per place, same fingerprint.
	recs, err = csv.NewReader(bytes.NewReader(render(t, FormatCSV, Options{ShowSuppressed: true}, Dedupe(fs)))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs)-1 != len(fs) {
		t.Errorf("dedupe: %d rows, want one per place (%d)", len(recs)-1, len(fs))
	}
	if recs[1][1] != recs[2][1] || recs[2][3] != "deploy/secret.yaml" {
		t.Errorf("dedupe: the two places of one key are not adjacent rows: %v / %v", recs[1], recs[2])
	}
}

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"":            "",
		"plain":       "plain",
		"=1+1":        "'=1+1",
		"+1":          "'+1",
		"-1":          "'-1",
		"@SUM(A1)":    "'@SUM(A1)",
		"\t=1":        `\t=1`, // escaped: a backslash starts no formula
		"\r=1":        `\r=1`,
		"a\x1b[2J":    `a\x1b[2J`,
		"a=1":         "a=1",
		"'=1":         "'=1",
		"ABSK…abcd":   "ABSK…abcd",
		" =not first": " =not first",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"", "=1+1", "+", "-", "@", "\t", "\r", "\r\n=x", "a,b", `"q"`, "ABSK…abcd", "\x00", "=\"\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := csvCell(s)
		if s == "" {
			if c != "" {
				t.Fatalf("csvCell(%q) = %q", s, c)
			}
			return
		}
		if strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			t.Fatalf("csvCell(%q) = %q starts a formula", s, c)
		}
		if e := termsafe.String(s); c != e && c != "'"+e {
			t.Fatalf("csvCell(%q) = %q changed more than escapes and a leading quote", s, c)
		}
		if strings.IndexFunc(c, termsafe.Unsafe) >= 0 {
			t.Fatalf("csvCell(%q) = %q has a control character", s, c)
		}
		// The cell survives CSV quoting unchanged (the reader folds CRLF
		// into LF inside quoted fields, as RFC 4180 allows).
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		if err := w.Write([]string{c, "x"}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		rec, err := csv.NewReader(&buf).Read()
		if err != nil {
			t.Fatalf("read back %q: %v", buf.String(), err)
		}
		if want := strings.ReplaceAll(c, "\r\n", "\n"); len(rec) != 2 || rec[0] != want {
			t.Fatalf("cell %q read back as %q", c, rec)
		}
	})
}

func TestNewUnknownFormat(t *testing.T) {
	_, err := New("xml", &bytes.Buffer{}, Options{})
	if err == nil {
		t.Fatal("unknown format accepted")
	}
	for _, f := range Formats() {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not list %s", err, f)
		}
	}
	for _, f := range Formats() {
		if _, err := New(f, &bytes.Buffer{}, Options{}); err != nil {
			t.Errorf("New(%q): %v", f, err)
		}
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(p), nil
}

func TestWriteErrors(t *testing.T) {
	fs := fixture(t)
	for _, format := range Formats() {
		r, err := New(format, &failWriter{}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = r.Finding(fs[0])
		if err == nil {
			err = r.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: write error not returned: %v", format, err)
		}
	}
}

func TestDedupe(t *testing.T) {
	fs := fixture(t)
	got := Dedupe(fs)
	if len(got) != len(fs)-1 {
		t.Fatalf("%d findings after dedupe, want %d", len(got), len(fs)-1)
	}
	first := got[0]
	if len(first.Locations) != 2 || first.Locations[0].Path != "config/app.env" || first.Locations[1].Path != "deploy/secret.yaml" {
		t.Errorf("locations %+v", first.Locations)
	}
	if first.Path != "config/app.env" {
		t.Errorf("finding's own location %q is not the first place", first.Path)
	}
	for _, f := range got[1:] {
		if len(f.Locations) != 1 || f.Locations[0] != f.Location {
			t.Errorf("%s: single place not listed once: %+v", f.RuleID, f.Locations)
		}
	}
	// Idempotent, and a place seen twice is kept once.
	again := Dedupe(append(got, fs...))
	if len(again) != len(got) || len(again[0].Locations) != 2 {
		t.Errorf("dedupe not idempotent: %d findings, %d places", len(again), len(again[0].Locations))
	}
	if fs[0].Locations != nil {
		t.Error("Dedupe modified its input")
	}

	// A key suppressed in one place but live in another stays active.
	a, b := fs[0], fs[2]
	a.Suppressed = "inline ignore"
	if d := Dedupe([]findings.Finding{a, b}); len(d) != 1 || d[0].Suppressed != "" {
		t.Errorf("partly suppressed key: %+v", d)
	}
	b.Suppressed = "baseline"
	if d := Dedupe([]findings.Finding{a, b}); len(d) != 1 || d[0].Suppressed != "inline ignore" {
		t.Errorf("wholly suppressed key: %q", d[0].Suppressed)
	}
}

func TestSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain/path.go": "plain/path.go",
		"a\x1b[31mb":    `a\x1b[31mb`,
		"tab\there":     `tab\there`,
		"bidi\u202etxt": `bidi\u202etxt`,
		"bad\xffutf8":   `bad\xffutf8`,
		"ünïcödé/ファイル":  "ünïcödé/ファイル",
	} {
		if got := safe(in); got != want {
			t.Errorf("safe(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkReporters(b *testing.B) {
	fs := fixture(b)
	for _, format := range Formats() {
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			var w countWriter
			r, err := New(format, &w, Options{ShowSuppressed: true})
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; b.Loop(); i++ {
				if err := r.Finding(fs[i%len(fs)]); err != nil {
					b.Fatal(err)
				}
			}
			if err := r.Close(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(w.n / max(b.N, 1)))
		})
	}
}

type countWriter struct{ n int }

func (w *countWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// TestContainsString compares containsString, scrub's allocation-free
// search, with bytes.Contains: at the start, middle and end, overlapping
// near-misses, a needle longer than the text, and the empty needle.
func TestContainsString(t *testing.T) {
	texts := []string{"", "a", "ab", "abc", "aab", "abab", "xxabcxx", "abcab", "abac", "aaaaab", "aaaa", "ba", `{"k":"KEYB…","id":"KEYXYZ"}`}
	needles := []string{"", "a", "b", "ab", "abc", "aab", "aaab", "abab", "bab", "abcabc", "KEYXYZ", "KEYXYZ0"}
	for _, text := range texts {
		for _, needle := range needles {
			want := bytes.Contains([]byte(text), []byte(needle))
			if got := containsString([]byte(text), needle); got != want {
				t.Errorf("containsString(%q, %q) = %v, want %v", text, needle, got, want)
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		containsString([]byte(`{"id":"KEY00123456789ABCDEF"}`), "KEY00123456789ABCDEFxxxxxxxxxxxxxxxxxxxxxx")
	}); n != 0 {
		t.Errorf("containsString allocates %v times, want 0", n)
	}
}
