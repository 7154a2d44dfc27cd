package cli

import (
	"net"
	"strings"
	"testing"
	"time"
)

// TestFlagValuesOutOfRange: flag values bks cannot honour exit 2 with a
// message naming the flag and what it accepts, before anything is scanned.
// Before: --exit-code 300 exited 44 (300 mod 256), --workers -5 and
// --concurrency -1 were taken for the default, and --now yesterday printed
// Go's layout string.
func TestFlagValuesOutOfRange(t *testing.T) {
	leaky := writeTree(t, map[string]string{".env": "AWS_BEARER_TOKEN_BEDROCK=" + cliKeyLong + "\n"})
	report := writeTree(t, map[string]string{"r.jsonl": ""})
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"detect", "files", "--exit-code", "300", leaky}, `invalid argument "300" for "--exit-code" flag: an exit code is 0 to 255`},
		{[]string{"detect", "--exit-code", "-1", "files", leaky}, `invalid argument "-1" for "--exit-code" flag: an exit code is 0 to 255`},
		{[]string{"merge", "--exit-code", "256", report + "/r.jsonl"}, `invalid argument "256" for "--exit-code" flag: an exit code is 0 to 255`},
		{[]string{"detect", "files", "--workers", "-5", leaky}, `invalid argument "-5" for "--workers" flag: give 1 or more, or 0 for the default`},
		{[]string{"detect", "files", "--workers", "two", leaky}, `invalid argument "two" for "--workers" flag: not a whole number`},
		{[]string{"verify", "--concurrency", "-1", cliKeyLong}, `invalid argument "-1" for "--concurrency" flag: give 1 or more`},
		{[]string{"scan", "--concurrency", "-1"}, `invalid argument "-1" for "--concurrency" flag: give 1 or more`},
		{[]string{"scan", "--max-attempts", "-1"}, `invalid argument "-1" for "--max-attempts" flag: give 1 or more`},
		{[]string{"detect", "files", "--now", "yesterday", leaky}, `--now "yesterday": not a time; give RFC 3339, e.g. 2026-01-31T12:00:00Z`},
		{[]string{"decode-key", "--now", "yesterday", cliKeyLong}, `--now "yesterday": not a time`},
		{[]string{"verify", "--now", "2026-01-31", cliKeyLong}, `--now "2026-01-31": not a time`},
	} {
		code, out, errOut := runCLI(t, "", tc.args...)
		if code != ExitFailure || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "2006") || out != "" {
			t.Errorf("bks %s: exit %d, stdout %q, stderr %q; want %d, nothing on stdout, and %q",
				strings.Join(tc.args, " "), code, out, errOut, ExitFailure, tc.want)
		}
	}
	// The edges are accepted.
	for _, args := range [][]string{
		{"detect", "files", "--exit-code", "0", "--workers", "0", leaky},
		{"detect", "files", "--exit-code", "255", "--workers", "1", "--now", "2026-01-31T12:00:00+01:00", leaky},
	} {
		if code, _, errOut := runCLI(t, "", args...); code == ExitFailure {
			t.Errorf("bks %s: exit 2: %s", strings.Join(args, " "), errOut)
		}
	}
}

// TestScanUnreachableEndpoint: an --endpoint-url nobody listens on fails
// after a few attempts, each retry said on stderr. Before: 8 silent
// attempts, 77 s.
func TestScanUnreachableEndpoint(t *testing.T) {
	fakeAWSEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	start := time.Now()
	code, _, errOut := runCLI(t, "", "scan", "--endpoint-url", "http://"+addr)
	if code != ExitFailure || strings.Count(errOut, "bks: the AWS endpoint "+addr+": connect: connection refused; retrying") != 2 ||
		!strings.HasSuffix(errOut, "bks: cannot reach AWS (dial tcp "+addr+": connect: connection refused): check --endpoint-url, AWS_ENDPOINT_URL and the network\n") {
		t.Errorf("exit %d, stderr %q; want %d, two retries said, then the error", code, errOut, ExitFailure)
	}
	if d := time.Since(start); d > 40*time.Second { // a hang guard: 3 attempts take seconds
		t.Errorf("gave up after %v", d)
	}
}
