package cli

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/testkeys"
)

// year9999Key is a short-term token issued at the last second of year 9999
// for 12 hours: its expiry is in year 10000, which RFC 3339 (and so JSON's
// time encoding) cannot write.
func year9999Key() string {
	return testkeys.ShortTerm(testkeys.ShortTermOptions{
		AccessKeyID: testkeys.AccessKeyID("ASIA", "111122223333", 9), SecretKey: "s",
		SessionToken: testkeys.SessionToken("111122223333", 900, 9), Region: "us-east-1",
		Issued: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), Expires: 43200,
	})
}

// TestDetectYear9999KeepsEveryFinding is issue 13's repro: a token dated in
// year 9999 placed before 3 real keys in two files. Every format must report
// all 4 findings and exit 1 (keys found), not 2.
func TestDetectYear9999KeepsEveryFinding(t *testing.T) {
	other := testkeys.LongTerm("BedrockAPIKey-yy88", "123456789012", testkeys.Secret(43))
	dir := writeTree(t, map[string]string{
		"a.txt": "far = " + year9999Key() + "\nk1 = " + cliKeyLong + "\n",
		"b.txt": "k2 = " + cliKeyShort + "\nk3 = " + other + "\n",
	})
	count := map[string]func(t *testing.T, out string) int{
		"json": func(t *testing.T, out string) int {
			var fs []map[string]any
			if err := json.Unmarshal([]byte(out), &fs); err != nil {
				t.Fatalf("json does not parse: %v\n%s", err, out)
			}
			return len(fs)
		},
		"jsonl": func(t *testing.T, out string) int {
			n := 0
			sc := bufio.NewScanner(strings.NewReader(out))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var f map[string]any
				if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
					t.Fatalf("jsonl line %d does not parse: %v", n+1, err)
				}
				n++
			}
			return n
		},
		"sarif": func(t *testing.T, out string) int {
			var doc struct {
				Runs []struct{ Results []any } `json:"runs"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Runs) != 1 {
				t.Fatalf("sarif does not parse (%v):\n%s", err, out)
			}
			return len(doc.Runs[0].Results)
		},
		"csv": func(t *testing.T, out string) int {
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatalf("csv does not parse: %v", err)
			}
			return len(rows) - 1
		},
		"text": func(t *testing.T, out string) int {
			if strings.Contains(out, "2562047h") {
				t.Errorf("text shows a clamped duration:\n%s", out)
			}
			return strings.Count(out, "Fingerprint ")
		},
	}
	for _, format := range []string{"json", "jsonl", "sarif", "csv", "text"} {
		t.Run(format, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", "detect", "files", dir, "--format", format, "--now", "2026-03-01T11:00:00Z")
			if n := count[format](t, out); n != 4 || code != 1 {
				t.Fatalf("exit %d (want 1), %d findings (want 4); stderr:\n%s\nstdout:\n%s", code, n, errOut, out)
			}
			if format == "json" && !strings.Contains(out, `"time_error"`) {
				t.Errorf("the year-9999 finding does not say why its expiry is missing:\n%s", out)
			}
		})
	}
}

// TestDecodeKeyYear9999 checks decode-key on the same token: --json parses,
// omits the expiry that cannot be written and says why; text shows no
// clamped duration.
func TestDecodeKeyYear9999(t *testing.T) {
	code, out, errOut := runCLI(t, year9999Key()+"\n", "decode-key", "--json", "--now", "2026-03-01T11:00:00Z", "-")
	var k map[string]any
	if err := json.Unmarshal([]byte(out), &k); code != 0 || err != nil {
		t.Fatalf("decode-key --json: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	if k["issued_at"] != "9999-12-31T23:59:59Z" || k["expires_at"] != nil || k["time_error"] == nil || k["account_id"] != "111122223333" {
		t.Errorf("decode-key --json = %v", k)
	}
	code, out, errOut = runCLI(t, year9999Key()+"\n", "decode-key", "--now", "2026-03-01T11:00:00Z", "-")
	if code != 0 || strings.Contains(out, "2562047h") || !strings.Contains(out, "10000") {
		t.Errorf("decode-key: exit %d\n%s%s", code, out, errOut)
	}
}

// TestDetectGitYear10000CommitKeepsEveryFinding: a commit dated in year
// 10000 (git takes it) gives findings whose date JSON cannot write. Each
// is still reported, without its date, named on stderr, and the exit says
// keys were found.
func TestDetectGitYear10000CommitKeepsEveryFinding(t *testing.T) {
	r := newGitRepo(t)
	r.AddEnv("GIT_AUTHOR_DATE=@253402387199 +0000", "GIT_COMMITTER_DATE=@253402387199 +0000")
	r.Write("a.txt", "k0 = "+gitKey(0)+"\nk1 = "+gitKey(1)+"\n")
	r.Write("b.txt", "k2 = "+gitKey(2)+"\nk3 = "+gitKey(3)+"\n")
	r.Commit("far future")
	for _, format := range []string{"json", "jsonl", "sarif"} {
		t.Run(format, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", "detect", "git", r.Dir, "--format", format)
			n := strings.Count(out, `"fingerprint"`) + strings.Count(out, `"bksFingerprint/v1"`)
			warned := 4 // SARIF writes the date as a string of its own
			if format == "sarif" {
				warned = 0
			}
			if code != ExitFound || n != 4 || strings.Count(errOut, "written without date") != warned {
				t.Fatalf("exit %d, %d findings (want 4); stderr:\n%s\nstdout:\n%s", code, n, errOut, out)
			}
			var v any
			if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &v); format == "jsonl" && err != nil {
				t.Fatalf("jsonl: %v", err)
			}
			if format != "jsonl" && json.Unmarshal([]byte(out), &v) != nil {
				t.Fatalf("%s does not parse:\n%s", format, out)
			}
		})
	}
}
