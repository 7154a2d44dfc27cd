// Package incident builds the incident report for a leaked key or an IAM
// user: who the user is and everything that hangs on it, the CloudTrail
// timeline summary, Bedrock usage (invocations by model and region, and
// daily Bedrock cost when Cost Explorer may be read), a risk assessment and
// the recommended actions in order. A section that could not be read says
// why instead of disappearing. Rendering is in render.go; nothing prints.
package incident

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/costexplorer"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/awsops/iamscan"
	"github.com/bks-dev/bks/awsops/revoke"
	"github.com/bks-dev/bks/awsops/timeline"
)

// CostAPI is the part of the Cost Explorer client the report uses.
type CostAPI interface {
	GetCostAndUsage(context.Context, *costexplorer.GetCostAndUsageInput, ...func(*costexplorer.Options)) (*costexplorer.GetCostAndUsageOutput, error)
	GetDimensionValues(context.Context, *costexplorer.GetDimensionValuesInput, ...func(*costexplorer.Options)) (*costexplorer.GetDimensionValuesOutput, error)
}

var _ CostAPI = (*costexplorer.Client)(nil)

// Deps are the clients the report reads with.
type Deps struct {
	IAM        iamscan.IAMAPI
	CloudTrail func(region string) timeline.CloudTrailAPI
	// Cost may be nil: the section then says Cost Explorer was not asked.
	Cost CostAPI
}

// Options tune the report.
type Options struct {
	Account   string
	Partition string
	Regions   []string
	Days      int
	MaxEvents int
	// Rate of CloudTrail calls per region (default 2).
	Rate   float64
	Policy iamscan.Policy
	Now    func() time.Time
	// NoCostReason says why Deps.Cost is nil (default "Cost Explorer
	// was not queried").
	NoCostReason string
	// RequireUser: the target names a user, not a key. A user that does
	// not exist is then ErrUserNotFound (a typo, or another account), not
	// the report of a deleted user.
	RequireUser bool
}

// ErrUserNotFound is Build's error for Options.RequireUser and a user that
// does not exist.
var ErrUserNotFound = errors.New("not found")

// Section states: every section has one.
const (
	StateOK            = "ok"
	StateUnavailable   = "unavailable"    // could not be read: Reason says why
	StateNotApplicable = "not-applicable" // does not apply to this target: Reason says why
)

// Section is the state of one part of the report.
type Section struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// DailyCost is one day of one Bedrock billing service's cost: "Amazon
// Bedrock" itself, or a Marketplace model such as "Claude 3.5 Sonnet
// (Amazon Bedrock Edition)".
type DailyCost struct {
	Date    string `json:"date"`
	Service string `json:"service"`
	Amount  string `json:"amount"`
	Unit    string `json:"unit"`
}

// Report is the incident report. JSON names are stable.
type Report struct {
	GeneratedAt time.Time     `json:"generated_at"`
	Target      revoke.Target `json:"target"`
	Account     string        `json:"account"`
	Partition   string        `json:"partition"`

	User     *iamscan.User      `json:"user,omitempty"`
	Sections map[string]Section `json:"sections"`
	Timeline *timeline.Result   `json:"timeline,omitempty"`
	Cost     []DailyCost        `json:"bedrock_daily_cost,omitempty"`
	Risk     Risk               `json:"risk"`
	Actions  []string           `json:"recommended_actions"`
}

// Section names, in report order.
const (
	SecUser        = "user"
	SecCredentials = "bedrock_credentials"
	SecAccessKeys  = "access_keys"
	SecConsole     = "console_password"
	SecMFA         = "mfa"
	SecGroups      = "groups"
	SecPolicies    = "policies"
	SecTimeline    = "timeline"
	SecUsage       = "bedrock_usage"
	SecCost        = "bedrock_cost"
	SecRisk        = "risk"
	SecActions     = "recommended_actions"
)

// SectionOrder lists every section.
var SectionOrder = []string{SecUser, SecCredentials, SecAccessKeys, SecConsole, SecMFA, SecGroups, SecPolicies, SecTimeline, SecUsage, SecCost, SecRisk, SecActions}

// sectionLookups maps a section to the IAM reads it depends on.
var sectionLookups = map[string][]string{
	SecUser:        {"GetUser"},
	SecCredentials: {"ListServiceSpecificCredentials"},
	SecAccessKeys:  {"ListAccessKeys", "GetAccessKeyLastUsed"},
	SecConsole:     {"GetLoginProfile"},
	SecMFA:         {"ListMFADevices"},
	SecGroups:      {"ListGroupsForUser"},
	SecPolicies:    {"ListAttachedUserPolicies", "ListUserPolicies"},
}

