// Package kpi computes the three measures security teams track for
// Bedrock API keys, from whatever holds the facts: `bks serve` from its
// store (the key inventory EventBridge keeps current, its incidents and
// actions, the Bedrock calls it was sent), `bks kpis` from an IAM scan,
// CloudTrail and the triage state. Both report the same Report, so the
// numbers mean the same thing wherever they are read:
//
//   - live long-term keys per account: Bedrock API keys (service-specific
//     credentials of bedrock.amazonaws.com) that are Active and unexpired,
//     and Active access keys of BedrockAPIKey-* users. The goal is zero.
//   - mean time to remediate: from a key's detection to its revocation or
//     removal, over the incidents remediated; the open ones are counted.
//   - the share of Bedrock calls made with IAM roles rather than API keys,
//     per account: role calls / (role calls + API-key calls). A call is an
//     API-key call when CloudTrail marks it callWithBearerToken
//     (additionalEventData on bedrock.amazonaws.com,
//     https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html;
//     requestParameters on bedrock-mantle.amazonaws.com, with
//     bearerTokenType LONG_TERM|SHORT_TERM,
//     https://docs.aws.amazon.com/bedrock/latest/userguide/logging-cloudtrail-mantle.html),
//     a role call when it is SigV4-signed by an AssumedRole identity.
//     SigV4 calls of IAM users (long-term access keys) and others are
//     counted apart: they are neither.
package kpi

import (
	"sort"
	"strings"
	"time"

	"github.com/bks-dev/bks/awsops/iamscan"
	"github.com/bks-dev/bks/awsops/timeline"
)

// BedrockSources are the CloudTrail event sources of Bedrock calls.
var BedrockSources = []string{"bedrock.amazonaws.com", "bedrock-mantle.amazonaws.com"}

// IsBedrockSource reports whether an event source is Bedrock's.
func IsBedrockSource(src string) bool {
	for _, s := range BedrockSources {
		if s == src {
			return true
		}
	}
	return false
}

// Callers: who made a Bedrock call, as counted in Calls.
const (
	CallerAPIKey = "api_key"  // a Bedrock API key (callWithBearerToken)
	CallerRole   = "role"     // SigV4, an IAM role session
	CallerUser   = "iam_user" // SigV4, an IAM user's access key
	CallerOther  = "other"    // root, federated users, AWS services…
)

// Caller classifies a Bedrock call's event.
func Caller(e timeline.Event) string {
	switch {
	case e.BearerToken:
		return CallerAPIKey
	case e.IdentityType == "AssumedRole" || strings.Contains(e.Identity, ":assumed-role/"):
		return CallerRole
	case e.IdentityType == "IAMUser":
		return CallerUser
	}
	return CallerOther
}

// Calls counts an account's Bedrock calls by caller.
type Calls struct {
	Role   int `json:"role"`
	APIKey int `json:"api_key"`
	User   int `json:"iam_user"`
	Other  int `json:"other"`
	// LongTermKey and ShortTermKey split APIKey where CloudTrail said the
	// key's type (bearerTokenType).
	LongTermKey  int `json:"api_key_long_term,omitempty"`
	ShortTermKey int `json:"api_key_short_term,omitempty"`
}

// Add counts n calls of caller (and of token type LONG_TERM/SHORT_TERM).
func (c *Calls) Add(caller, tokenType string, n int) {
	switch caller {
	case CallerAPIKey:
		c.APIKey += n
		switch tokenType {
		case "LONG_TERM":
			c.LongTermKey += n
		case "SHORT_TERM":
			c.ShortTermKey += n
		}
	case CallerRole:
		c.Role += n
	case CallerUser:
		c.User += n
	default:
		c.Other += n
	}
}

// RoleShare is Role / (Role + APIKey); ok is false when there were
// neither.
func (c Calls) RoleShare() (share float64, ok bool) {
	if c.Role+c.APIKey == 0 {
		return 0, false
	}
	return float64(c.Role) / float64(c.Role+c.APIKey), true
}

