package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Effect is something the service did outside itself (revoked a key,
// wrote a report, notified an owner), recorded in actions under a key
// that names it once: "revoke/<fingerprint>". A job run again finds it
// and does not do it twice.
type Effect struct {
	Key         string
	Kind        string // revoke | timeline | report | notify | check_run | comment
	Fingerprint string // the incident it is about ("": none)
	Result      string // done, unchanged…
	Detail      string // never a secret
	At          time.Time
}

// GetEffect returns the effect recorded under key; ok is false when none is.
func (s *Store) GetEffect(ctx context.Context, key string) (e Effect, ok bool, err error) {
	var at int64
	err = s.db.QueryRowContext(ctx, s.d.getEffect, key).Scan(&e.Kind, &e.Fingerprint, &e.Result, &e.Detail, &at)
	switch {
	case err == sql.ErrNoRows:
		return e, false, nil
	case err != nil:
		return e, false, fmt.Errorf("effect %s: %w", key, err)
	}
	e.Key, e.At = key, time.UnixMilli(at)
	return e, true, nil
}

// RecordEffect records e once: a second record of the same key changes
// nothing and reports false. A revocation also marks the incident revoked.
func (s *Store) RecordEffect(ctx context.Context, e Effect) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("record effect %s: %w", e.Key, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit: a no-op
	if e.At.IsZero() {
		e.At = s.now()
	}
	res, err := tx.ExecContext(ctx, s.d.insertEffect, e.Fingerprint, e.Kind, e.Key, e.Result, e.Detail, ms(e.At))
	if err != nil {
		return false, fmt.Errorf("record effect %s: %w", e.Key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record effect %s: %w", e.Key, err)
	}
	if e.Kind == "revoke" && e.Fingerprint != "" {
		if _, err := tx.ExecContext(ctx, s.d.markRevoked, e.Fingerprint); err != nil {
			return false, fmt.Errorf("record effect %s: %w", e.Key, err)
		}
	}
	return n == 1, tx.Commit()
}