// Risk is the assessment.
type Risk struct {
	Level   string   `json:"level"` // critical, high, medium, low
	Reasons []string `json:"reasons"`
}

// Build reads everything and assembles the report. It fails only when ctx
// ends; anything else that cannot be read is reported in its section.
func Build(ctx context.Context, d Deps, t revoke.Target, o Options) (*Report, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	r := &Report{GeneratedAt: now().UTC(), Target: t, Account: o.Account, Partition: o.Partition, Sections: map[string]Section{}}
	if r.Partition == "" {
		r.Partition = "aws"
	}
	set := func(name, state, reason string) { r.Sections[name] = Section{State: state, Reason: reason} }

	// The IAM user and what hangs on it.
	userName := t.UserName
	if t.Kind == revoke.KindShortTerm {
		for name := range sectionLookups {
			set(name, StateNotApplicable, "a short-term key is signed by a session, not by an IAM user: see the timeline for its identity, and revoke-key for its issuer")
		}
	} else if t.Account != "" && o.Account != "" && t.Account != o.Account {
		for name := range sectionLookups {
			set(name, StateUnavailable, fmt.Sprintf("the key is from account %s; the credentials read account %s", t.Account, o.Account))
		}
	} else {
		sc := &iamscan.Scanner{IAM: d.IAM, Account: o.Account, Partition: r.Partition, Policy: o.Policy, Now: now}
		u, err := sc.Enrich(ctx, userName)
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err == iamscan.ErrUserGone && o.RequireUser:
			return nil, fmt.Errorf("user %s %w in account %s", userName, ErrUserNotFound, o.Account)
		case err == iamscan.ErrUserGone:
			for name := range sectionLookups {
				set(name, StateUnavailable, fmt.Sprintf("user %s does not exist in account %s (deleted, or another account)", userName, o.Account))
			}
		case err != nil:
			for name := range sectionLookups {
				set(name, StateUnavailable, err.Error())
			}
		default:
			iamscan.Classify(u, o.Policy, now().UTC())
			r.User = u
			for name, actions := range sectionLookups {
				set(name, StateOK, "")
				var why []string
				for _, le := range u.Errors {
					for _, a := range actions {
						if le.Action == a {
							why = append(why, le.Detail)
						}
					}
				}
				if len(why) > 0 {
					set(name, StateUnavailable, strings.Join(why, "; "))
				}
			}
		}
	}

	// The timeline.
	to := timeline.Options{Regions: o.Regions, Days: o.Days, MaxEvents: o.MaxEvents, Rate: o.Rate, Now: now}
	if t.Kind == revoke.KindShortTerm {
		to.AccessKeyID = t.AccessKeyID
	} else {
		to.Username = userName
	}
	tl, err := timeline.Lookup(ctx, d.CloudTrail, to)
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case tl == nil:
		set(SecTimeline, StateUnavailable, err.Error())
		set(SecUsage, StateUnavailable, "no CloudTrail timeline: "+err.Error())
	default:
		r.Timeline = tl
		set(SecTimeline, StateOK, "")
		set(SecUsage, StateOK, "")
		if err != nil {
			set(SecTimeline, StateUnavailable, err.Error())
			set(SecUsage, StateUnavailable, err.Error())
		} else if len(tl.Failed) > 0 {
			var rs []string
			for _, f := range tl.Failed {
				rs = append(rs, f.Region+": "+f.Error)
			}
			reason := "partial: not read in " + strings.Join(rs, "; ")
			set(SecTimeline, StateOK, reason)
			set(SecUsage, StateOK, reason)
		}
		if tl.Summary.Invocations == 0 && r.Sections[SecUsage].Reason == "" {
			set(SecUsage, StateOK, fmt.Sprintf("no model invocation in CloudTrail's management events over %d days (data events, if a trail records them, are not in the event history)", tl.Days))
		}
	}

	// Daily Bedrock cost.
	if d.Cost == nil {
		why := o.NoCostReason
		if why == "" {
			why = "Cost Explorer was not queried"
		}
		set(SecCost, StateUnavailable, why)
	} else {
		days := o.Days
		if days <= 0 || days > timeline.MaxDays {
			days = timeline.MaxDays
		}
		cost, err := bedrockCost(ctx, d.Cost, now().UTC(), days)
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil && awsops.IsAccessDenied(err):
			set(SecCost, StateUnavailable, "not permitted: "+awsops.Describe("ce", "GetCostAndUsage", err)+" (Cost Explorer is often readable only from the management account)")
		case err != nil:
			set(SecCost, StateUnavailable, awsops.Describe("ce", "GetCostAndUsage", err))
		default:
			r.Cost = cost
			set(SecCost, StateOK, costScope)
		}
	}

	r.Risk = assess(r, now().UTC())
	set(SecRisk, StateOK, "")
	r.Actions = recommend(r)
	set(SecActions, StateOK, "")
	return r, nil
}

