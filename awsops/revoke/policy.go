package revoke

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Names of the inline policies bks writes. They are fixed, so a second
// run finds (and leaves) the first run's policy.
const (
	// UserPolicyName is put on the user of a long-term key.
	UserPolicyName = "BKS-RevokeBedrockKeys"
	// SessionPolicyName is put on the role or user that issued a
	// short-term key's session.
	SessionPolicyName = "BKS-RevokeSessionsIssuedBefore"
	// BearerPolicyName is put on the user whose long-term access key
	// signed a short-term key, when that access key cannot be
	// deactivated.
	BearerPolicyName = "BKS-DenyBedrockAPIKeys"
)

// Statement ids of bks's policies.
const (
	sidDenyBedrock  = "BKSDenyBedrockAndMantle"
	sidDenySessions = "BKSDenySessionsIssuedBeforeRevocation"
)

// timeFormat is how aws:TokenIssueTime cutoffs are written.
const timeFormat = "2006-01-02T15:04:05Z"

type policyDoc struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string                       `json:"Sid,omitempty"`
	Effect    string                       `json:"Effect"`
	Action    stringList                   `json:"Action"`
	Resource  stringList                   `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

type stringList []string

func (s stringList) MarshalJSON() ([]byte, error) {
	if len(s) == 1 {
		return json.Marshal(s[0])
	}
	return json.Marshal([]string(s))
}

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// denyActions are the actions a long-term key's user is denied, from the
// service's family table entry: Bedrock on both endpoints (a bedrock-only
// deny leaves keys usable on Mantle), plus the Claude Platform service for
// its keys.
func denyActions(service string) []string {
	return slices.Clone(serviceAt(service).DenyActions)
}

// UserPolicy returns the inline deny for a long-term key's user: every
// Bedrock and Bedrock Mantle action, and every action for sessions issued
// before cutoff (sessions minted from the user's access keys).
func UserPolicy(service string, cutoff time.Time) string {
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{
		bedrockDeny(service),
		sessionDeny(cutoff),
	}})
}

// BearerPolicy returns the inline deny for the user whose long-term access
// key signed a short-term key: the service's actions, with no condition.
// A request signed with long-term credentials has no aws:TokenIssueTime
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-tokenissuetime),
// so the session deny would not bite it.
func BearerPolicy(service string) string {
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{bedrockDeny(service)}})
}

func bedrockDeny(service string) statement {
	return statement{Sid: sidDenyBedrock, Effect: "Deny", Action: denyActions(service), Resource: stringList{"*"}}
}

// SessionPolicy returns the inline deny for the issuer of a short-term
// key: every action for sessions issued before cutoff.
func SessionPolicy(cutoff time.Time) string {
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{sessionDeny(cutoff)}})
}

func sessionDeny(cutoff time.Time) statement {
	return statement{
		Sid: sidDenySessions, Effect: "Deny", Action: stringList{"*"}, Resource: stringList{"*"},
		Condition: map[string]map[string]string{"DateLessThan": {"aws:TokenIssueTime": cutoff.UTC().Format(timeFormat)}},
	}
}

func render(d policyDoc) string {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		panic("revoke: render policy: " + err.Error()) // fixed shapes: cannot happen
	}
	return string(b)
}

// inspection is what an existing bks policy already does.
type inspection struct {
	deniesActions []string  // actions denied without condition
	cutoff        time.Time // latest DateLessThan aws:TokenIssueTime on "*", zero if none
}

// inspect reads a policy document as IAM returns it (URL-encoded JSON).
func inspect(doc string) (inspection, error) {
	if strings.HasPrefix(doc, "%7B") || strings.HasPrefix(doc, "%7b") {
		if d, err := url.QueryUnescape(doc); err == nil {
			doc = d
		}
	}
	var p struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return inspection{}, fmt.Errorf("existing policy is not JSON: %w", err)
	}
	var sts []statement
	if len(p.Statement) > 0 && p.Statement[0] == '{' {
		var one statement
		if err := json.Unmarshal(p.Statement, &one); err != nil {
			return inspection{}, fmt.Errorf("existing policy statement: %w", err)
		}
		sts = []statement{one}
	} else if err := json.Unmarshal(p.Statement, &sts); err != nil {
		return inspection{}, fmt.Errorf("existing policy statements: %w", err)
	}
	var in inspection
	for _, s := range sts {
		if s.Effect != "Deny" || !slices.Contains(s.Resource, "*") {
			continue
		}
		if len(s.Condition) == 0 {
			in.deniesActions = append(in.deniesActions, s.Action...)
			continue
		}
		if !slices.Contains(s.Action, "*") || len(s.Condition) != 1 {
			continue
		}
		for k, v := range s.Condition["DateLessThan"] {
			if !strings.EqualFold(k, "aws:TokenIssueTime") {
				continue
			}
			t, err := time.Parse(time.RFC3339, v)
			if err == nil && t.After(in.cutoff) {
				in.cutoff = t.UTC()
			}
		}
	}
	return in, nil
}

// covers reports whether the inspected policy denies every one of actions.
func (in inspection) covers(actions []string) bool {
	for _, a := range actions {
		if !slices.Contains(in.deniesActions, a) && !slices.Contains(in.deniesActions, "*") {
			return false
		}
	}
	return true
}
