package store

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// PostgreSQL is reached through pgx's database/sql driver (pgx/v5/stdlib)
// rather than pgx's own interface: the store is written against
// database/sql (transactions, RowsAffected, QueryRow…Scan) so that both
// dialects share every line of Go and differ only in their SQL, and the
// pool of database/sql is all the service needs. pgx is pure Go too, so
// bks stays a static binary.

// postgresDialect is sqliteDialect's statements with PostgreSQL's
// placeholders ($1…), except the claim, whose subquery takes FOR UPDATE
// SKIP LOCKED: a replica skips the row another one is claiming instead of
// waiting for it (and then finding it taken), and migrations, which take a
// transaction-scoped advisory lock so that replicas starting together
// apply each one once; Admit takes another such lock (lockAdmission).
var postgresDialect = func() dialect {
	d := sqliteDialect
	d.name, d.migrations = "postgres", "migrations/postgres"
	d.createMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL)`
	// The key is arbitrary, the same in every replica: "bks-serve".
	d.lockMigrations = `SELECT pg_advisory_xact_lock(6868876332181536613)`
	// Admissions one at a time: under READ COMMITTED two transactions
	// would each count the queue without the other's insert. Another
	// arbitrary key, the same in every replica; released at commit or
	// rollback.
	d.lockAdmission = `SELECT pg_advisory_xact_lock(7089908461417752948)`
	d.claimJob = `UPDATE jobs SET state = 'running', attempts = attempts + 1,
			locked_by = ?, locked_until = ?, updated_at = ?
		WHERE id = (SELECT id FROM jobs
			WHERE (state = 'queued' AND COALESCE(locked_until, 0) <= ?)
			   OR (state = 'running' AND locked_until <= ?)
			ORDER BY id LIMIT 1
			FOR UPDATE SKIP LOCKED)
		RETURNING id, delivery_id, kind, attempts`
	for _, q := range d.statements() {
		*q = numberPlaceholders(*q)
	}
	return d
}()

// statements are the dialect's SQL strings, to rewrite them all at once.
func (d *dialect) statements() []*string {
	return append(d.aws.statements(),
		&d.createMigrations, &d.appliedVersions, &d.recordMigration, &d.lockMigrations, &d.lockAdmission,
		&d.insertDelivery, &d.insertJob, &d.getDelivery, &d.jobsFor,
		&d.claimJob, &d.extendLease, &d.finishJob, &d.finishDelivery, &d.queueDepth,
		&d.oldestDue, &d.upsertIncident, &d.insertFinding, &d.listIncidents,
		&d.importIncident, &d.insertAction, &d.countIncidents,
		&d.getEffect, &d.insertEffect, &d.markRevoked,
	)
}

// numberPlaceholders turns each ? of q into $1, $2… in order. The store's
// statements have no ? in a string literal or comment.
func numberPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// isPostgres reports whether dsn is a PostgreSQL URL.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// openPostgres opens a pool on the PostgreSQL URL dsn (libpq's URL form:
// postgres://user:password@host:port/db?sslmode=…; PG* variables fill the
// gaps). Errors never quote dsn: it may hold a password.
func openPostgres(dsn string) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", Redact(dsn), err)
	}
	setPool(db, DefaultPostgresConns)
	return db, nil
}

// DefaultPostgresConns is the size of the PostgreSQL pool until
// SetMaxConns: the default 2 workers plus 2 (bks serve sizes it from
// --workers). Measured in docs/BENCH.md (make bench-serve): admissions take
// an advisory lock one at a time, so a larger pool only moves the waiting
// requests from the pool into the server, where they wait longer (a
// 1,000-delivery burst: answers p95 0.19 s with 2 connections, 0.35 s
// with 4, 0.97 s with 5, 2.0 and 4.4 s with 20).
const DefaultPostgresConns = 4

// SetMaxConns sets the size of the PostgreSQL pool (n >= 1; SQLite: no
// effect, its writers queue on the file lock).
func (s *Store) SetMaxConns(n int) {
	if s.d.name == "postgres" && n >= 1 {
		setPool(s.db, n)
	}
}

func setPool(db *sql.DB, n int) {
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(min(n, 5))
}
