package store

import (
	"context"
	"fmt"
	"time"

	"github.com/bks-dev/bks/awsops/kpi"
)

// awsStatements are the statements of the AWS events that EventBridge
// delivers (POST /events/aws), the key inventory they keep and the KPIs.
type awsStatements struct {
	insertEvent, upsertKey, addCalls   string
	liveKeys, callCounts, remediations string
	liveKeyList                        string
	// The trends (trends.go).
	insertChange, keyHistory, dailyCalls string
}

func (a *awsStatements) statements() []*string {
	return []*string{&a.insertEvent, &a.upsertKey, &a.addCalls, &a.liveKeys, &a.callCounts, &a.remediations, &a.liveKeyList,
		&a.insertChange, &a.keyHistory, &a.dailyCalls}
}

// longTermKeySQL is the condition on a key_inventory row of a long-term
// key: a Bedrock API key or a BedrockAPIKey-* user's access key. Its
// columns are key_inventory's only, unqualified, so that it reads the same
// in a join with key_changes (sqliteKeyHistory).
const longTermKeySQL = `(kind = 'access_key' OR service_name = 'bedrock.amazonaws.com')`

// liveKey is the condition of a live long-term key in key_inventory (arg:
// now): active, a long-term key, not expired. The KPI's count and the
// dashboard's list share it; keyHistory.liveAt applies the same active and
// unexpired test to a key's past status.
const liveKey = `status = 'active'
				AND ` + longTermKeySQL + `
				AND (expires_at = 0 OR expires_at > ?)`

