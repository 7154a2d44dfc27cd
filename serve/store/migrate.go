package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFiles embed.FS

// migration is one embedded file, NNNN_name.sql, applied once and in order.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the dialect's migrations in version order.
func (d dialect) loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, d.migrations)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration %s: want NNNN_name.sql", name)
		}
		b, err := migrationFiles.ReadFile(path.Join(d.migrations, name))
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: rest, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations: version %d twice", ms[i].version)
		}
	}
	return ms, nil
}

// migrate applies the migrations not yet recorded in schema_migrations,
// each in a transaction of its own with its record, so that a crash
// leaves the schema at a version boundary and the next start goes on from
// there. Two processes starting at once serialise, and the second sees what
// the first did: on SQLite on the write lock (the transactions take it at
// BEGIN), on PostgreSQL on an advisory lock each transaction takes first
// (lockedTx).
func (s *Store) migrate(ctx context.Context) ([]int, error) {
	ms, err := s.d.loadMigrations()
	if err != nil {
		return nil, err
	}
	if err := s.createMigrations(ctx); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	var applied []int
	for _, m := range ms {
		done, err := s.applyOne(ctx, m)
		if err != nil {
			return applied, fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
		}
		if done {
			applied = append(applied, m.version)
		}
	}
	return applied, nil
}

// lockedTx begins a transaction that holds the dialect's migration lock.
func (s *Store) lockedTx(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if s.d.lockMigrations != "" {
		if _, err := tx.ExecContext(ctx, s.d.lockMigrations); err != nil {
			tx.Rollback() //nolint:errcheck // the error that matters is err
			return nil, err
		}
	}
	return tx, nil
}

// createMigrations creates schema_migrations unless it exists (under the
// lock: PostgreSQL's IF NOT EXISTS does not stop two concurrent creations).
func (s *Store) createMigrations(ctx context.Context) error {
	tx, err := s.lockedTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit: a no-op
	if _, err := tx.ExecContext(ctx, s.d.createMigrations); err != nil {
		return err
	}
	return tx.Commit()
}

// applyOne applies m unless it is recorded, and reports whether it did.
func (s *Store) applyOne(ctx context.Context, m migration) (bool, error) {
	tx, err := s.lockedTx(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit: a no-op
	have, err := versions(ctx, tx, s.d.appliedVersions)
	if err != nil {
		return false, err
	}
	if have[m.version] {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, s.d.recordMigration, m.version, m.name, ms(s.now())); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

func versions(ctx context.Context, tx *sql.Tx, query string) (map[int]bool, error) {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	have := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		have[v] = true
	}
	return have, rows.Err()
}

// ms is t in Unix milliseconds, the store's time format.
func ms(t time.Time) int64 { return t.UnixMilli() }
