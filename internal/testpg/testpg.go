// Package testpg gives tests a real PostgreSQL server on loopback: one
// throwaway cluster per test binary (initdb in a temporary directory, the
// server on a free 127.0.0.1 port, run as a non-root user since postgres
// refuses to run as root) and a fresh database per test. When the Debian
// postgresql package is missing and the test runs as root, it is installed
// with apt-get first (scripts/install-test-tools.sh does the same); a test
// is skipped, with the reason, only when that is impossible.
//
// A package using it calls Main from its TestMain, which stops the cluster
// and removes its directory when the tests end.
package testpg

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// DSNEnv names an existing server (a postgres:// URL whose user may create
// databases) to use instead of starting a cluster.
const DSNEnv = "BKS_TEST_POSTGRES"

var (
	once     sync.Once
	baseDSN  string // the cluster's postgres database, as the superuser
	startErr error
	cluster  *exec.Cmd
	dataRoot string // ours to remove
	seq      int
	seqMu    sync.Mutex
)

// Main runs the tests, then stops the cluster if one was started.
func Main(m *testing.M) int {
	code := m.Run()
	stop()
	return code
}

// Stop stops the cluster if one was started, for a TestMain that runs its
// tests through another helper's Main.
func Stop() { stop() }

// errNotInstalled marks the one reason a test is skipped: PostgreSQL is not
// installed and cannot be. A cluster that is installed but does not start
// fails the test.
var errNotInstalled = errors.New("PostgreSQL is not installed")

// DSN returns the URL of a new, empty database that lives until the test
// ends. The test is skipped when PostgreSQL cannot be installed, and fails
// when it is installed but does not start.
func DSN(t testing.TB) string {
	t.Helper()
	once.Do(start)
	if errors.Is(startErr, errNotInstalled) {
		t.Skipf("skipped: %v", startErr)
	}
	if startErr != nil {
		t.Fatalf("testpg: %v", startErr)
	}
	seqMu.Lock()
	seq++
	name := fmt.Sprintf("bks_test_%d_%d", os.Getpid(), seq)
	seqMu.Unlock()
	admin, err := sql.Open("pgx", baseDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("testpg: create database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", baseDSN)
		if err != nil {
			return
		}
		defer a.Close()
		a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") //nolint:errcheck // best effort
	})
	return withDatabase(baseDSN, name)
}

// withDatabase replaces the database of a postgres:// URL (without a query:
// DSNEnv must name one so).
func withDatabase(dsn, db string) string {
	i := strings.LastIndexByte(dsn, '/')
	return dsn[:i+1] + db
}

func start() {
	if d := os.Getenv(DSNEnv); d != "" {
		baseDSN = d
		return
	}
	bin, err := binDir()
	if err != nil {
		startErr = err
		return
	}
	baseDSN, startErr = startCluster(bin)
}

// binDir is the newest /usr/lib/postgresql/N/bin, installing the
// postgresql package when there is none.
func binDir() (string, error) {
	if dir := newestBin(); dir != "" {
		return dir, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%w: the postgresql package is missing and the tests do not run as root to install it (run scripts/install-test-tools.sh)", errNotInstalled)
	}
	var out bytes.Buffer
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "postgresql"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("%w: apt-get %s: %v: %s", errNotInstalled, args[0], err, lastLines(out.String(), 5))
		}
	}
	if dir := newestBin(); dir != "" {
		return dir, nil
	}
	return "", fmt.Errorf("%w: apt-get installed postgresql but /usr/lib/postgresql/*/bin/initdb is missing", errNotInstalled)
}

func newestBin() string {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(found, func(i, j int) bool { return version(found[i]) > version(found[j]) })
	if len(found) == 0 {
		return ""
	}
	return filepath.Dir(found[0])
}

func version(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// startCluster runs initdb and postgres in a new temporary directory on a
// free loopback port, as a non-root user when the tests run as root.
func startCluster(bin string) (string, error) {
	cred, uid, gid, err := runAs()
	if err != nil {
		return "", err
	}
	dataRoot, err = os.MkdirTemp("", "bks-testpg-")
	if err != nil {
		return "", err
	}
	if err := os.Chown(dataRoot, uid, gid); err != nil {
		return "", err
	}
	data := filepath.Join(dataRoot, "data")
	var out bytes.Buffer
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "bks", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Stdout, initdb.Stderr = &out, &out
	if err := initdb.Run(); err != nil {
		return "", fmt.Errorf("initdb: %v: %s", err, lastLines(out.String(), 5))
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	// fsync off: a test cluster need not survive a power cut.
	cluster = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+dataRoot,
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=200")
	// SIGQUIT (immediate shutdown) if the test binary dies before Main stops it.
	cluster.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	logs := filepath.Join(dataRoot, "postgres.log")
	logFile, err := os.Create(logs)
	if err != nil {
		return "", err
	}
	defer logFile.Close() // the child has its own descriptor
	cluster.Stdout, cluster.Stderr = logFile, logFile
	if err := cluster.Start(); err != nil {
		return "", fmt.Errorf("postgres: %w", err)
	}
	dsn := fmt.Sprintf("postgres://bks@127.0.0.1:%d/postgres", port)
	if err := waitReady(dsn, logs); err != nil {
		return "", err
	}
	return dsn, nil
}

// runAs is the user the cluster runs as: the tests' own unless they run as
// root, then the postgresql package's "postgres" user, else "nobody".
func runAs() (*syscall.Credential, int, int, error) {
	if os.Geteuid() != 0 {
		return nil, os.Geteuid(), os.Getegid(), nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, uid, gid, nil
	}
	return nil, 0, 0, errors.New("no non-root user (postgres, nobody) to run the cluster as")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady waits for the server of dsn to answer, logs being its log file.
func waitReady(dsn, logs string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logs)
			stop()
			return fmt.Errorf("postgres did not answer: %v: %s", err, lastLines(string(b), 5))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func stop() {
	if cluster != nil && cluster.Process != nil {
		cluster.Process.Signal(syscall.SIGQUIT) //nolint:errcheck // it may be gone
		cluster.Wait()                          //nolint:errcheck // killed on purpose
		cluster = nil
	}
	if dataRoot != "" {
		os.RemoveAll(dataRoot)
		dataRoot = ""
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}