var sqliteAWS = awsStatements{
	// args: id, account, region, name, event time, received at
	insertEvent: `INSERT INTO aws_events (id, account_id, region, event_name, event_time, received_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
	// args: account, credential id, kind, user, service, status, created,
	// expires, changed, rank. Deleted is final; otherwise the newer
	// event's status wins (at the same time, the later kind of change);
	// fields an earlier event lacked are filled in. The SET expressions
	// all read the row as it was.
	upsertKey: `INSERT INTO key_inventory (account_id, credential_id, kind, user_name, service_name, status,
			created_at, expires_at, changed_at, changed_rank)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id, credential_id) DO UPDATE SET
			status = CASE WHEN key_inventory.status = 'deleted' OR excluded.status = 'deleted' THEN 'deleted'
				WHEN excluded.changed_at > key_inventory.changed_at
					OR (excluded.changed_at = key_inventory.changed_at AND excluded.changed_rank > key_inventory.changed_rank)
				THEN excluded.status
				ELSE key_inventory.status END,
			changed_rank = CASE WHEN key_inventory.status = 'deleted' THEN key_inventory.changed_rank
				WHEN excluded.status = 'deleted' OR excluded.changed_at > key_inventory.changed_at
					OR (excluded.changed_at = key_inventory.changed_at AND excluded.changed_rank > key_inventory.changed_rank)
				THEN excluded.changed_rank
				ELSE key_inventory.changed_rank END,
			changed_at = CASE WHEN key_inventory.status = 'deleted' THEN key_inventory.changed_at
				WHEN excluded.status = 'deleted' OR excluded.changed_at > key_inventory.changed_at THEN excluded.changed_at
				ELSE key_inventory.changed_at END,
			user_name = CASE WHEN key_inventory.user_name = '' THEN excluded.user_name ELSE key_inventory.user_name END,
			service_name = CASE WHEN key_inventory.service_name = '' THEN excluded.service_name ELSE key_inventory.service_name END,
			created_at = CASE WHEN key_inventory.created_at = 0 THEN excluded.created_at ELSE key_inventory.created_at END,
			expires_at = CASE WHEN key_inventory.expires_at = 0 THEN excluded.expires_at ELSE key_inventory.expires_at END`,
	// args: account, day, caller, token type
	addCalls: `INSERT INTO bedrock_calls (account_id, day, caller, token_type, calls) VALUES (?, ?, ?, ?, 1)
		ON CONFLICT (account_id, day, caller, token_type) DO UPDATE SET calls = bedrock_calls.calls + 1`,
	// args: now. Every account the inventory knows, with its live keys.
	liveKeys: `SELECT account_id, CAST(SUM(CASE WHEN ` + liveKey + ` THEN 1 ELSE 0 END) AS BIGINT)
		FROM key_inventory GROUP BY account_id ORDER BY account_id`,
	// args: now, limit. The live keys themselves, newest first.
	liveKeyList: `SELECT account_id, user_name, credential_id, kind, created_at FROM key_inventory
		WHERE ` + liveKey + ` ORDER BY created_at DESC, account_id, credential_id LIMIT ?`,
	// args: first day
	callCounts: `SELECT account_id, caller, token_type, CAST(SUM(calls) AS BIGINT) FROM bedrock_calls
		WHERE day >= ? GROUP BY account_id, caller, token_type`,
	// Each incident of a key of one's own (not a third party's): its
	// detection, its first revocation, and the removal of its key: for a
	// BedrockAPIKey-* user (the console makes one per key), the last
	// change of its credentials once none is active.
	remediations: `SELECT i.account_id, i.first_seen,
			COALESCE((SELECT MIN(a.at) FROM actions a WHERE a.incident_id = i.id AND a.kind = 'revoke' AND a.result = 'done'), 0),
			CASE WHEN i.principal LIKE 'BedrockAPIKey-%' AND NOT EXISTS (SELECT 1 FROM key_inventory k
					WHERE k.account_id = i.account_id AND k.user_name = i.principal AND k.status = 'active')
				THEN COALESCE((SELECT MAX(k.changed_at) FROM key_inventory k
					WHERE k.account_id = i.account_id AND k.user_name = i.principal), 0)
				ELSE 0 END,
			i.status
		FROM incidents i WHERE NOT i.third_party`,
	insertChange: sqliteInsertChange,
	keyHistory:   sqliteKeyHistory,
	dailyCalls:   sqliteDailyCalls,
}

// Kinds of long-term credential in the key inventory.
const (
	KeyServiceSpecific = "service_specific" // a Bedrock API key (or another service's credential)
	KeyAccessKey       = "access_key"       // an access key of a BedrockAPIKey-* user
)

// Key statuses in the inventory.
const (
	KeyActive   = "active"
	KeyInactive = "inactive"
	KeyDeleted  = "deleted"
)

// KeyChange is what one CloudTrail event says of a long-term credential.
// It holds no secret: the store has no column for one.
type KeyChange struct {
	CredentialID string // the service-specific credential id, or the access key id
	Kind         string // KeyServiceSpecific or KeyAccessKey
	UserName     string
	ServiceName  string // bedrock.amazonaws.com ("": unknown, e.g. a deletion)
	Status       string // KeyActive, KeyInactive, KeyDeleted
	// Created is set by the event that created the key (its eventTime or
	// the record's createDate), zero for a change of an existing one.
	Created time.Time
	Expires time.Time // zero: never or unknown
}

// BedrockCall is one Bedrock call, as kpi.Caller classified it.
type BedrockCall struct {
	Caller    string // kpi.CallerAPIKey, CallerRole…
	TokenType string // LONG_TERM, SHORT_TERM or ""
}

// AWSEvent is one CloudTrail event delivered by EventBridge, reduced to
// what the store keeps: its id, where and when, and either a key change
// or a Bedrock call (or neither: then only its id is recorded).
type AWSEvent struct {
	ID        string // the EventBridge event id
	AccountID string
	Region    string
	Name      string // eventName
	Time      time.Time
	Key       *KeyChange
	Call      *BedrockCall
}

// RecordAWSEvent records e and its effect in one transaction. It reports
// false, and changes nothing, when an event with e.ID is already recorded
// (EventBridge delivers at least once). Events of one key may come in any
// order: a newer status is never replaced by an older one, and a deleted
// key stays deleted.
func (s *Store) RecordAWSEvent(ctx context.Context, e AWSEvent) (added bool, err error) {
	if e.ID == "" || e.AccountID == "" || e.Time.IsZero() {
		return false, fmt.Errorf("record aws event: no id, account or time")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("record aws event: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit: a no-op
	a := s.d.aws
	res, err := tx.ExecContext(ctx, a.insertEvent, e.ID, e.AccountID, e.Region, e.Name, ms(e.Time), ms(s.now()))
	if err != nil {
		return false, fmt.Errorf("record aws event %s: %w", e.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if k := e.Key; k != nil {
		var created, expires int64
		if !k.Created.IsZero() {
			created = ms(k.Created)
		}
		if !k.Expires.IsZero() {
			expires = ms(k.Expires)
		}
		rank := 1 // an update
		switch {
		case k.Status == KeyDeleted:
			rank = 2
		case !k.Created.IsZero():
			rank = 0
		}
		if _, err := tx.ExecContext(ctx, a.upsertKey, e.AccountID, k.CredentialID, k.Kind, k.UserName, k.ServiceName,
			k.Status, created, expires, ms(e.Time), rank); err != nil {
			return false, fmt.Errorf("record key %s: %w", k.CredentialID, err)
		}
		if _, err := tx.ExecContext(ctx, a.insertChange, e.AccountID, k.CredentialID, ms(e.Time), rank, k.Status); err != nil {
			return false, fmt.Errorf("record key %s: %w", k.CredentialID, err)
		}
	}
	if c := e.Call; c != nil {
		day := e.Time.UTC().Truncate(24 * time.Hour)
		if _, err := tx.ExecContext(ctx, a.addCalls, e.AccountID, ms(day), c.Caller, c.TokenType); err != nil {
			return false, fmt.Errorf("record bedrock call: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("record aws event %s: %w", e.ID, err)
	}
	return true, nil
}

// CallWindow is how far back KPIs counts Bedrock calls.
const CallWindow = 30 * 24 * time.Hour

// KPIs computes the three KPIs of Bedrock keys from the store at now (see
// package kpi for what each means): live long-term keys per account from
// the key inventory EventBridge keeps, the mean time to remediate from
// the incidents and their revocations (or the removal of their keys), and
// the share of Bedrock calls made with roles from the calls of the last
// CallWindow. It is what /metrics exports and what the dashboard shows.
func (s *Store) KPIs(ctx context.Context, now time.Time) (kpi.Report, error) {
	rep, err := s.AccountKPIs(ctx, now)
	if err != nil {
		return rep, err
	}
	rems, err := s.Remediations(ctx)
	if err != nil {
		return rep, err
	}
	rep.MTTR = kpi.MeanTimeToRemediate(rems)
	return rep, nil
}

// AccountKPIs is KPIs without the mean time to remediate: the accounts'
// live keys and calls (the dashboard reads Remediations once for its own
// window and trend).
func (s *Store) AccountKPIs(ctx context.Context, now time.Time) (kpi.Report, error) {
	rep := kpi.Report{At: now.UTC(), Since: now.UTC().Add(-CallWindow).Truncate(24 * time.Hour)}
	var b kpi.Builder
	rows, err := s.db.QueryContext(ctx, s.d.aws.liveKeys, ms(now))
	if err != nil {
		return rep, fmt.Errorf("kpis: live keys: %w", err)
	}
	for rows.Next() {
		var acct string
		var n int64
		if err := rows.Scan(&acct, &n); err != nil {
			rows.Close()
			return rep, fmt.Errorf("kpis: live keys: %w", err)
		}
		b.LiveKeys(acct, int(n))
	}
	if err := closeRows(rows); err != nil {
		return rep, fmt.Errorf("kpis: live keys: %w", err)
	}
	if rows, err = s.db.QueryContext(ctx, s.d.aws.callCounts, ms(rep.Since)); err != nil {
		return rep, fmt.Errorf("kpis: calls: %w", err)
	}
	for rows.Next() {
		var acct, caller, typ string
		var n int64
		if err := rows.Scan(&acct, &caller, &typ, &n); err != nil {
			rows.Close()
			return rep, fmt.Errorf("kpis: calls: %w", err)
		}
		b.Calls(acct, caller, typ, int(n))
	}
	if err := closeRows(rows); err != nil {
		return rep, fmt.Errorf("kpis: calls: %w", err)
	}
	rep.Accounts = b.Accounts()
	return rep, nil
}

// InventoryKey is one live long-term key of the inventory: never the
// key, who holds it and its id.
type InventoryKey struct {
	AccountID, User, CredentialID, Kind string
	Created                             time.Time // zero: unknown
}

// LiveKeyList returns up to limit live long-term keys at now, newest
// first.
func (s *Store) LiveKeyList(ctx context.Context, now time.Time, limit int) ([]InventoryKey, error) {
	rows, err := s.db.QueryContext(ctx, s.d.aws.liveKeyList, ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("live keys: %w", err)
	}
	var out []InventoryKey
	for rows.Next() {
		var k InventoryKey
		var created int64
		if err := rows.Scan(&k.AccountID, &k.User, &k.CredentialID, &k.Kind, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("live keys: %w", err)
		}
		if created != 0 {
			k.Created = time.UnixMilli(created)
		}
		out = append(out, k)
	}
	return out, closeRows(rows)
}

// Remediations is each incident's detection and remediation (the
// earlier of its first revocation and its key's removal), third parties'
// keys left out.
func (s *Store) Remediations(ctx context.Context) ([]kpi.Remediation, error) {
	rows, err := s.db.QueryContext(ctx, s.d.aws.remediations)
	if err != nil {
		return nil, fmt.Errorf("kpis: remediations: %w", err)
	}
	var out []kpi.Remediation
	for rows.Next() {
		var first, revoked, removed int64
		var acct, status string
		if err := rows.Scan(&acct, &first, &revoked, &removed, &status); err != nil {
			rows.Close()
			return nil, fmt.Errorf("kpis: remediations: %w", err)
		}
		r := kpi.Remediation{AccountID: acct, Detected: time.UnixMilli(first), Resolved: status != "open"}
		if at := earliest(revoked, removed); at != 0 {
			r.Remediated = time.UnixMilli(at)
		}
		out = append(out, r)
	}
	return out, closeRows(rows)
}

// earliest is the smaller of the non-zero a and b (0: both are).
func earliest(a, b int64) int64 {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

type closer interface {
	Err() error
	Close() error
}

func closeRows(r closer) error {
	err := r.Err()
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return err
}
