// Package iamscan finds every Bedrock API key in an AWS account and the
// phantom users behind them, enriches each user with everything that can
// hang on it, and classifies it AT RISK, ACTIVE, ORPHANED, UNKNOWN or
// INACTIVE, with the reasons.
//
// Discovery is ListServiceSpecificCredentials(AllUsers=true,
// ServiceName=bedrock.amazonaws.com) — which finds keys on ANY user,
// including ordinary users given a key through the API — plus every
// BedrockAPIKey-* user from ListUsers. A lookup that fails makes the user
// UNKNOWN: it is never counted as empty, so never ORPHANED.
package iamscan

import (
	"fmt"
	"strings"
	"time"

	"github.com/bks-dev/bks/detectors"
)

// Status is a user's category.
type Status string

// The categories (see package doc and AWS.md).
const (
	// AtRisk: persistent credentials beyond Bedrock on a phantom user (an
	// active access key, a console password in use, an active signing
	// certificate or SSH key), or an active Bedrock key with extra
	// policies or groups.
	AtRisk Status = "AT RISK"
	// Active: an active Bedrock key and nothing more.
	Active Status = "ACTIVE"
	// Orphaned: a phantom user with no active credential of any kind; safe
	// to delete with `bks cleanup`.
	Orphaned Status = "ORPHANED"
	// Unknown: a lookup failed; never cleaned up.
	Unknown Status = "UNKNOWN"
	// Inactive: an ordinary (non-phantom) IAM user whose Bedrock keys are
	// all inactive or expired. Nothing to act on; bks never deletes
	// ordinary users.
	Inactive Status = "INACTIVE"
)

// BedrockService is the service name of Bedrock API keys.
const BedrockService = "bedrock.amazonaws.com"

// PhantomPrefix starts the names of the users the Bedrock console creates.
const PhantomPrefix = detectors.PhantomUserPrefix

// BedrockLimitedAccess is the managed policy the console attaches.
const BedrockLimitedAccess = "AmazonBedrockLimitedAccess"

// IsPhantom reports whether a user name is a console-made Bedrock user.
func IsPhantom(name string) bool { return strings.HasPrefix(name, PhantomPrefix) }

// User is one user's state and verdict. JSON names are stable.
type User struct {
	Account             string              `json:"account"`
	UserName            string              `json:"user_name"`
	ARN                 string              `json:"arn"`
	Path                string              `json:"path,omitempty"`
	Created             time.Time           `json:"created,omitzero"`
	Phantom             bool                `json:"phantom"`
	PasswordLastUsed    *time.Time          `json:"password_last_used,omitempty"`
	PermissionsBoundary string              `json:"permissions_boundary,omitempty"`
	BedrockKeys         []ServiceCredential `json:"bedrock_keys"`
	OtherCredentials    []ServiceCredential `json:"other_service_credentials,omitempty"`
	AccessKeys          []AccessKey         `json:"access_keys"`
	LoginProfile        *LoginProfile       `json:"login_profile,omitempty"`
	MFADevices          []string            `json:"mfa_devices,omitempty"`
	SigningCertificates []Item              `json:"signing_certificates,omitempty"`
	SSHPublicKeys       []Item              `json:"ssh_public_keys,omitempty"`
	Groups              []string            `json:"groups,omitempty"`
	AttachedPolicies    []string            `json:"attached_policies,omitempty"`
	InlinePolicies      []string            `json:"inline_policies,omitempty"`
	Status              Status              `json:"status"`
	Reasons             []string            `json:"reasons"`
	OverPolicy          bool                `json:"over_policy"`
	Errors              []LookupError       `json:"errors,omitempty"`
}

// ServiceCredential is a service-specific credential (a Bedrock API key
// when Service is bedrock.amazonaws.com). Its secret is never returned by
// AWS after creation.
type ServiceCredential struct {
	ID      string     `json:"id"`
	Service string     `json:"service"`
	Alias   string     `json:"alias,omitempty"`
	Status  string     `json:"status"`
	Created time.Time  `json:"created,omitzero"`
	Expires *time.Time `json:"expires,omitempty"`
}

