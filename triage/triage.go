// Package triage joins the two halves of bks: it turns findings into one
// incident per key, decides from the user's known accounts what each incident
// calls for (check the credential, live-check it, revoke it, pull its
// timeline, write its report, notify its owner), and runs or plans those
// actions idempotently against a state file.
package triage

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
)

// Severities, most urgent first.
const (
	SeverityCritical = "critical" // a live credential in one of our accounts
	SeverityHigh     = "high"     // ours, may be live (short-term unexpired, or state unknown)
	SeverityMedium   = "medium"   // someone else's account: tell its owner
	SeverityLow      = "low"      // expired, deleted or already revoked
)

var severityRank = map[string]int{SeverityCritical: 0, SeverityHigh: 1, SeverityMedium: 2, SeverityLow: 3}

// Credential states from the account check.
const (
	StateActive     = "active"
	StateInactive   = "inactive"
	StateDeleted    = "deleted"
	StateExpired    = "expired"
	StateRevoked    = "revoked"
	StateUnknown    = "unknown"
	StateNotChecked = "not-checked"
)

// Action names and outcomes.
const (
	ActionCheck    = "check"
	ActionVerify   = "verify"
	ActionRevoke   = "revoke"
	ActionTimeline = "timeline"
	ActionReport   = "report"
	ActionNotify   = "notify"

	OutcomePlanned   = "planned"   // would run with --execute
	OutcomeDone      = "done"      // ran and changed something
	OutcomeUnchanged = "unchanged" // ran; nothing needed changing
	OutcomeSkipped   = "skipped"   // not applicable or already done
	OutcomeFailed    = "failed"
)

// Account is a known AWS account ([[accounts]] in the configuration, which
// the rules package parses and validates into this type) and what triage
// does when one of its keys leaks. Each action of the table (actions.go)
// reads its own switch here.
type Account struct {
	ID    string `json:"id" toml:"id"`
	Name  string `json:"name,omitempty" toml:"name"`
	Owner string `json:"owner,omitempty" toml:"owner"` // team or email
	// How to reach it: a profile of the shared config files, or a role
	// assumed from the current credentials; regions to search.
	Profile string   `json:"profile,omitempty" toml:"profile"`
	RoleARN string   `json:"role_arn,omitempty" toml:"role_arn"`
	Regions []string `json:"regions,omitempty" toml:"regions"`
	// Actions on a leak. Revoke is never implied.
	Report   bool   `json:"report" toml:"report"`
	Timeline bool   `json:"timeline" toml:"timeline"`
	Revoke   bool   `json:"revoke" toml:"revoke"`
	Verify   bool   `json:"verify" toml:"verify"`
	Notify   string `json:"-" toml:"notify"` // webhook URL: a secret of its own, never written out
	// Auto runs the actions without --execute.
	Auto bool `json:"auto" toml:"auto"`

	// Line is where the configuration defines the account (0: not from a file).
	Line int `json:"-" toml:"-"`
}

// ActionResult is one action taken or planned for an incident.
type ActionResult struct {
	Time    time.Time `json:"time"`
	Action  string    `json:"action"`
	Outcome string    `json:"outcome"`
	Detail  string    `json:"detail,omitempty"`
}

// Incident is one leaked key, with every place it was found.
type Incident struct {
	Fingerprint string              `json:"fingerprint"`
	RuleID      string              `json:"rule_id"`
	Redacted    string              `json:"redacted"`
	Key         detectors.Key       `json:"key"`
	Places      []findings.Location `json:"places"`
	AccountID   string              `json:"account_id,omitempty"`
	Account     *Account            `json:"account,omitempty"`
	// ThirdParty is set when the key belongs to an account not in the
	// config: the incident is for its owner to act on.
	ThirdParty bool           `json:"third_party"`
	Severity   string         `json:"severity"`
	Credential string         `json:"credential_state"`
	Live       string         `json:"live_check,omitempty"`
	Advice     string         `json:"advice,omitempty"`
	Actions    []ActionResult `json:"actions"`
	FirstSeen  time.Time      `json:"first_detected"`
	RevokedAt  *time.Time     `json:"revoked_at,omitempty"`
	Changes    []string       `json:"changes,omitempty"` // since the last run (state file)

	raw string
}

// RawKey is the whole key when the findings carried it (in-process, or
// JSONL written with --show-secrets); empty otherwise.
func (i *Incident) RawKey() string { return i.raw }

// Responder performs the account-side calls of the built-in actions. The AWS
// implementation (awsops/respond) goes through the same code as
// `bks revoke-key`, `bks timeline` and `bks report`.
type Responder interface {
	// CheckCredential says whether the incident's credential still exists
	// and is active in the account (long-term keys).
	CheckCredential(ctx context.Context, acct Account, inc *Incident) (state string, err error)
	// Verify runs the opt-in live check: live, live-denied, invalid,
	// expired or unknown.
	Verify(ctx context.Context, inc *Incident) (string, error)
	// Revoke cuts the key off; changed is false when it already was.
	Revoke(ctx context.Context, acct Account, inc *Incident) (changed bool, detail string, err error)
	// Timeline writes timeline.json into dir and returns a one-line summary.
	Timeline(ctx context.Context, acct Account, inc *Incident, dir string) (string, error)
	// Report writes report.md and report.json into dir.
	Report(ctx context.Context, acct Account, inc *Incident, dir string) error
}

