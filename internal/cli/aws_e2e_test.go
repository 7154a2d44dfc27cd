package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/testbin"
)

// startEmulator runs `bks dev aws-emulator --seed FILE` and returns its
// plain endpoint.
func startEmulator(t *testing.T, bin, seed string) string {
	t.Helper()
	cmd := exec.Command(bin, "dev", "aws-emulator", "--seed", seed, "--ca-file", filepath.Join(t.TempDir(), "ca.pem"))
	cmd.Env = awsEnv(t, true)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	sc := bufio.NewScanner(stdout)
	vals := map[string]string{}
	for len(vals) < 3 && sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vals[k] = v
		}
	}
	go func() { // keep the pipe drained
		for sc.Scan() {
		}
	}()
	if !strings.HasPrefix(vals["BKS_EMULATOR_URL"], "http://127.0.0.1:") || !strings.HasPrefix(vals["BKS_EMULATOR_TLS_URL"], "https://127.0.0.1:") || vals["AWS_CA_BUNDLE"] == "" {
		t.Fatalf("emulator printed %v; stderr:\n%s", vals, stderr.String())
	}
	return vals["BKS_EMULATOR_URL"]
}

// awsEnv is a clean environment: nothing of the machine's AWS_* settings,
// no shared config, no instance metadata; static credentials when creds.
func awsEnv(t *testing.T, creds bool) []string {
	dir := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_REGION=us-east-1",
	}
	if creds {
		env = append(env, "AWS_ACCESS_KEY_ID=AKIAE2ETESTCALLER001", "AWS_SECRET_ACCESS_KEY=e2e-secret")
	}
	return env
}

type runResult struct {
	code           int
	stdout, stderr string
}

func runBKS(t *testing.T, bin string, env []string, dir string, args ...string) runResult {
	t.Helper()
	if len(args) > 0 && (args[0] == "scan" || args[0] == "cleanup") {
		args = append(args, "--rate=-1") // the self-imposed pace is for AWS, not the emulator
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return runResult{code, out.String(), errb.String()}
}

func TestAWSEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bks binary")
	}
	bin := testbin.BKS(t)
	seed, err := filepath.Abs("../../testdata/aws/scenario.json")
	if err != nil {
		t.Fatal(err)
	}
	url := startEmulator(t, bin, seed)
	env := awsEnv(t, true)
	work := t.TempDir()

	t.Run("no credentials", func(t *testing.T) {
		r := runBKS(t, bin, awsEnv(t, false), work, "scan", "--endpoint-url", url)
		if r.code != ExitFailure || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
		}
		if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "no AWS credentials found") {
			t.Fatalf("stderr %q", r.stderr)
		}
	})

	t.Run("scan over policy", func(t *testing.T) {
		r := runBKS(t, bin, env, work, "scan", "--endpoint-url", url)
		if r.code != ExitFound {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{"BedrockAPIKey-r1sk", "AT RISK*", "access key AKIA", "BedrockAPIKey-orph", "ORPHANED", "alice", "never expires", "AT RISK 1 · ACTIVE 2 · ORPHANED 2 · UNKNOWN 0"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("scan output lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "security-admin") {
			t.Errorf("a user without Bedrock keys was listed:\n%s", r.stdout)
		}
	})

	t.Run("scan json and csv", func(t *testing.T) {
		csvPath := filepath.Join(work, "users.csv")
		r := runBKS(t, bin, env, work, "scan", "--endpoint-url", url, "--json", "--csv", csvPath)
		if r.code != ExitFound {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var res struct {
			Caller  struct{ Account string }
			Summary struct {
				AtRisk     int `json:"at_risk"`
				OverPolicy int `json:"over_policy"`
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("JSON: %v\n%s", err, r.stdout)
		}
		if res.Caller.Account != "111122223333" || res.Summary.AtRisk != 1 || res.Summary.OverPolicy != 3 {
			t.Fatalf("JSON result %+v", res)
		}
		b, err := os.ReadFile(csvPath)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "\n"); n != 6 {
			t.Fatalf("CSV has %d lines, want header + 5", n)
		}
	})

	t.Run("cleanup refuses without a terminal", func(t *testing.T) {
		r := runBKS(t, bin, env, work, "cleanup", "--endpoint-url", url)
		if r.code != ExitFailure || !strings.Contains(r.stderr, "--yes") {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
	})

	t.Run("cleanup dry run", func(t *testing.T) {
		r := runBKS(t, bin, env, work, "cleanup", "--dry-run", "--endpoint-url", url)
		if r.code != ExitOK || !strings.Contains(r.stdout, "would call iam:DeleteLoginProfile BedrockAPIKey-orph") {
			t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(work, "bks-audit.jsonl")); err == nil {
			t.Fatal("a dry run wrote the audit log")
		}
	})

	t.Run("cleanup", func(t *testing.T) {
		audit := filepath.Join(work, "audit.jsonl")
		r := runBKS(t, bin, env, work, "cleanup", "--yes", "--endpoint-url", url, "--audit-log", audit)
		if r.code != ExitOK || !strings.Contains(r.stdout, "Deleted 2, skipped 0, already gone 0, failed 0") {
			t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
		b, err := os.ReadFile(audit)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"action":"iam:DeleteUser","target":"BedrockAPIKey-orph"`) {
			t.Fatalf("audit log:\n%s", b)
		}
		r = runBKS(t, bin, env, work, "cleanup", "--yes", "--endpoint-url", url, "--audit-log", audit)
		if r.code != ExitOK || !strings.Contains(r.stdout, "Nothing to clean up") {
			t.Fatalf("second run: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("org scan with a refused account", func(t *testing.T) {
		r := runBKS(t, bin, env, work, "scan", "--org", "--endpoint-url", url)
		if r.code != ExitFailure {
			t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{"== account 222233334444 (dev)", "BedrockAPIKey-dev1", "== account 333344445555 (sandbox)", "FAILED: AssumeRole refused", "organization: 2 accounts scanned, 1 failed"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("org output lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "444455556666") {
			t.Errorf("suspended account scanned")
		}
	})

	t.Run("nothing over policy", func(t *testing.T) {
		clean := filepath.Join(work, "clean.json")
		os.WriteFile(clean, []byte(`{"accounts":[{"id":"999988887777","users":[{"name":"BedrockAPIKey-left","service_credentials":[{"status":"Inactive"}]},{"name":"carol"}]}]}`), 0o644)
		url := startEmulator(t, bin, clean)
		r := runBKS(t, bin, env, work, "scan", "--endpoint-url", url)
		if r.code != ExitOK || !strings.Contains(r.stdout, "ORPHANED 1") {
			t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}
