package store

import (
	"context"
	"fmt"
	"time"
)

// The dashboard's reads (serve's GET /dashboard): open incidents, recent
// actions and deliveries, the queue's states, and the remediations that
// mean time to remediate is computed from. They only read, each in one
// statement (no transaction: on SQLite the store's transactions take the
// write lock at BEGIN, and a page view must not hold writers back), so two
// sections of one page may be a few milliseconds apart.
//
// The statements are kept here, per dialect, rather than in dialect: they
// are the dashboard's and nothing else runs them.
type dashQueries struct {
	openCounts, openIncidents, recentActions, jobStates, deliveryStates string
	recentDeliveries                                                    string
}

var sqliteDash = dashQueries{
	openCounts: `SELECT account_id, severity, COUNT(*) FROM incidents WHERE status = 'open'
		GROUP BY account_id, severity`,
	// args: limit. The open incidents seen last, with their latest
	// sighting. The limit is applied first, in the inner SELECT: SQLite
	// otherwise computes the sighting subqueries for every open incident
	// before sorting (BenchmarkDashboard, 5,000 open incidents, on a loaded
	// 2-core machine: 228 ms a page with the limit outside, 42 ms inside).
	openIncidents: `SELECT i.id, i.fingerprint, i.redacted, i.key_kind, i.account_id, i.principal, i.severity,
			i.first_seen, i.last_seen,
			(SELECT COUNT(*) FROM findings f WHERE f.incident_id = i.id),
			COALESCE((SELECT f.repository FROM findings f WHERE f.incident_id = i.id ORDER BY f.id DESC LIMIT 1), ''),
			COALESCE((SELECT f.path FROM findings f WHERE f.incident_id = i.id ORDER BY f.id DESC LIMIT 1), ''),
			COALESCE((SELECT f.line FROM findings f WHERE f.incident_id = i.id ORDER BY f.id DESC LIMIT 1), 0)
		FROM (SELECT * FROM incidents WHERE status = 'open' ORDER BY last_seen DESC, id DESC LIMIT ?) i
		ORDER BY i.last_seen DESC, i.id DESC`,
	// args: limit
	recentActions: `SELECT a.kind, COALESCE(i.fingerprint, ''), COALESCE(i.redacted, ''), COALESCE(i.account_id, ''),
			a.result, a.detail, a.at
		FROM actions a LEFT JOIN incidents i ON i.id = a.incident_id ORDER BY a.at DESC, a.id DESC LIMIT ?`,
	jobStates:      `SELECT state, COUNT(*) FROM jobs GROUP BY state`,
	deliveryStates: `SELECT status, COUNT(*) FROM deliveries GROUP BY status`,
	// args: limit
	recentDeliveries: `SELECT d.id, d.event, d.received_at, d.status, COALESCE(d.processed_at, 0),
			COALESCE(j.state, ''), COALESCE(j.attempts, 0), COALESCE(j.last_error, '')
		FROM deliveries d LEFT JOIN jobs j ON j.delivery_id = d.id ORDER BY d.received_at DESC, d.id DESC LIMIT ?`,
}

var postgresDash = func() dashQueries {
	q := sqliteDash
	for _, s := range []*string{&q.openCounts, &q.openIncidents, &q.recentActions, &q.jobStates, &q.deliveryStates,
		&q.recentDeliveries} {
		*s = numberPlaceholders(*s)
	}
	return q
}()

func (s *Store) dash() dashQueries {
	if s.d.name == postgresDialect.name {
		return postgresDash
	}
	return sqliteDash
}

// OpenIncident is an open incident as the dashboard lists it: what may be
// shown of the key, and where it was last seen.
type OpenIncident struct {
	Incident
	Repository, Path string // the latest sighting ("" when none)
	Line             int
}

// OpenCount is how many incidents of an account and a severity are open.
type OpenCount struct {
	AccountID, Severity string
	Open                int
}