// Group folds findings into one incident per key (fingerprint), in a stable
// order: most severe first once classified, by fingerprint here.
// Low-confidence findings (not a decodable key) are left out.
func Group(fs []findings.Finding) []*Incident {
	by := map[string]*Incident{}
	for i := range fs {
		f := &fs[i]
		if f.Key == nil || f.Suppressed != "" {
			continue
		}
		inc := by[f.Fingerprint]
		if inc == nil {
			inc = &Incident{Fingerprint: f.Fingerprint, RuleID: f.RuleID, Redacted: f.Redacted, Key: *f.Key,
				AccountID: f.Key.AccountID, raw: f.RawKey(), Live: f.Live}
			if inc.raw == "" {
				inc.raw = f.Secret
			}
			by[f.Fingerprint] = inc
		}
		locs := f.Locations
		if len(locs) == 0 {
			locs = []findings.Location{f.Location}
		}
		inc.Places = append(inc.Places, locs...)
	}
	out := make([]*Incident, 0, len(by))
	for _, inc := range by {
		out = append(out, inc)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Fingerprint < out[b].Fingerprint })
	return out
}

// Options for Run.
type Options struct {
	Accounts []Account
	// Execute runs the actions; without it (and without Account.Auto)
	// they are only planned.
	Execute bool
	// Verify runs the live check for every incident (also per account).
	Verify bool
	// OutDir receives one directory per incident; empty: none written.
	OutDir string
	Now    func() time.Time
	// Notify posts incidents to webhooks; nil disables notification.
	Notify func(ctx context.Context, url string, inc *Incident) error
	// Actions replaces the response table (nil: Actions()).
	Actions []Action
}

// Run classifies incidents and runs or plans their actions (the table in
// actions.go, or opts.Actions). state, when not nil, is read for what was
// already done (never revoke twice) and updated.
func Run(ctx context.Context, incs []*Incident, r Responder, st *State, opts Options) error {
	now := opts.Now
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	table := opts.Actions
	if table == nil {
		table = actions
	}
	accounts := map[string]Account{}
	for _, a := range opts.Accounts {
		accounts[a.ID] = a
	}
	for _, inc := range incs {
		if err := ctx.Err(); err != nil {
			return err
		}
		c := &Case{Incident: inc, Prev: st.get(inc.Fingerprint), Responder: r, Options: &opts, Now: now}
		c.Account, c.Known = accounts[inc.AccountID]
		c.Execute = opts.Execute || c.Account.Auto
		if opts.OutDir != "" {
			c.Dir = incidentDir(opts.OutDir, inc)
		}
		start(c)
		for i := range table {
			table[i].take(ctx, c)
		}
		if !c.Known {
			inc.Advice = thirdPartyAdvice(inc)
		}
		if st != nil {
			st.put(inc)
		}
	}
	sort.SliceStable(incs, func(a, b int) bool { return severityRank[incs[a].Severity] < severityRank[incs[b].Severity] })
	return nil
}

// start sets what is known of the incident before any action: when it was
// first detected, its account, and the credential state that needs no call.
func start(c *Case) {
	inc := c.Incident
	inc.FirstSeen = c.Now()
	if c.Prev != nil {
		inc.FirstSeen = c.Prev.FirstDetected
		inc.RevokedAt = c.Prev.RevokedAt
	}
	if c.Known {
		a := c.Account
		inc.Account = &a
	}
	inc.ThirdParty = !c.Known
	switch {
	case inc.Key.Expired != nil && *inc.Key.Expired:
		inc.Credential = StateExpired
	case inc.RevokedAt != nil:
		inc.Credential = StateRevoked
	default:
		inc.Credential = StateNotChecked
	}
	inc.Severity = classify(inc, c.Known)
}

func classify(inc *Incident, known bool) string {
	switch {
	case inc.Credential == StateExpired || inc.Credential == StateRevoked || inc.Credential == StateDeleted ||
		inc.Credential == StateInactive || inc.Live == "invalid" || inc.Live == "expired":
		return SeverityLow
	case !known:
		return SeverityMedium
	case inc.Credential == StateActive || inc.Live == "live" || inc.Live == "live-denied":
		return SeverityCritical
	}
	return SeverityHigh
}

func thirdPartyAdvice(inc *Incident) string {
	if inc.AccountID == "" {
		return "The key does not say which account it belongs to (old-style access key id): report it to AWS (aws-security@amazon.com) and remove it from where it was found."
	}
	who := "user " + inc.Key.Username
	if inc.Key.Type == detectors.TypeShortTerm {
		who = "access key " + inc.Key.AccessKeyID
	}
	return fmt.Sprintf("Account %s is not one of ours: tell its owner that a %s %s key of %s leaked (fingerprint %s), or report it to AWS (aws-security@amazon.com); remove it from where it was found.",
		inc.AccountID, inc.Key.Type, inc.Key.Service, who, inc.Fingerprint)
}
