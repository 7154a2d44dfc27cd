// Package testbin builds the bks binary for the tests that run it as a
// process (end-to-end tests: git hooks, the GitHub sweep, the AWS emulator,
// the demo). It builds ./cmd/bks once per test binary, however many tests
// ask, into a temporary directory that Main removes.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// DirEnv names a directory holding a bks built elsewhere; when it is set,
// BKS returns that binary instead of building one (and Main keeps it).
const DirEnv = "BKS_E2E_BIN_DIR"

var (
	once     sync.Once
	dir      string // the directory holding bks
	built    bool   // dir is ours to remove
	buildErr error
)

// ModuleRoot is the directory of this checkout's go.mod.
func ModuleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// BKS returns the path of the bks binary built from this checkout
// (CGO_ENABLED=0, like `make build`), building it on the first call.
func BKS(t testing.TB) string {
	t.Helper()
	return filepath.Join(Dir(t), "bks")
}

// Dir returns the directory holding the bks binary (to put it on PATH).
func Dir(t testing.TB) string {
	t.Helper()
	once.Do(build)
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return dir
}

func build() {
	if d := os.Getenv(DirEnv); d != "" {
		dir = d
		return
	}
	dir, buildErr = os.MkdirTemp("", "bks-testbin-")
	if buildErr != nil {
		return
	}
	built = true
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "bks"), "./cmd/bks")
	cmd.Dir = ModuleRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("go build ./cmd/bks: %w\n%s", err, out)
	}
}

// Main runs the tests and removes the binary built for them; call it from
// TestMain: os.Exit(testbin.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if built {
		os.RemoveAll(dir)
	}
	return code
}