// Account is one account's measures.
type Account struct {
	Account string `json:"account"`
	// LiveKeys is the number of live long-term keys; KeysKnown is false
	// when nothing said (the account was not scanned, or no event of it
	// was received).
	LiveKeys  int   `json:"live_long_term_keys"`
	KeysKnown bool  `json:"keys_known"`
	Calls     Calls `json:"bedrock_calls"`
	// RoleShare is Calls.RoleShare, nil when there were no role or key calls.
	RoleShare *float64 `json:"role_call_share"`
}

// Remediation is one incident: when its key was detected and when it was
// revoked or removed (zero: not yet, or not known when: Resolved).
type Remediation struct {
	AccountID  string
	Detected   time.Time
	Remediated time.Time
	// Resolved: the key is known revoked or removed, but not when (the
	// triage state saw it deleted, inactive or expired).
	Resolved bool
}

// MTTR is the mean time to remediate.
type MTTR struct {
	Remediated int `json:"remediated"`
	Open       int `json:"open"`
	// Untimed are remediated incidents whose remediation time is unknown:
	// not in the mean.
	Untimed int `json:"remediated_time_unknown,omitempty"`
	// MeanSeconds is the mean of Remediated-Detected over the remediated
	// incidents (a remediation recorded before the detection counts 0);
	// nil when none was remediated.
	MeanSeconds *float64 `json:"mean_seconds"`
}

// MeanTimeToRemediate computes the MTTR of incs.
func MeanTimeToRemediate(incs []Remediation) MTTR {
	var m MTTR
	var sum float64
	for _, r := range incs {
		switch {
		case r.Remediated.IsZero() && r.Resolved:
			m.Untimed++
			continue
		case r.Remediated.IsZero():
			m.Open++
			continue
		}
		m.Remediated++
		sum += max(r.Remediated.Sub(r.Detected).Seconds(), 0)
	}
	if m.Remediated > 0 {
		mean := sum / float64(m.Remediated)
		m.MeanSeconds = &mean
	}
	return m
}

// Report is the three measures at a time.
type Report struct {
	At time.Time `json:"at"`
	// Since is where the Bedrock calls were counted from.
	Since    time.Time `json:"calls_since"`
	Accounts []Account `json:"accounts"`
	MTTR     MTTR      `json:"mean_time_to_remediate"`
	// Incomplete names what could not be read: the figures then undercount.
	Incomplete []string `json:"incomplete,omitempty"`
}

// Builder gathers a report's facts, account by account.
type Builder struct{ accounts map[string]*Account }

func (b *Builder) account(id string) *Account {
	if b.accounts == nil {
		b.accounts = map[string]*Account{}
	}
	a := b.accounts[id]
	if a == nil {
		a = &Account{Account: id}
		b.accounts[id] = a
	}
	return a
}

// LiveKeys records the number of live long-term keys of account.
func (b *Builder) LiveKeys(account string, n int) {
	a := b.account(account)
	a.LiveKeys, a.KeysKnown = n, true
}

// Calls records n Bedrock calls of account made by caller.
func (b *Builder) Calls(account, caller, tokenType string, n int) {
	b.account(account).Calls.Add(caller, tokenType, n)
}

// Accounts returns the accounts, sorted, with their role shares.
func (b *Builder) Accounts() []Account {
	out := make([]Account, 0, len(b.accounts))
	for _, a := range b.accounts {
		if s, ok := a.Calls.RoleShare(); ok {
			a.RoleShare = &s
		}
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Account < out[j].Account })
	return out
}

// LiveKeysOf counts the live long-term keys of scanned users at now.
func LiveKeysOf(users []iamscan.User, now time.Time) int {
	n := 0
	for _, u := range users {
		for _, c := range u.BedrockKeys {
			if c.LiveAt(now) {
				n++
			}
		}
		if iamscan.IsPhantom(u.UserName) {
			for _, k := range u.AccessKeys {
				if k.Status == "Active" {
					n++
				}
			}
		}
	}
	return n
}
