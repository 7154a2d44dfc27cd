package store

import (
	"context"
	"fmt"
	"time"

	"github.com/bks-dev/bks/awsops/kpi"
)

// The KPIs' trends: the live long-term keys of each account at past times,
// from the history of each key's status (key_changes, migration 0005), and
// the Bedrock calls of past periods, from their daily counts
// (bedrock_calls). The dashboard draws them week by week.

const (
	// args: account, credential id, changed at, rank, status
	sqliteInsertChange = `INSERT INTO key_changes (account_id, credential_id, changed_at, changed_rank, status)
		VALUES (?, ?, ?, ?, ?)`
	// Every change of every key, with whether the key counts as a
	// long-term key (the kinds of liveKey) and its expiry. A key's changes
	// come in the order they apply: by time, then rank, and of two at the
	// same time and rank the first recorded last, so that it wins as it
	// does in key_inventory.
	sqliteKeyHistory = `SELECT c.account_id, c.credential_id, c.changed_at, c.status,
			CASE WHEN ` + longTermKeySQL + ` THEN 1 ELSE 0 END,
			COALESCE(k.expires_at, 0)
		FROM key_changes c LEFT JOIN key_inventory k
			ON k.account_id = c.account_id AND k.credential_id = c.credential_id
		ORDER BY c.account_id, c.credential_id, c.changed_at, c.changed_rank, c.id DESC`
	// args: first day, end (exclusive)
	sqliteDailyCalls = `SELECT account_id, day, caller, token_type, calls FROM bedrock_calls
		WHERE day >= ? AND day < ?`
)

// keyChange is one row of a key's history.
type keyChange struct {
	at     int64
	status string
}

// keyHistory is one key's changes, in the order they apply.
type keyHistory struct {
	account string
	counted bool  // a Bedrock API key or a BedrockAPIKey-* user's access key
	expires int64 // 0: never or unknown
	changes []keyChange
}

// liveAt reports whether the key was live at t (ms): liveKey's condition
// at a past time. It is a long-term key (counted: longTermKeySQL), its
// latest change at or before t left it active, no deletion came at or
// before t (deleted is final, as in key_inventory), and it had not expired
// (expires_at = 0 or after t).
func (k *keyHistory) liveAt(t int64) bool {
	status := ""
	for _, c := range k.changes {
		if c.at > t {
			break
		}
		if c.status == KeyDeleted {
			return false
		}
		status = c.status
	}
	return k.counted && status == KeyActive && (k.expires == 0 || k.expires > t)
}

// LiveKeysAt counts each account's live long-term keys at each of times,
// from the history of their statuses (the same keys as the live-key KPI:
// Active, unexpired Bedrock API keys and access keys of BedrockAPIKey-*
// users). A key is counted from the first event recorded of it: its
// creation when EventBridge delivered it; when the first event received
// is a later one (the key predates the service's events), from that
// event's time if it left the key active, and not before, since when it
// was created is not known. An account's count at a time before any event
// of its keys was recorded is -1 (unknown), not 0. Keys recorded before
// migration 0005 have their creation and their latest status only.
func (s *Store) LiveKeysAt(ctx context.Context, times []time.Time) (map[string][]int, error) {
	rows, err := s.db.QueryContext(ctx, s.d.aws.keyHistory)
	if err != nil {
		return nil, fmt.Errorf("live keys over time: %w", err)
	}
	var keys []*keyHistory
	var cur *keyHistory
	var curID string
	for rows.Next() {
		var acct, cred, status string
		var at, counted, expires int64
		if err := rows.Scan(&acct, &cred, &at, &status, &counted, &expires); err != nil {
			rows.Close()
			return nil, fmt.Errorf("live keys over time: %w", err)
		}
		if cur == nil || cur.account != acct || curID != cred {
			cur, curID = &keyHistory{account: acct, counted: counted == 1, expires: expires}, cred
			keys = append(keys, cur)
		}
		cur.changes = append(cur.changes, keyChange{at: at, status: status})
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("live keys over time: %w", err)
	}
	out := map[string][]int{}
	for _, k := range keys {
		counts := out[k.account]
		if counts == nil {
			counts = make([]int, len(times))
			for i := range counts {
				counts[i] = -1
			}
			out[k.account] = counts
		}
		for i, t := range times {
			at := ms(t)
			if k.changes[0].at > at {
				continue // nothing known of this key yet
			}
			counts[i] = max(counts[i], 0)
			if k.liveAt(at) {
				counts[i]++
			}
		}
	}
	return out, nil
}

// CallsByPeriod counts each account's Bedrock calls in the periods between
// bounds (oldest first): period i is [bounds[i], bounds[i+1]). Calls are
// kept per UTC day, so a day's calls count in the period its first
// millisecond falls in (the day that began before bounds[0] is left out).
func (s *Store) CallsByPeriod(ctx context.Context, bounds []time.Time) (map[string][]kpi.Calls, error) {
	if len(bounds) < 2 {
		return nil, fmt.Errorf("calls by period: %d bounds, want 2 or more", len(bounds))
	}
	rows, err := s.db.QueryContext(ctx, s.d.aws.dailyCalls, ms(bounds[0]), ms(bounds[len(bounds)-1]))
	if err != nil {
		return nil, fmt.Errorf("calls by period: %w", err)
	}
	out := map[string][]kpi.Calls{}
	for rows.Next() {
		var acct, caller, typ string
		var day, n int64
		if err := rows.Scan(&acct, &day, &caller, &typ, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("calls by period: %w", err)
		}
		i := 0
		for i+2 < len(bounds) && day >= ms(bounds[i+1]) {
			i++
		}
		if out[acct] == nil {
			out[acct] = make([]kpi.Calls, len(bounds)-1)
		}
		out[acct][i].Add(caller, typ, int(n))
	}
	return out, closeRows(rows)
}
