package cli

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testbin"
	"github.com/bks-dev/bks/internal/testpg"
)

// TestMain removes the bks binary the end-to-end tests build (testbin)
// and stops the PostgreSQL cluster the serve tests started (testpg).
func TestMain(m *testing.M) {
	code := testbin.Main(m)
	testpg.Stop()
	os.Exit(code)
}

// runCLI runs bks in-process with an empty environment and returns the
// exit code, stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	return runCLIEnv(t, nil, stdin, args...)
}

// runCLIEnv is runCLI with the environment env.
func runCLIEnv(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, &IO{
		In: strings.NewReader(stdin), Out: &out, Err: &errb,
		Getenv: func(k string) string { return env[k] },
	})
	return code, out.String(), errb.String()
}