func assess(r *Report, now time.Time) Risk {
	rk := Risk{Level: "low", Reasons: []string{}}
	raise := func(level, reason string) {
		order := map[string]int{"low": 0, "medium": 1, "high": 2, "critical": 3}
		if order[level] > order[rk.Level] {
			rk.Level = level
		}
		rk.Reasons = append(rk.Reasons, reason)
	}
	if u := r.User; u != nil {
		for _, c := range u.BedrockKeys {
			if c.LiveAt(now) {
				raise("high", fmt.Sprintf("Bedrock API key %s is active", iamscan.ShortID(c.ID)))
				if c.Expires == nil {
					raise("high", fmt.Sprintf("Bedrock API key %s never expires", iamscan.ShortID(c.ID)))
				}
			}
		}
		for _, k := range u.AccessKeys {
			if k.Status == "Active" {
				raise("critical", fmt.Sprintf("access key %s is active: persistent credentials beyond Bedrock", iamscan.ShortID(k.ID)))
			}
		}
		if u.LoginProfile != nil {
			raise("critical", "the user has a console password")
		}
		if len(u.Groups) > 0 || len(u.InlinePolicies) > 0 || len(u.AttachedPolicies) > 1 {
			raise("medium", "the user has groups or policies beyond the console's AmazonBedrockLimitedAccess")
		}
		if u.Status == iamscan.Unknown {
			raise("medium", "some of the user's state could not be read: the assessment is incomplete")
		}
	}
	if r.Target.Kind == revoke.KindShortTerm {
		if r.Target.ExpiresAt != nil && now.Before(*r.Target.ExpiresAt) {
			raise("high", "the short-term key has not expired yet (until "+r.Target.ExpiresAt.UTC().Format(time.RFC3339)+")")
		} else {
			rk.Reasons = append(rk.Reasons, "the short-term key has expired")
		}
	}
	if tl := r.Timeline; tl != nil {
		s := tl.Summary
		if s.Invocations > 0 {
			raise("high", fmt.Sprintf("%d model invocation(s) in the window", s.Invocations))
		}
		if len(s.SourceIPs) > 1 {
			raise("medium", fmt.Sprintf("%d distinct source IPs", len(s.SourceIPs)))
		}
		if s.LastSeen != nil && now.Sub(*s.LastSeen) < 7*24*time.Hour {
			raise("high", "used within the last 7 days (last "+s.LastSeen.Format(time.RFC3339)+")")
		}
	} else {
		raise("medium", "CloudTrail could not be read: usage is unknown")
	}
	if len(rk.Reasons) == 0 {
		rk.Reasons = append(rk.Reasons, "no active credential and no recorded use")
	}
	return rk
}

func recommend(r *Report) []string {
	subject := "bks revoke-key " + r.Target.UserName
	if r.Target.Key != "" {
		subject = "bks revoke-key <the key>"
	}
	acts := []string{}
	if r.Target.Kind == revoke.KindShortTerm && strings.HasPrefix(r.Target.AccessKeyID, "AKIA") {
		acts = append(acts,
			"Revoke now: `"+subject+"` (deactivates the long-term access key "+r.Target.AccessKeyID+" that signed the key: a deny on aws:TokenIssueTime does not bite keys signed with long-term credentials; check what else uses that access key first)",
			"Find how the access key leaked or who signed the key with it, and rotate the access key")
	} else if r.Target.Kind == revoke.KindShortTerm {
		acts = append(acts,
			"Revoke now: `"+subject+"` (denies the issuing role's sessions issued before now; check what else uses that role first)",
			"Find how the issuing session's credentials leaked (where the key was found, CI logs, developer machines) and rotate them")
	} else {
		acts = append(acts, "Revoke now: `"+subject+"` (deny policy, delete the Bedrock API keys, deactivate access keys)")
		if u := r.User; u != nil && u.LoginProfile != nil {
			acts = append(acts, "Delete the console password of "+u.UserName+" (iam:DeleteLoginProfile)")
		}
	}
	acts = append(acts,
		"Verify the key is dead: `bks verify <the key>`",
		"Review the timeline for actions beyond Bedrock (IAM changes, new users, access keys) and undo them",
		"Remove the key from where it was found, including git history, and check forks and CI logs",
	)
	if r.User != nil && r.User.Phantom {
		acts = append(acts, "Delete the phantom user once nothing depends on it: `bks cleanup`")
	}
	acts = append(acts, "Prevent recurrence: `bks scp show deny-long-term-api-keys` (roll out on a test OU first) and `bks detect` in pre-commit and CI")
	return acts
}
