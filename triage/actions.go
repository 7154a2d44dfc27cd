package triage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bks-dev/bks/detectors"
)

// Case is what an action sees: one incident and where it stands in this run.
type Case struct {
	Incident *Incident
	// Account is the incident's known account; the zero Account (every
	// switch off) when Known is false.
	Account Account
	Known   bool
	// Execute: run the action; otherwise only plan it.
	Execute bool
	// Prev is the state file's entry from earlier runs (nil: first seen).
	Prev *StateEntry
	// Dir is the incident's output directory ("" when none is written).
	Dir       string
	Responder Responder
	Options   *Options
	Now       func() time.Time
}

// Action is one response to an incident. For each incident, Run takes the
// actions in order and asks of each: does it apply (if not, nothing is
// recorded); is it settled without running (skipped, or already answered);
// without execution, what is its plan; else it runs. After each action the
// incident's severity is classified again.
type Action struct {
	Name    string
	Applies func(c *Case) bool
	// Settled, when set, may give the outcome without running or planning.
	Settled func(c *Case) (outcome, detail string, ok bool)
	// Plan says what the action would do: the dry run's detail.
	Plan func(c *Case) string
	// Run carries it out: done, unchanged or skipped, with a detail; an
	// error is recorded as failed.
	Run func(ctx context.Context, c *Case) (outcome, detail string, err error)
}

// actions is the response table, in the order the actions run: the
// credential check and the live check first (they decide the severity),
// then what the account's configuration asks for.
var actions = []Action{
	{
		Name: ActionCheck,
		Applies: func(c *Case) bool {
			return c.Known && c.Incident.Key.Type == detectors.TypeLongTerm && c.Incident.Credential == StateNotChecked
		},
		Plan: func(*Case) string { return "look the credential up in IAM" },
		Run: func(ctx context.Context, c *Case) (string, string, error) {
			s, err := c.Responder.CheckCredential(ctx, c.Account, c.Incident)
			if err != nil {
				c.Incident.Credential = StateUnknown
				return "", "", err
			}
			c.Incident.Credential = s
			return OutcomeDone, "credential " + s, nil
		},
	},
	{
		// The live check: never for expired keys (the answer is offline).
		Name: ActionVerify,
		Applies: func(c *Case) bool {
			return (c.Options.Verify || c.Account.Verify) && c.Incident.Credential != StateExpired
		},
		Settled: func(c *Case) (string, string, bool) {
			if c.Incident.Key.PartialReason != "" {
				return OutcomeSkipped, "a partial key cannot be checked live", true
			}
			return OutcomeDone, c.Incident.Live + " (checked during the scan)", c.Incident.Live != ""
		},
		Plan: func(*Case) string { return "live check against the Bedrock endpoint of the key's region" },
		Run: func(ctx context.Context, c *Case) (string, string, error) {
			if c.Incident.raw == "" {
				return OutcomeSkipped, "the findings do not carry the key (use detect --triage, or --show-secrets output)", nil
			}
			v, err := c.Responder.Verify(ctx, c.Incident)
			if err != nil {
				return "", "", err
			}
			c.Incident.Live = v
			return OutcomeDone, v, nil
		},
	},
	{
		// Revoke, only where configured, never twice, never a partial
		// key (cut short: it may not be the key the account issued).
		Name:    ActionRevoke,
		Applies: func(c *Case) bool { return c.Account.Revoke },
		Settled: func(c *Case) (string, string, bool) {
			switch inc := c.Incident; {
			case inc.Key.PartialReason != "":
				return OutcomeSkipped, "partial key (" + inc.Key.PartialReason + "): not revoked automatically; check it and run bks revoke-key by hand", true
			case inc.RevokedAt != nil:
				return OutcomeSkipped, "already revoked at " + inc.RevokedAt.Format(time.RFC3339), true
			case inc.Credential == StateExpired:
				return OutcomeSkipped, "the key has expired", true
			case inc.Credential == StateDeleted:
				return OutcomeSkipped, "the credential no longer exists", true
			}
			return "", "", false
		},
		Plan: func(c *Case) string { return revokePlan(c.Incident) },
		Run: func(ctx context.Context, c *Case) (string, string, error) {
			changed, detail, err := c.Responder.Revoke(ctx, c.Account, c.Incident)
			if err != nil {
				return "", "", err
			}
			t := c.Now()
			c.Incident.RevokedAt = &t
			c.Incident.Credential = StateRevoked
			if !changed {
				return OutcomeUnchanged, detail, nil
			}
			return OutcomeDone, detail, nil
		},
	},
	{
		Name:    ActionTimeline,
		Applies: func(c *Case) bool { return c.Account.Timeline },
		Plan:    func(c *Case) string { return "CloudTrail events of the key's user in " + regionsText(c.Account) },
		Run: func(ctx context.Context, c *Case) (string, string, error) {
			s, err := c.Responder.Timeline(ctx, c.Account, c.Incident, c.Dir)
			return OutcomeDone, s, err
		},
	},
	{
		Name:    ActionReport,
		Applies: func(c *Case) bool { return c.Account.Report },
		Plan:    func(*Case) string { return "incident report (report.md, report.json)" },
		Run: func(ctx context.Context, c *Case) (string, string, error) {
			return OutcomeDone, "report.md, report.json", c.Responder.Report(ctx, c.Account, c.Incident, c.Dir)
		},
	},
	{
		Name:    ActionNotify,
		Applies: func(c *Case) bool { return c.Account.Notify != "" },
		Settled: func(c *Case) (string, string, bool) {
			return OutcomeSkipped, "owner already notified", c.Prev != nil && c.Prev.Notified
		},
		Plan: func(*Case) string { return notifyPlan },
		Run: func(ctx context.Context, c *Case) (string, string, error) {
			if c.Options.Notify == nil { // no notifier (library use): it stays a plan
				return OutcomePlanned, notifyPlan, nil
			}
			return OutcomeDone, "webhook accepted the incident", c.Options.Notify(ctx, c.Account.Notify, c.Incident)
		},
	},
}

const notifyPlan = "POST the incident to the account's webhook"

// Actions returns a copy of the response table, for a caller that adds its
// own actions (Options.Actions).
func Actions() []Action { return slices.Clone(actions) }

// take runs, plans or settles a on c and records the result.
func (a *Action) take(ctx context.Context, c *Case) {
	if !a.Applies(c) {
		return
	}
	outcome, detail, settled := "", "", false
	if a.Settled != nil {
		outcome, detail, settled = a.Settled(c)
	}
	switch {
	case settled:
	case !c.Execute:
		outcome, detail = OutcomePlanned, a.Plan(c)
	default:
		var err error
		if outcome, detail, err = a.Run(ctx, c); err != nil {
			outcome, detail = OutcomeFailed, err.Error()
		}
	}
	c.Incident.Actions = append(c.Incident.Actions, ActionResult{Time: c.Now(), Action: a.Name, Outcome: outcome, Detail: detail})
	c.Incident.Severity = classify(c.Incident, c.Known)
}

func revokePlan(inc *Incident) string {
	if inc.Key.Type == detectors.TypeShortTerm && strings.HasPrefix(inc.Key.AccessKeyID, "AKIA") {
		// Signed with a long-term access key: no aws:TokenIssueTime, so no
		// session deny reaches it (revoke-key's own choice).
		return fmt.Sprintf("deactivate the long-term access key %s that signed the key (a Bedrock deny on its user if that is refused)", inc.Key.AccessKeyID)
	}
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