// LiveAt reports whether the credential works at now.
func (c ServiceCredential) LiveAt(now time.Time) bool {
	return c.Status == "Active" && (c.Expires == nil || now.Before(*c.Expires))
}

// AccessKey is an IAM access key and its last use.
type AccessKey struct {
	ID              string     `json:"id"`
	Status          string     `json:"status"`
	Created         time.Time  `json:"created,omitzero"`
	LastUsed        *time.Time `json:"last_used,omitempty"`
	LastUsedService string     `json:"last_used_service,omitempty"`
	LastUsedRegion  string     `json:"last_used_region,omitempty"`
}

// LoginProfile is a console password.
type LoginProfile struct {
	Created       time.Time `json:"created,omitzero"`
	ResetRequired bool      `json:"reset_required,omitempty"`
}

// Item is a signing certificate or an SSH public key.
type Item struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// LookupError is one enrichment call that failed.
type LookupError struct {
	Action string `json:"action"` // e.g. ListAccessKeys
	Code   string `json:"code,omitempty"`
	Detail string `json:"detail"` // one line, names the missing permission
}

// Policy holds the thresholds that decide what is over policy.
type Policy struct {
	// MaxKeyAge: an active Bedrock key older than this is over policy
	// (default 90 days).
	MaxKeyAge time.Duration
	// DormantAfter: a console password unused (or, never used, created)
	// longer ago than this counts as a dormant leftover, not as a live
	// credential (default 90 days).
	DormantAfter time.Duration
}

// DefaultPolicy is 90 days for both thresholds.
var DefaultPolicy = Policy{MaxKeyAge: 90 * 24 * time.Hour, DormantAfter: 90 * 24 * time.Hour}

func (p Policy) withDefaults() Policy {
	if p.MaxKeyAge <= 0 {
		p.MaxKeyAge = DefaultPolicy.MaxKeyAge
	}
	if p.DormantAfter <= 0 {
		p.DormantAfter = DefaultPolicy.DormantAfter
	}
	return p
}

// ShortID shortens an id for reasons: "AKIA…7Q2X".
func ShortID(id string) string {
	if len(id) <= 10 {
		return id
	}
	return id[:4] + "…" + id[len(id)-4:]
}

// Ago renders a duration in days the way reasons do.
func Ago(d time.Duration) string {
	days := int(d.Hours() / 24)
	switch {
	case d < 0:
		return "in the future"
	case days == 0:
		return "today"
	case days == 1:
		return "1 day ago"
	}
	return fmt.Sprintf("%d days ago", days)
}

// StateKey is a canonical rendering of everything that decides a user's
// fate (credentials, statuses, dependents). Cleanup compares the scan's
// key with a fresh read's and skips the user when they differ.
func (u *User) StateKey() string {
	var b strings.Builder
	w := func(parts ...any) {
		fmt.Fprintln(&b, parts...)
	}
	w("user", u.UserName, u.PermissionsBoundary)
	for _, c := range append(append([]ServiceCredential(nil), u.BedrockKeys...), u.OtherCredentials...) {
		w("cred", c.ID, c.Service, c.Status)
	}
	for _, k := range u.AccessKeys {
		lu := ""
		if k.LastUsed != nil {
			lu = k.LastUsed.UTC().Format(time.RFC3339)
		}
		w("akey", k.ID, k.Status, lu)
	}
	if u.LoginProfile != nil {
		w("login", u.LoginProfile.Created.UTC().Format(time.RFC3339))
	}
	if u.PasswordLastUsed != nil {
		w("pwused", u.PasswordLastUsed.UTC().Format(time.RFC3339))
	}
	for _, m := range u.MFADevices {
		w("mfa", m)
	}
	for _, c := range u.SigningCertificates {
		w("cert", c.ID, c.Status)
	}
	for _, k := range u.SSHPublicKeys {
		w("ssh", k.ID, k.Status)
	}
	for _, g := range u.Groups {
		w("group", g)
	}
	for _, p := range u.AttachedPolicies {
		w("attached", p)
	}
	for _, p := range u.InlinePolicies {
		w("inline", p)
	}
	return b.String()
}
