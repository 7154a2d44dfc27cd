package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite" // database/sql driver "sqlite": pure Go, no cgo
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteDialect is every statement the store runs on SQLite (3.35 or later
// for RETURNING). postgresDialect is derived from it: the same statements
// with $n placeholders, but the claim and the migration lock. So write
// statements both accept (ON CONFLICT … DO …, RETURNING, CASE rather than
// the two-argument MIN/MAX of SQLite or LEAST/GREATEST of PostgreSQL).
var sqliteDialect = dialect{
	name:       "sqlite",
	migrations: "migrations/sqlite",

	createMigrations: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL)`,
	appliedVersions: `SELECT version FROM schema_migrations`,
	recordMigration: `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,

	insertDelivery: `INSERT INTO deliveries (id, event, received_at, body, status)
		VALUES (?, ?, ?, ?, 'queued') ON CONFLICT (id) DO NOTHING`,
	insertJob: `INSERT INTO jobs (delivery_id, kind, state, created_at, updated_at)
		VALUES (?, ?, 'queued', ?, ?)`,
	getDelivery: `SELECT id, event, received_at, body, status, COALESCE(processed_at, 0)
		FROM deliveries WHERE id = ?`,
	jobsFor: `SELECT id, delivery_id, kind, state, attempts, COALESCE(locked_by, ''), COALESCE(last_error, '')
		FROM jobs WHERE delivery_id = ? ORDER BY id`,

	// args: worker, lease end, now, now (queued and due), now (lease ran out)
	claimJob: `UPDATE jobs SET state = 'running', attempts = attempts + 1,
			locked_by = ?, locked_until = ?, updated_at = ?
		WHERE id = (SELECT id FROM jobs
			WHERE (state = 'queued' AND COALESCE(locked_until, 0) <= ?)
			   OR (state = 'running' AND locked_until <= ?)
			ORDER BY id LIMIT 1)
		RETURNING id, delivery_id, kind, attempts`,
	// args: lease end, now, job id, worker
	extendLease: `UPDATE jobs SET locked_until = ?, updated_at = ?
		WHERE id = ? AND locked_by = ? AND state = 'running'`,
	// args: new state, locked_until, last_error, attempts adjustment, now, job id, worker
	finishJob: `UPDATE jobs SET state = ?, locked_by = NULL, locked_until = ?,
			last_error = ?, attempts = attempts + ?, updated_at = ?
		WHERE id = ? AND locked_by = ? AND state = 'running'`,
	// args: status, processed_at, delivery id. The body goes once processed.
	finishDelivery: `UPDATE deliveries SET status = ?, processed_at = ?, body = NULL WHERE id = ?`,
	queueDepth:     `SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')`,
	// args: now. A queued job is due at locked_until (a retry) or since
	// it was created.
	oldestDue: `SELECT COALESCE(MIN(COALESCE(locked_until, created_at)), 0) FROM jobs
		WHERE state = 'queued' AND COALESCE(locked_until, 0) <= ?`,

	// args: fingerprint, redacted, kind, account, principal, region,
	// expires_at, severity, first_seen, last_seen
	upsertIncident: `INSERT INTO incidents (fingerprint, redacted, key_kind, account_id, principal,
			region, expires_at, severity, status, first_seen, last_seen)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)
		ON CONFLICT (fingerprint) DO UPDATE SET last_seen = excluded.last_seen
		RETURNING id`,
	insertFinding: `INSERT INTO findings (incident_id, delivery_id, repository, commit_sha, path, line, found_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
	listIncidents: `SELECT i.id, i.fingerprint, i.redacted, i.key_kind, i.account_id, i.principal, i.region,
			COALESCE(i.expires_at, 0), i.severity, i.status, i.first_seen, i.last_seen,
			i.rule_id, i.third_party, i.credential_state,
			(SELECT COUNT(*) FROM findings f WHERE f.incident_id = i.id)
		FROM incidents i ORDER BY i.id`,

	// args: fingerprint, redacted, rule, account, third party, severity,
	// credential state, status, first seen, last seen. An incident already
	// there keeps its earliest first sight and latest last sight, is not
	// reopened, and takes the fields it lacks.
	importIncident: `INSERT INTO incidents (fingerprint, redacted, rule_id, account_id, third_party, severity,
			credential_state, status, first_seen, last_seen)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (fingerprint) DO UPDATE SET
			first_seen = CASE WHEN excluded.first_seen < incidents.first_seen THEN excluded.first_seen ELSE incidents.first_seen END,
			last_seen = CASE WHEN excluded.last_seen > incidents.last_seen THEN excluded.last_seen ELSE incidents.last_seen END,
			status = CASE WHEN incidents.status = 'open' THEN excluded.status ELSE incidents.status END,
			rule_id = CASE WHEN incidents.rule_id = '' THEN excluded.rule_id ELSE incidents.rule_id END,
			account_id = CASE WHEN incidents.account_id = '' THEN excluded.account_id ELSE incidents.account_id END,
			severity = CASE WHEN incidents.severity = '' THEN excluded.severity ELSE incidents.severity END,
			credential_state = CASE WHEN incidents.credential_state = '' THEN excluded.credential_state ELSE incidents.credential_state END,
			third_party = excluded.third_party
		RETURNING id`,
	// args: incident, kind, idempotency key, result, detail, at
	insertAction: `INSERT INTO actions (incident_id, kind, idempotency_key, result, detail, at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING`,
	countIncidents: `SELECT COUNT(*) FROM incidents`,
	getEffect: `SELECT a.kind, COALESCE(i.fingerprint, ''), a.result, a.detail, a.at
		FROM actions a LEFT JOIN incidents i ON i.id = a.incident_id WHERE a.idempotency_key = ?`,
	// args: fingerprint, kind, key, result, detail, at
	insertEffect: `INSERT INTO actions (incident_id, kind, idempotency_key, result, detail, at)
		VALUES ((SELECT id FROM incidents WHERE fingerprint = ?), ?, ?, ?, ?, ?)
		ON CONFLICT (idempotency_key) DO NOTHING`,
	markRevoked: `UPDATE incidents SET status = 'revoked' WHERE fingerprint = ?`,
	aws:         sqliteAWS,
}

// openSQLite opens (creating it and its directory) the SQLite database at
// path: WAL so that readers do not wait for the writer, a busy timeout so
// that writers (other connections, other processes on the same file) wait
// for each other instead of failing, foreign keys on, secure_delete so that
// a body set to NULL (a payload may quote a key in a commit message) is
// zeroed in the file rather than left in a free page, and transactions that
// take the write lock at BEGIN (_txlock=immediate), since a deferred one
// that reads then writes can fail with SQLITE_BUSY without waiting.
func openSQLite(path string) (*sql.DB, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite path %q: '?' and '#' are not allowed in the file name", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	// synchronous stays FULL (the default): a delivery answered 202 is on disk.
	dsn := path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=secure_delete(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return db, nil
}

// ping checks the database answers. On SQLite the first connection turns a
// new file to WAL, which takes an exclusive lock and answers SQLITE_BUSY at
// once, without the busy timeout, when another process or connection opens
// the file at the same moment (https://www.sqlite.org/wal.html: "the
// journal_mode ... cannot be changed while ... other connections"); once the
// file is in WAL the pragma needs no lock, so a few retries settle it.
func ping(ctx context.Context, db *sql.DB, d dialect) error {
	const tries = 50
	for i := 1; ; i++ {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || d.name != "sqlite" || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || i == tries {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(i) * 10 * time.Millisecond):
		}
	}
}
