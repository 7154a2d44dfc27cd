// Package store is the database of `bks serve`: GitHub deliveries, the job
// queue, incidents and their findings, and the actions taken. It runs
// versioned migrations (embedded .sql files, recorded in schema_migrations)
// when it opens.
//
// SQLite is the default: modernc.org/sqlite is pure Go, so bks stays a
// static binary built without cgo, and the database is one file under the
// state directory. PostgreSQL (a postgres:// URL) lets several replicas
// share the queue. Every statement is in one table per dialect (dialect,
// sqliteDialect, postgresDialect: the same statements with $n placeholders
// and a claim that takes FOR UPDATE SKIP LOCKED), so the Go is written once.
//
// The queue is at-least-once: a claimed job holds a lease; a worker that
// dies loses it when the lease runs out and the job is claimed again. The
// effects a job has must therefore be idempotent (actions.idempotency_key).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// dialect is every SQL statement the store runs, for one database.
type dialect struct {
	name       string
	migrations string // directory of the embedded migrations

	createMigrations, appliedVersions, recordMigration string
	lockMigrations                                     string // "": the transaction's own lock serialises
	lockAdmission                                      string // the same, for Admit

	insertDelivery, insertJob, getDelivery, jobsFor              string
	claimJob, extendLease, finishJob, finishDelivery, queueDepth string
	oldestDue                                                    string

	upsertIncident, insertFinding, listIncidents string

	importIncident, insertAction, countIncidents string
	// Effects (effects.go): get by key, insert once, mark revoked.
	getEffect, insertEffect, markRevoked string
	// AWS events, key inventory and KPIs (awsevents.go).
	aws awsStatements
}

// Store is an open database. It is safe for concurrent use.
type Store struct {
	db  *sql.DB
	d   dialect
	now func() time.Time
}

// Open opens the database named by dsn and brings its schema up to date: a
// postgres:// (or postgresql://) URL is a PostgreSQL database, whose
// schema is created in it; anything else is the path of a SQLite file
// (created when missing).
func Open(ctx context.Context, dsn string) (*Store, error) {
	if dsn == "" {
		return nil, errors.New("store: no database named")
	}
	open, d := openSQLite, sqliteDialect
	if isPostgres(dsn) {
		open, d = openPostgres, postgresDialect
	}
	db, err := open(dsn)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, d: d, now: time.Now}
	if err := ping(ctx, db, d); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", Redact(dsn), err)
	}
	if _, err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	return s, nil
}

// Dialect names the database: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// Redact is dsn fit for a log line: a PostgreSQL URL without its password
// (in the user part or the query), a file path as it is.
func Redact(dsn string) string {
	if !isPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// queryer is what a statement runs on: the database or a transaction.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Delivery is one GitHub webhook delivery.
type Delivery struct {
	ID          string // X-GitHub-Delivery
	Event       string // X-GitHub-Event
	ReceivedAt  time.Time
	Body        []byte // nil once processed
	Status      string // DeliveryQueued, DeliveryProcessed, DeliveryFailed
	ProcessedAt time.Time
}

// Delivery statuses.
const (
	DeliveryQueued    = "queued"
	DeliveryProcessed = "processed"
	DeliveryFailed    = "failed"
)

// ErrNotFound: no such row.
var ErrNotFound = errors.New("not found")

// ErrQueueFull: Admit refused a delivery because the queue holds its
// limit of jobs.
var ErrQueueFull = errors.New("queue full")

// AddDelivery records d and its job (of kind d.Event) in one transaction:
// both or neither. It reports false, and changes nothing, when a delivery
// with d.ID is already recorded (a replay).
func (s *Store) AddDelivery(ctx context.Context, d Delivery) (added bool, err error) {
	return s.Admit(ctx, d, 0)
}

// Admit is AddDelivery with a queue limit: when limit > 0 and limit jobs
// are already queued or running, it changes nothing and returns an error
// wrapping ErrQueueFull. The count and the inserts are one transaction
// that admissions take one at a time (on SQLite the write lock taken at
// BEGIN IMMEDIATE; on PostgreSQL a transaction-scoped advisory lock), so a
// burst of concurrent deliveries cannot all see room and pass the limit
// together. A replay is recognised before the limit: it reports false, nil
// even while the queue is full (answered 200, not 503, since it is
// recorded already).
func (s *Store) Admit(ctx context.Context, d Delivery, limit int) (added bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("add delivery: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit: a no-op
	if limit > 0 && s.d.lockAdmission != "" {
		if _, err := tx.ExecContext(ctx, s.d.lockAdmission); err != nil {
			return false, fmt.Errorf("add delivery: admission lock: %w", err)
		}
	}
	res, err := tx.ExecContext(ctx, s.d.insertDelivery, d.ID, d.Event, ms(d.ReceivedAt), d.Body)
	if err != nil {
		return false, fmt.Errorf("add delivery: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if limit > 0 {
		var depth int
		if err := tx.QueryRowContext(ctx, s.d.queueDepth).Scan(&depth); err != nil {
			return false, fmt.Errorf("add delivery: queue depth: %w", err)
		}
		if depth >= limit {
			return false, fmt.Errorf("%w: %d jobs queued or running, limit %d", ErrQueueFull, depth, limit)
		}
	}
	now := ms(s.now())
	if _, err := tx.ExecContext(ctx, s.d.insertJob, d.ID, d.Event, now, now); err != nil {
		return false, fmt.Errorf("add job: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("add delivery: %w", err)
	}
	return true, nil
}

// GetDelivery returns the delivery id, ErrNotFound when there is none.
func (s *Store) GetDelivery(ctx context.Context, id string) (Delivery, error) {
	var d Delivery
	var recv, done int64
	err := s.db.QueryRowContext(ctx, s.d.getDelivery, id).Scan(&d.ID, &d.Event, &recv, &d.Body, &d.Status, &done)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("delivery %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("delivery %s: %w", id, err)
	}
	d.ReceivedAt = time.UnixMilli(recv)
	if done != 0 {
		d.ProcessedAt = time.UnixMilli(done)
	}
	return d, nil
}

// OldestDue is when the job that has waited longest for a worker became
// due (zero when no job waits): far in the past means the workers are
// stuck or gone.
func (s *Store) OldestDue(ctx context.Context) (time.Time, error) {
	var t int64
	if err := s.db.QueryRowContext(ctx, s.d.oldestDue, ms(s.now())).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("oldest due job: %w", err)
	}
	if t == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(t), nil
}

// QueueDepth is the number of jobs not yet done or failed.
func (s *Store) QueueDepth(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, s.d.queueDepth).Scan(&n); err != nil {
		return 0, fmt.Errorf("queue depth: %w", err)
	}
	return n, nil
}
