//go:build unix

package cli

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/testbin"
	"github.com/bks-dev/bks/serve"
)

// TestServeEventsSecretFile: bks serve --events-secret-file opens
// /events/aws to deliveries with the file's secret in the chosen header,
// refuses others with 401, and refuses to start with a short secret.
func TestServeEventsSecretFile(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("tooshort\n"), 0o600)
	code, _, errOut := runCLIEnv(t, map[string]string{"XDG_STATE_HOME": dir, "BKS_WEBHOOK_SECRET": "x"}, "", "serve", "--listen", "127.0.0.1:0", "--events-secret-file", short)
	if code != 2 || !strings.Contains(errOut, "16 characters") {
		t.Fatalf("short secret: exit %d %s", code, errOut)
	}

	// A secret others may read is refused (it failed before: accepted).
	open := filepath.Join(dir, "open.secret")
	os.WriteFile(open, []byte("0123456789abcdef0123456789abcdef\n"), 0o644)
	code, _, errOut = runCLIEnv(t, map[string]string{"XDG_STATE_HOME": dir, "BKS_WEBHOOK_SECRET": "x"}, "", "serve", "--listen", "127.0.0.1:0", "--events-secret-file", open)
	if code != 2 || !strings.Contains(errOut, "chmod 600") {
		t.Fatalf("a secret readable by others: exit %d %s", code, errOut)
	}

	secret := "0123456789abcdef0123456789abcdef"
	file := filepath.Join(dir, "events.secret")
	os.WriteFile(file, []byte(secret+"\n"), 0o600)
	cmd := exec.Command(testbin.BKS(t), "serve", "--listen", "127.0.0.1:0", "--events-secret-file", file, "--events-header", "X-Api-Key")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+dir, "BKS_WEBHOOK_SECRET=webhook-secret")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // after Wait: a no-op
	logs := newLogLines(stderr)
	addr := logs.wait(t, "serving")["addr"].(string)
	body := []byte(`{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"` + serve.CloudTrailDetailType + `","source":"aws.iam","account":"111122223333","time":"2026-12-07T10:00:00Z","region":"us-east-1","detail":{"eventSource":"iam.amazonaws.com","eventName":"DeleteServiceSpecificCredential","eventTime":"2026-12-07T10:00:00Z","requestParameters":{"userName":"BedrockAPIKey-cl01","serviceSpecificCredentialId":"ACCACLI1"}}}`)
	post := func(value string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/events/aws", bytes.NewReader(body))
		if value != "" {
			req.Header.Set("X-Api-Key", value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(""); c != http.StatusUnauthorized {
		t.Errorf("no secret: %d, want 401", c)
	}
	if c := post(secret); c != http.StatusOK {
		t.Errorf("with the secret: %d, want 200", c)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, cmd, 30*time.Second)
	if strings.Contains(logs.String(), secret) {
		t.Error("the logs hold the secret")
	}
}
