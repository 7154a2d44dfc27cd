package triage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// StateEntry is what triage remembers about one key between runs.
type StateEntry struct {
	Fingerprint   string     `json:"fingerprint"`
	RuleID        string     `json:"rule_id"`
	Redacted      string     `json:"redacted"`
	AccountID     string     `json:"account_id,omitempty"`
	ThirdParty    bool       `json:"third_party"`
	Severity      string     `json:"severity"`
	Credential    string     `json:"credential_state"`
	FirstDetected time.Time  `json:"first_detected"`
	LastSeen      time.Time  `json:"last_seen"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
	Notified      bool       `json:"notified,omitempty"`
	Places        int        `json:"places"`
}

// State is the triage state file: one entry per key ever seen.
type State struct {
	Version int                    `json:"version"`
	Entries map[string]*StateEntry `json:"incidents"`
	path    string
}

// LoadState reads path; a missing file is an empty state.
func LoadState(path string) (*State, error) {
	st := &State{Version: 1, Entries: map[string]*StateEntry{}, path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	if st.Entries == nil {
		st.Entries = map[string]*StateEntry{}
	}
	st.path = path
	return st, nil
}

// Save writes the state atomically (temp file + rename), mode 0600.
func (s *State) Save() error {
	if s == nil || s.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".bks-state-*")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.path)
}

func (s *State) get(fp string) *StateEntry {
	if s == nil {
		return nil
	}
	return s.Entries[fp]
}

// put records inc and fills inc.Changes with what differs from last run.
func (s *State) put(inc *Incident) {
	prev := s.Entries[inc.Fingerprint]
	e := &StateEntry{
		Fingerprint: inc.Fingerprint, RuleID: inc.RuleID, Redacted: inc.Redacted, AccountID: inc.AccountID,
		ThirdParty: inc.ThirdParty, Severity: inc.Severity, Credential: inc.Credential,
		FirstDetected: inc.FirstSeen, RevokedAt: inc.RevokedAt, Places: len(inc.Places),
	}
	if len(inc.Actions) > 0 {
		e.LastSeen = inc.Actions[len(inc.Actions)-1].Time
	} else {
		e.LastSeen = inc.FirstSeen
	}
	for _, a := range inc.Actions {
		if a.Action == ActionNotify && a.Outcome == OutcomeDone {
			e.Notified = true
		}
	}
	if prev == nil {
		inc.Changes = append(inc.Changes, "new incident")
	} else {
		e.Notified = e.Notified || prev.Notified
		if prev.Severity != e.Severity {
			inc.Changes = append(inc.Changes, fmt.Sprintf("severity %s -> %s", prev.Severity, e.Severity))
		}
		if prev.Credential != e.Credential && e.Credential != StateNotChecked {
			inc.Changes = append(inc.Changes, fmt.Sprintf("credential %s -> %s", prev.Credential, e.Credential))
		}
		if prev.RevokedAt == nil && e.RevokedAt != nil {
			inc.Changes = append(inc.Changes, "revoked")
		}
		if prev.Places != e.Places {
			inc.Changes = append(inc.Changes, fmt.Sprintf("found in %d places (was %d)", e.Places, prev.Places))
		}
	}
	s.Entries[inc.Fingerprint] = e
}

// KPIs are the figures a security team tracks, computed from the state.
type KPIs struct {
	Open              map[string]map[string]int `json:"open_by_account_and_severity"`
	OpenTotal         int                       `json:"open_total"`
	Revoked           int                       `json:"keys_revoked"`
	ThirdParty        int                       `json:"third_party"`
	MeanTimeToRevoke  time.Duration             `json:"-"`
	WorstTimeToRevoke time.Duration             `json:"-"`
	MeanSeconds       float64                   `json:"mean_seconds_to_revoke"`
	WorstSeconds      float64                   `json:"worst_seconds_to_revoke"`
}

// KPIs computes open incidents by account and severity, keys revoked and
// the time from first detection to revocation. An incident is open until
// its credential is revoked, deleted, inactive or expired.
func (s *State) KPIs() KPIs {
	k := KPIs{Open: map[string]map[string]int{}}
	var total time.Duration
	keys := make([]string, 0, len(s.Entries))
	for fp := range s.Entries {
		keys = append(keys, fp)
	}
	sort.Strings(keys)
	for _, fp := range keys {
		e := s.Entries[fp]
		if e.ThirdParty {
			k.ThirdParty++
		}
		if e.RevokedAt != nil {
			k.Revoked++
			d := e.RevokedAt.Sub(e.FirstDetected)
			total += d
			k.WorstTimeToRevoke = max(k.WorstTimeToRevoke, d)
			continue
		}
		if e.Severity == SeverityLow {
			continue
		}
		acct := e.AccountID
		if acct == "" {
			acct = "unknown"
		}
		if k.Open[acct] == nil {
			k.Open[acct] = map[string]int{}
		}
		k.Open[acct][e.Severity]++
		k.OpenTotal++
	}
	if k.Revoked > 0 {
		k.MeanTimeToRevoke = total / time.Duration(k.Revoked)
	}
	k.MeanSeconds = k.MeanTimeToRevoke.Seconds()
	k.WorstSeconds = k.WorstTimeToRevoke.Seconds()
	return k
}