// OpenCounts counts the open incidents by account and severity.
func (s *Store) OpenCounts(ctx context.Context) ([]OpenCount, error) {
	rows, err := s.db.QueryContext(ctx, s.dash().openCounts)
	if err != nil {
		return nil, fmt.Errorf("open incidents: %w", err)
	}
	defer rows.Close()
	var out []OpenCount
	for rows.Next() {
		var c OpenCount
		if err := rows.Scan(&c.AccountID, &c.Severity, &c.Open); err != nil {
			return nil, fmt.Errorf("open incidents: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// OpenIncidents returns the open incidents seen last, at most limit.
func (s *Store) OpenIncidents(ctx context.Context, limit int) ([]OpenIncident, error) {
	rows, err := s.db.QueryContext(ctx, s.dash().openIncidents, limit)
	if err != nil {
		return nil, fmt.Errorf("open incidents: %w", err)
	}
	defer rows.Close()
	var out []OpenIncident
	for rows.Next() {
		var o OpenIncident
		var first, last int64
		if err := rows.Scan(&o.ID, &o.Fingerprint, &o.Redacted, &o.KeyKind, &o.AccountID, &o.Principal, &o.Severity,
			&first, &last, &o.Findings, &o.Repository, &o.Path, &o.Line); err != nil {
			return nil, fmt.Errorf("open incidents: %w", err)
		}
		o.Status = "open"
		o.FirstSeen, o.LastSeen = time.UnixMilli(first), time.UnixMilli(last)
		out = append(out, o)
	}
	return out, rows.Err()
}

// Action is an effect as the dashboard lists it, with the incident's
// redacted key and account ("" when the action is about no incident).
type Action struct {
	Effect
	Redacted, AccountID string
}

// RecentActions returns the latest actions, newest first, at most limit.
func (s *Store) RecentActions(ctx context.Context, limit int) ([]Action, error) {
	rows, err := s.db.QueryContext(ctx, s.dash().recentActions, limit)
	if err != nil {
		return nil, fmt.Errorf("recent actions: %w", err)
	}
	defer rows.Close()
	var out []Action
	for rows.Next() {
		var a Action
		var at int64
		if err := rows.Scan(&a.Kind, &a.Fingerprint, &a.Redacted, &a.AccountID, &a.Result, &a.Detail, &at); err != nil {
			return nil, fmt.Errorf("recent actions: %w", err)
		}
		a.At = time.UnixMilli(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// QueueStates counts the jobs by state and the deliveries by status.
func (s *Store) QueueStates(ctx context.Context) (jobs, deliveries map[string]int, err error) {
	count := func(query string) (map[string]int, error) {
		rows, err := s.db.QueryContext(ctx, query)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		m := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				return nil, err
			}
			m[k] = n
		}
		return m, rows.Err()
	}
	if jobs, err = count(s.dash().jobStates); err != nil {
		return nil, nil, fmt.Errorf("job states: %w", err)
	}
	if deliveries, err = count(s.dash().deliveryStates); err != nil {
		return nil, nil, fmt.Errorf("delivery states: %w", err)
	}
	return jobs, deliveries, nil
}

// DeliveryState is a delivery and its job, without the body.
type DeliveryState struct {
	ID, Event, Status       string
	ReceivedAt, ProcessedAt time.Time // ProcessedAt zero: not yet
	JobState                string
	Attempts                int
	LastError               string
}

// RecentDeliveries returns the latest deliveries, newest first, at most
// limit.
func (s *Store) RecentDeliveries(ctx context.Context, limit int) ([]DeliveryState, error) {
	rows, err := s.db.QueryContext(ctx, s.dash().recentDeliveries, limit)
	if err != nil {
		return nil, fmt.Errorf("recent deliveries: %w", err)
	}
	defer rows.Close()
	var out []DeliveryState
	for rows.Next() {
		var d DeliveryState
		var recv, done int64
		if err := rows.Scan(&d.ID, &d.Event, &recv, &d.Status, &done, &d.JobState, &d.Attempts, &d.LastError); err != nil {
			return nil, fmt.Errorf("recent deliveries: %w", err)
		}
		d.ReceivedAt = time.UnixMilli(recv)
		if done != 0 {
			d.ProcessedAt = time.UnixMilli(done)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
