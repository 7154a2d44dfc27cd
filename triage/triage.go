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
// does when one of its keys leaks.
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

// Responder performs the account-side actions. The AWS implementation goes
// through the same code as `bks revoke-key`, `bks timeline` and `bks report`.
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
}

// Run classifies incidents and runs or plans their actions. state, when not
// nil, is read for what was already done (never revoke twice) and updated.
func Run(ctx context.Context, incs []*Incident, r Responder, st *State, opts Options) error {
	now := opts.Now
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	accounts := map[string]Account{}
	for _, a := range opts.Accounts {
		accounts[a.ID] = a
	}
	for _, inc := range incs {
		if err := ctx.Err(); err != nil {
			return err
		}
		prev := st.get(inc.Fingerprint)
		inc.FirstSeen = now()
		if prev != nil {
			inc.FirstSeen = prev.FirstDetected
			inc.RevokedAt = prev.RevokedAt
		}
		acct, known := accounts[inc.AccountID]
		if known {
			a := acct
			inc.Account = &a
		}
		inc.ThirdParty = !known
		add := func(action, outcome, detail string) {
			inc.Actions = append(inc.Actions, ActionResult{Time: now(), Action: action, Outcome: outcome, Detail: detail})
		}
		execute := opts.Execute || (known && acct.Auto)
		dir := ""
		if opts.OutDir != "" {
			dir = incidentDir(opts.OutDir, inc)
		}

		// 1. What state is the credential in?
		inc.Credential = StateNotChecked
		switch {
		case inc.Key.Expired != nil && *inc.Key.Expired:
			inc.Credential = StateExpired
		case inc.RevokedAt != nil:
			inc.Credential = StateRevoked
		case known && inc.Key.Type == detectors.TypeLongTerm:
			if execute {
				s, err := r.CheckCredential(ctx, acct, inc)
				if err != nil {
					inc.Credential = StateUnknown
					add(ActionCheck, OutcomeFailed, err.Error())
				} else {
					inc.Credential = s
					add(ActionCheck, OutcomeDone, "credential "+s)
				}
			} else {
				add(ActionCheck, OutcomePlanned, "look the credential up in IAM")
			}
		}

		// 2. Optional live check (never for expired keys: offline answer).
		if (opts.Verify || (known && acct.Verify)) && inc.Credential != StateExpired {
			switch {
			case inc.Live != "":
				add(ActionVerify, OutcomeDone, inc.Live+" (checked during the scan)")
			case !execute:
				add(ActionVerify, OutcomePlanned, "live check against the Bedrock endpoint of the key's region")
			case inc.raw == "":
				add(ActionVerify, OutcomeSkipped, "the findings do not carry the key (use detect --triage, or --show-secrets output)")
			default:
				v, err := r.Verify(ctx, inc)
				if err != nil {
					add(ActionVerify, OutcomeFailed, err.Error())
				} else {
					inc.Live = v
					add(ActionVerify, OutcomeDone, v)
				}
			}
		}

		inc.Severity = classify(inc, known)

		if !known {
			inc.Advice = thirdPartyAdvice(inc)
			if st != nil {
				st.put(inc)
			}
			continue
		}

		// 3. Revoke, only where configured, never twice.
		if acct.Revoke {
			switch {
			case inc.RevokedAt != nil:
				add(ActionRevoke, OutcomeSkipped, "already revoked at "+inc.RevokedAt.Format(time.RFC3339))
			case inc.Credential == StateExpired:
				add(ActionRevoke, OutcomeSkipped, "the key has expired")
			case inc.Credential == StateDeleted:
				add(ActionRevoke, OutcomeSkipped, "the credential no longer exists")
			case !execute:
				add(ActionRevoke, OutcomePlanned, revokePlan(inc))
			default:
				changed, detail, err := r.Revoke(ctx, acct, inc)
				switch {
				case err != nil:
					add(ActionRevoke, OutcomeFailed, err.Error())
				case changed:
					t := now()
					inc.RevokedAt = &t
					inc.Credential = StateRevoked
					add(ActionRevoke, OutcomeDone, detail)
				default:
					t := now()
					inc.RevokedAt = &t
					inc.Credential = StateRevoked
					add(ActionRevoke, OutcomeUnchanged, detail)
				}
				inc.Severity = classify(inc, known)
			}
		}
		// 4. Timeline and report.
		if acct.Timeline {
			if !execute {
				add(ActionTimeline, OutcomePlanned, "CloudTrail events of the key's user in "+regionsText(acct))
			} else if s, err := r.Timeline(ctx, acct, inc, dir); err != nil {
				add(ActionTimeline, OutcomeFailed, err.Error())
			} else {
				add(ActionTimeline, OutcomeDone, s)
			}
		}
		if acct.Report {
			if !execute {
				add(ActionReport, OutcomePlanned, "incident report (report.md, report.json)")
			} else if err := r.Report(ctx, acct, inc, dir); err != nil {
				add(ActionReport, OutcomeFailed, err.Error())
			} else {
				add(ActionReport, OutcomeDone, "report.md, report.json")
			}
		}
		if acct.Notify != "" {
			switch {
			case prev != nil && prev.Notified:
				add(ActionNotify, OutcomeSkipped, "owner already notified")
			case !execute || opts.Notify == nil:
				add(ActionNotify, OutcomePlanned, "POST the incident to the account's webhook")
			default:
				if err := opts.Notify(ctx, acct.Notify, inc); err != nil {
					add(ActionNotify, OutcomeFailed, err.Error())
				} else {
					add(ActionNotify, OutcomeDone, "webhook accepted the incident")
				}
			}
		}
		if st != nil {
			st.put(inc)
		}
	}
	sort.SliceStable(incs, func(a, b int) bool { return severityRank[incs[a].Severity] < severityRank[incs[b].Severity] })
	return nil
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

func revokePlan(inc *Incident) string {
	if inc.Key.Type == detectors.TypeShortTerm {
		return fmt.Sprintf("deny sessions issued before now on the issuer of %s (found through CloudTrail)", inc.Key.AccessKeyID)
	}
	return fmt.Sprintf("deny bedrock:* and bedrock-mantle:* on %s, delete its Bedrock credentials, deactivate its access keys", inc.Key.Username)
}

func regionsText(a Account) string {
	if len(a.Regions) == 0 {
		return "all enabled regions"
	}
	return fmt.Sprint(a.Regions)
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
