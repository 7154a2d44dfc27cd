package store

import (
	"context"
	"fmt"
	"time"
)

// Incident is one leaked key, known by its fingerprint. It holds what may
// be shown: never the key itself.
type Incident struct {
	ID          int64
	Fingerprint string
	Redacted    string
	KeyKind     string // the decoded key type (long-term, short-term…)
	AccountID   string
	Principal   string // the IAM user or the access key id
	Region      string
	ExpiresAt   time.Time // zero: none or unknown
	Severity    string
	Status      string // open, revoked, resolved
	FirstSeen   time.Time
	LastSeen    time.Time
	Findings    int // places it was seen (ListIncidents)

	// From `bks triage` (an imported state file; later, the service's own
	// triage).
	RuleID          string
	ThirdParty      bool   // the key belongs to someone else's account
	CredentialState string // active, inactive, deleted, expired, revoked, unknown… ("": not checked)
}

// Sighting is where an incident's key was seen.
type Sighting struct {
	DeliveryID string // "" when not from a delivery
	Repository string
	Commit     string
	Path       string
	Line       int
}

// RecordFinding records that the key of inc was seen at where: the
// incident is created on first sight (else its last_seen moves), the
// sighting is added once (a job run twice adds nothing). It returns the
// incident's id.
func (s *Store) RecordFinding(ctx context.Context, inc Incident, where Sighting) (int64, error) {
	if inc.Fingerprint == "" || inc.Redacted == "" {
		return 0, fmt.Errorf("record finding: no fingerprint or redacted form")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("record finding: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit: a no-op
	now := ms(s.now())
	var expires any
	if !inc.ExpiresAt.IsZero() {
		expires = ms(inc.ExpiresAt)
	}
	var id int64
	err = tx.QueryRowContext(ctx, s.d.upsertIncident, inc.Fingerprint, inc.Redacted, inc.KeyKind,
		inc.AccountID, inc.Principal, inc.Region, expires, inc.Severity, now, now).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record incident %s: %w", inc.Fingerprint, err)
	}
	var delivery any
	if where.DeliveryID != "" {
		delivery = where.DeliveryID
	}
	if _, err := tx.ExecContext(ctx, s.d.insertFinding, id, delivery, where.Repository, where.Commit,
		where.Path, where.Line, now); err != nil {
		return 0, fmt.Errorf("record finding of %s: %w", inc.Fingerprint, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("record finding: %w", err)
	}
	return id, nil
}

// ListIncidents returns every incident, oldest first, with its number of
// sightings.
func (s *Store) ListIncidents(ctx context.Context) ([]Incident, error) {
	rows, err := s.db.QueryContext(ctx, s.d.listIncidents)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	defer rows.Close()
	var out []Incident
	for rows.Next() {
		var i Incident
		var exp, first, last int64
		if err := rows.Scan(&i.ID, &i.Fingerprint, &i.Redacted, &i.KeyKind, &i.AccountID, &i.Principal,
			&i.Region, &exp, &i.Severity, &i.Status, &first, &last,
			&i.RuleID, &i.ThirdParty, &i.CredentialState, &i.Findings); err != nil {
			return nil, fmt.Errorf("incidents: %w", err)
		}
		if exp != 0 {
			i.ExpiresAt = time.UnixMilli(exp)
		}
		i.FirstSeen, i.LastSeen = time.UnixMilli(first), time.UnixMilli(last)
		out = append(out, i)
	}
	return out, rows.Err()
}
