package testpg

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestClusterNotRootOnLoopback: the server process runs as a user other
// than root and listens on 127.0.0.1 only; each DSN is a database of its own.
func TestClusterNotRootOnLoopback(t *testing.T) {
	a, b := DSN(t), DSN(t)
	if a == b {
		t.Fatalf("two tests share %s", a)
	}
	db, err := sql.Open("pgx", a)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pid int
	var listen string
	if err := db.QueryRow(`SELECT pg_backend_pid(), current_setting('listen_addresses')`).Scan(&pid, &listen); err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("cannot read the backend's /proc status: %v", err)
	}
	var uid string
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
			uid = f[1]
		}
	}
	t.Logf("backend pid %d runs as uid %s, listen_addresses %s", pid, uid, listen)
	if uid == "0" || listen != "127.0.0.1" {
		t.Errorf("uid %s, listen_addresses %q; want a non-root user on 127.0.0.1", uid, listen)
	}
}

// TestProxyCutHangRestore: through the proxy the database answers; cut, a
// ping fails at once; hung, a ping waits until its deadline; restored, it
// answers again.
func TestProxyCutHangRestore(t *testing.T) {
	p, via := NewProxy(t, DSN(t))
	db, err := sql.Open("pgx", via)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ping := func() (time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := db.PingContext(ctx)
		return time.Since(start), err
	}
	if _, err := ping(); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	p.Cut()
	if took, err := ping(); err == nil || took >= 500*time.Millisecond {
		t.Errorf("cut: %v after %s; want a quick failure", err, took)
	}
	p.Hang()
	if took, err := ping(); err == nil || took < 500*time.Millisecond {
		t.Errorf("hung: %v after %s; want the deadline", err, took)
	}
	p.Restore()
	var err2 error
	for range 5 { // a connection from before may fail once
		if _, err2 = ping(); err2 == nil {
			break
		}
	}
	if err2 != nil {
		t.Errorf("restored: %v", err2)
	}
}
