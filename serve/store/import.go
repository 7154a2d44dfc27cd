package store

import (
	"context"
	"fmt"
	"time"
)

// Imported is an incident known from elsewhere (the JSON state file of
// `bks triage`), with the effects already taken on it.
type Imported struct {
	Incident
	RevokedAt time.Time // zero: not revoked
	Notified  bool      // its owner was told (time unknown: LastSeen is used)
}

// ImportResult counts what an import changed.
type ImportResult struct {
	Incidents int // incidents read
	New       int // incidents that were not in the store
	Actions   int // revoke and notify actions recorded (not already there)
}

// Import records incs in one transaction: all or nothing. An incident
// already in the store (same fingerprint) keeps the earliest first sight
// and the latest last sight, is never reopened, and gains the fields it
// lacked. Each revocation and notification becomes an action whose
// idempotency key ("triage-import:revoke:FINGERPRINT") makes a second
// import of the same file change nothing.
func (s *Store) Import(ctx context.Context, incs []Imported) (ImportResult, error) {
	res := ImportResult{Incidents: len(incs)}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("import: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit: a no-op
	var before, after int
	if err := tx.QueryRowContext(ctx, s.d.countIncidents).Scan(&before); err != nil {
		return res, fmt.Errorf("import: %w", err)
	}
	for _, in := range incs {
		n, err := s.importOne(ctx, tx, in)
		if err != nil {
			return res, fmt.Errorf("import %s: %w", in.Fingerprint, err)
		}
		res.Actions += n
	}
	if err := tx.QueryRowContext(ctx, s.d.countIncidents).Scan(&after); err != nil {
		return res, fmt.Errorf("import: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("import: %w", err)
	}
	res.New = after - before
	return res, nil
}

// importOne upserts in and adds its actions, returning how many were new.
func (s *Store) importOne(ctx context.Context, tx queryer, in Imported) (int, error) {
	if in.Fingerprint == "" || in.Redacted == "" {
		return 0, fmt.Errorf("no fingerprint or redacted form")
	}
	status := in.Status
	if status == "" {
		status = "open"
	}
	var id int64
	err := tx.QueryRowContext(ctx, s.d.importIncident, in.Fingerprint, in.Redacted, in.RuleID, in.AccountID,
		in.ThirdParty, in.Severity, in.CredentialState, status, ms(in.FirstSeen), ms(in.LastSeen)).Scan(&id)
	if err != nil {
		return 0, err
	}
	type effect struct {
		kind string
		at   time.Time
	}
	var effects []effect
	if !in.RevokedAt.IsZero() {
		effects = append(effects, effect{"revoke", in.RevokedAt})
	}
	if in.Notified {
		effects = append(effects, effect{"notify", in.LastSeen})
	}
	added := 0
	for _, e := range effects {
		r, err := tx.ExecContext(ctx, s.d.insertAction, id, e.kind, "triage-import:"+e.kind+":"+in.Fingerprint,
			"done", "imported from the bks triage state file", ms(e.at))
		if err != nil {
			return added, err
		}
		if n, err := r.RowsAffected(); err == nil {
			added += int(n)
		}
	}
	return added, nil
}
