package cli

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testkeys"
)

// fakeBedrockTLS accepts only the keys in live.
func fakeBedrockTLS(t *testing.T, live ...string) (url, caFile string) {
	t.Helper()
	return fakeBedrockTLSHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		for _, k := range live {
			if tok == k {
				io.WriteString(w, `{"modelSummaries":[]}`)
				return
			}
		}
		w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
		w.WriteHeader(403)
		io.WriteString(w, `{"message":"Authentication failed: Please make sure your API Key is valid."}`)
	}))
}

// fakeBedrockTLSHandler serves h over TLS and returns its URL and a CA
// bundle (for AWS_CA_BUNDLE) that trusts it.
func fakeBedrockTLSHandler(t *testing.T, h http.Handler) (url, caFile string) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL, caFile
}

func TestVerifyCommand(t *testing.T) {
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
	live := testkeys.LongTerm("BedrockAPIKey-live", "111122223333", testkeys.Secret(1))
	dead := testkeys.LongTerm("BedrockAPIKey-dead", "111122223333", testkeys.Secret(2))
	url, ca := fakeBedrockTLS(t, live)
	env := map[string]string{"AWS_CA_BUNDLE": ca}

	code, out, errOut := runCLIEnv(t, env, "", "verify", "--endpoint-url", url, live, dead)
	if code != ExitFound {
		t.Fatalf("exit %d, want 1: %s%s", code, out, errOut)
	}
	if strings.Contains(out, live) || strings.Contains(out, dead) {
		t.Error("output holds a key")
	}
	if !strings.Contains(out, "live") || !strings.Contains(out, "invalid") {
		t.Errorf("output:\n%s", out)
	}

	code, out, _ = runCLIEnv(t, env, dead+"\n\n"+dead+"\n", "verify", "--json", "--endpoint-url", url, "-")
	if code != ExitOK {
		t.Fatalf("dead keys: exit %d", code)
	}
	var n int
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if r["status"] != "invalid" {
			t.Errorf("status %v", r["status"])
		}
		n++
	}
	if n != 2 || !strings.Contains(out, `"cached":true`) {
		t.Errorf("%d results, second not cached:\n%s", n, out)
	}

	// Plain HTTP endpoints are refused: a bearer key never travels in clear.
	code, _, errOut = runCLIEnv(t, env, "", "verify", "--endpoint-url", strings.Replace(url, "https", "http", 1), live)
	if code != ExitFailure || !strings.Contains(errOut, "https") {
		t.Errorf("http endpoint: exit %d %s", code, errOut)
	}
	// Without the CA the TLS check fails: unknown, exit 2.
	code, out, _ = runCLIEnv(t, nil, "", "verify", "--timeout", "5s", "--endpoint-url", url, live)
	if code != ExitFailure || !strings.Contains(out, "unknown") {
		t.Errorf("untrusted endpoint: exit %d\n%s", code, out)
	}
}

// detect --verify live-checks each key found, once per key.
func TestDetectVerify(t *testing.T) {
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
	live := testkeys.LongTerm("BedrockAPIKey-dlve", "111122223333", testkeys.Secret(91))
	dead := testkeys.LongTerm("BedrockAPIKey-dded", "111122223333", testkeys.Secret(92))
	url, ca := fakeBedrockTLS(t, live)
	dir := writeTree(t, map[string]string{"a.env": "A=" + live + "\nB=" + dead + "\n", "b.env": "A=" + live + "\n"})
	code, out, errOut := runCLIEnv(t, map[string]string{"AWS_CA_BUNDLE": ca}, "", "detect", "files", dir,
		"--verify", "--verify-endpoint", url, "--format", "jsonl", "--workers", "1")
	if code != ExitFound {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := strings.Count(out, `"live":"live"`); n != 2 {
		t.Errorf("live key: %d findings marked live, want 2:\n%s", n, out)
	}
	if n := strings.Count(out, `"live":"invalid"`); n != 1 {
		t.Errorf("dead key: %d findings marked invalid, want 1:\n%s", n, out)
	}
}
