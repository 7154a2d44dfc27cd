package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/testkeys"
)

var (
	cliKeyLong  = testkeys.LongTerm("BedrockAPIKey-zz99", "123456789012", testkeys.Secret(42))
	cliKeyShort = testkeys.ShortTerm(testkeys.ShortTermOptions{
		AccessKeyID: testkeys.AccessKeyID("ASIA", "210987654321", 42), SecretKey: "s",
		SessionToken: testkeys.SessionToken("210987654321", 1000, 42), Region: "eu-west-3",
		Issued: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Expires: 7200,
	})
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDetectFilesExitCodes(t *testing.T) {
	clean := writeTree(t, map[string]string{"a.txt": "nothing to see\n", "b/c.md": "ABSK is a prefix\n"})
	leaky := writeTree(t, map[string]string{"a.txt": "ok\n", "svc/.env": "AWS_BEARER_TOKEN_BEDROCK=" + cliKeyLong + "\n"})
	partial := writeTree(t, map[string]string{"docs/keys.md": "The key looks like " + cliKeyLong[:100] + "...\n"})
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string // substring; "" means stdout must be empty
		noStdout bool
	}{
		{"clean is quiet", []string{"detect", "files", clean}, 0, "", true},
		{"found", []string{"detect", "files", leaky}, 1, "svc/.env:1:26", false},
		{"exit code", []string{"detect", "files", "--exit-code", "7", leaky}, 7, "bedrock-long-term", false},
		{"partial key shown and counted", []string{"detect", "files", partial}, 1, "PARTIAL", false},
		{"flags after", []string{"detect", "files", leaky, "--format", "csv"}, 1, "rule_id", false},
		{"missing path", []string{"detect", "files", filepath.Join(clean, "nope")}, 2, "", true},
		{"missing path ignored", []string{"detect", "files", "--ignore-errors", filepath.Join(clean, "nope"), leaky}, 1, "svc/.env", false},
		{"bad format", []string{"detect", "files", "--format", "xml", clean}, 2, "", true},
		{"bad now", []string{"detect", "files", "--now", "yesterday", clean}, 2, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, errOut)
			}
			if tc.noStdout && out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
			if !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, out)
			}
			if strings.Contains(out+errOut, cliKeyLong[8:]) {
				t.Error("secret printed without --show-secrets")
			}
		})
	}
}

func TestDetectJSONLAndSecrets(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"nb.ipynb": `{"source": ["k = '` + cliKeyShort + `'\n"]}`,
		"x/.env":   "K=" + cliKeyLong + "\nK2=" + cliKeyLong + "\n",
	})
	code, out, errOut := runCLI(t, "", "detect", "files", "--format", "jsonl", "--now", "2026-03-01T11:00:00Z", "--workers", "1", dir)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		if _, ok := m["secret"]; ok {
			t.Error("secret field without --show-secrets")
		}
		got = append(got, m)
	}
	if len(got) != 3 {
		t.Fatalf("got %d findings, want 3:\n%s", len(got), out)
	}
	byRule := map[string]map[string]any{}
	for _, m := range got {
		byRule[m["rule_id"].(string)] = m
	}
	st := byRule["bedrock-short-term"]["key"].(map[string]any)
	if st["account_id"] != "210987654321" || st["region"] != "eu-west-3" || st["expired"] != false || st["expires_in_seconds"].(float64) != 3600 {
		t.Errorf("short-term key: %v", st)
	}
	// --dedupe folds the two places of the long-term key.
	_, out, _ = runCLI(t, "", "detect", "files", "--format", "json", "--dedupe", "--show-secrets", dir)
	var arr []map[string]any
	if err := json.Unmarshal([]byte(out), &arr); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if len(arr) != 2 {
		t.Fatalf("dedupe: %d findings", len(arr))
	}
	for _, m := range arr {
		if m["rule_id"] == "bedrock-long-term" {
			if locs := m["locations"].([]any); len(locs) != 2 {
				t.Errorf("dedupe locations: %v", locs)
			}
			if m["secret"] != cliKeyLong {
				t.Error("--show-secrets did not include the key")
			}
		}
	}
}

func TestDetectStdinAndOutputFile(t *testing.T) {
	outFile := filepath.Join(t.TempDir(), "r.sarif")
	code, out, errOut := runCLI(t, "Authorization: Bearer "+cliKeyShort+"\r\n", "detect", "stdin", "--stdin-name", "req.txt", "--format", "sarif", "-o", outFile)
	if code != 1 || out != "" {
		t.Fatalf("exit %d stdout %q stderr %s", code, out, errOut)
	}
	b, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"req.txt"`)) || !bytes.Contains(b, []byte("2.1.0")) || bytes.Contains(b, []byte(cliKeyShort[20:])) {
		t.Errorf("sarif output:\n%.500s", b)
	}
}

func TestDecodeKey(t *testing.T) {
	tests := []struct {
		name, arg string
		code      int
		want      string
	}{
		{"long-term", "export AWS_BEARER_TOKEN_BEDROCK='" + cliKeyLong + "'", 0, "BedrockAPIKey-zz99"},
		{"bearer", "Bearer " + cliKeyShort, 0, "eu-west-3"},
		{"percent padding", strings.TrimRight(cliKeyLong, "=") + "%3D", 0, "123456789012"},
		{"bad base64", "ABSK" + "QmVk!!", 2, "bad base64 byte '!' at offset 8"},
		{"no separator", testkeys.LongTerm("user", "12345", "s"), 2, "-at-<12 digits>:"},
		{"wrong host", "bedrock-api-key-" + strings.TrimPrefix(testkeys.ShortTerm(testkeys.ShortTermOptions{Host: "bedrock.amazonaws.org", AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretKey: "x", Region: "us-east-1", Issued: time.Now(), Expires: 5}), "bedrock-api-key-"), 2, "wrong host"},
		{"not a key", "hello", 2, "not a Bedrock"},
		{"partial", cliKeyLong[:100] + "…", 0, "partial:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", "decode-key", tc.arg)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s%s", code, tc.code, tc.want, out, errOut)
			}
			if strings.Contains(out+errOut, testkeys.Secret(42)[:20]) {
				t.Error("secret part printed")
			}
		})
	}
	code, out, _ := runCLI(t, cliKeyShort+"\n", "decode-key", "--json", "--now", "2026-03-01T13:00:00Z", "-")
	var k map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &k) != nil || k["expired"] != true || k["access_key_id"] == nil {
		t.Fatalf("decode-key --json -: exit %d %s", code, out)
	}
}
