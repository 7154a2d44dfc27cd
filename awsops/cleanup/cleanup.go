// Package cleanup deletes ORPHANED phantom users (BedrockAPIKey-* users with
// no active credential of any kind) and everything that hangs on them.
//
// Each user is re-read right before deletion and skipped when its state
// differs in any way from what the scan saw, or when it no longer
// classifies ORPHANED. Dependents are deleted in the order IAM needs (access
// keys, service-specific credentials of every service, login profile, MFA
// devices, signing certificates, SSH keys, group memberships, attached and
// inline policies, permissions boundary), then the user. Something already
// gone counts as done, so a run that died halfway can simply be run again.
// Every write call is written to the audit log.
package cleanup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/awsops/audit"
	"github.com/bks-dev/bks/awsops/iamscan"
)

// WriteAPI is the part of the IAM client cleanup writes with.
type WriteAPI interface {
	DeleteAccessKey(context.Context, *iam.DeleteAccessKeyInput, ...func(*iam.Options)) (*iam.DeleteAccessKeyOutput, error)
	DeleteServiceSpecificCredential(context.Context, *iam.DeleteServiceSpecificCredentialInput, ...func(*iam.Options)) (*iam.DeleteServiceSpecificCredentialOutput, error)
	DeleteLoginProfile(context.Context, *iam.DeleteLoginProfileInput, ...func(*iam.Options)) (*iam.DeleteLoginProfileOutput, error)
	DeactivateMFADevice(context.Context, *iam.DeactivateMFADeviceInput, ...func(*iam.Options)) (*iam.DeactivateMFADeviceOutput, error)
	DeleteVirtualMFADevice(context.Context, *iam.DeleteVirtualMFADeviceInput, ...func(*iam.Options)) (*iam.DeleteVirtualMFADeviceOutput, error)
	DeleteSigningCertificate(context.Context, *iam.DeleteSigningCertificateInput, ...func(*iam.Options)) (*iam.DeleteSigningCertificateOutput, error)
	DeleteSSHPublicKey(context.Context, *iam.DeleteSSHPublicKeyInput, ...func(*iam.Options)) (*iam.DeleteSSHPublicKeyOutput, error)
	RemoveUserFromGroup(context.Context, *iam.RemoveUserFromGroupInput, ...func(*iam.Options)) (*iam.RemoveUserFromGroupOutput, error)
	DetachUserPolicy(context.Context, *iam.DetachUserPolicyInput, ...func(*iam.Options)) (*iam.DetachUserPolicyOutput, error)
	DeleteUserPolicy(context.Context, *iam.DeleteUserPolicyInput, ...func(*iam.Options)) (*iam.DeleteUserPolicyOutput, error)
	DeleteUserPermissionsBoundary(context.Context, *iam.DeleteUserPermissionsBoundaryInput, ...func(*iam.Options)) (*iam.DeleteUserPermissionsBoundaryOutput, error)
	DeleteUser(context.Context, *iam.DeleteUserInput, ...func(*iam.Options)) (*iam.DeleteUserOutput, error)
}

// IAMAPI reads (for the re-check) and writes.
type IAMAPI interface {
	iamscan.IAMAPI
	WriteAPI
}

var _ IAMAPI = (*iam.Client)(nil)

// Result of cleaning one user.
type Result string

// Results.
const (
	Deleted Result = "deleted" // the user and its dependents are gone
	Skipped Result = "skipped" // state changed since the scan, or no longer ORPHANED
	Gone    Result = "gone"    // the user no longer existed
	Failed  Result = "failed"  // a call failed; the rest of the user was left
	Planned Result = "dry-run" // --dry-run: what would be deleted
)

// Outcome is what happened to one user.
type Outcome struct {
	Account  string   `json:"account"`
	UserName string   `json:"user_name"`
	Result   Result   `json:"result"`
	Detail   string   `json:"detail,omitempty"`
	Steps    []string `json:"steps"` // "iam:DeleteAccessKey AKIA…" in order
}

// Step is one write call of a plan.
type Step struct {
	Action string // e.g. iam:DeleteAccessKey
	Target string // what it deletes
	call   func(context.Context, WriteAPI) error
}

func (s Step) String() string { return s.Action + " " + s.Target }

// Orphans returns the users of a report cleanup may delete: ORPHANED
// phantom users. UNKNOWN users are never included.
func Orphans(rep *iamscan.Report) []iamscan.User {
	var out []iamscan.User
	for _, u := range rep.Users {
		if u.Status == iamscan.Orphaned && u.Phantom && len(u.Errors) == 0 {
			out = append(out, u)
		}
	}
	return out
}

// Steps returns the ordered write calls that delete u.
func Steps(u iamscan.User) []Step {
	name := aws.String(u.UserName)
	var steps []Step
	add := func(action, target string, call func(context.Context, WriteAPI) error) {
		steps = append(steps, Step{Action: action, Target: target, call: call})
	}
	for _, k := range u.AccessKeys {
		add("iam:DeleteAccessKey", k.ID, func(ctx context.Context, api WriteAPI) error {
			_, err := api.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: name, AccessKeyId: aws.String(k.ID)})
			return err
		})
	}
	for _, c := range append(append([]iamscan.ServiceCredential(nil), u.BedrockKeys...), u.OtherCredentials...) {
		add("iam:DeleteServiceSpecificCredential", c.ID, func(ctx context.Context, api WriteAPI) error {
			_, err := api.DeleteServiceSpecificCredential(ctx, &iam.DeleteServiceSpecificCredentialInput{UserName: name, ServiceSpecificCredentialId: aws.String(c.ID)})
			return err
		})
	}
	if u.LoginProfile != nil {
		add("iam:DeleteLoginProfile", u.UserName, func(ctx context.Context, api WriteAPI) error {
			_, err := api.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: name})
			return err
		})
	}
	for _, serial := range u.MFADevices {
		add("iam:DeactivateMFADevice", serial, func(ctx context.Context, api WriteAPI) error {
			_, err := api.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: name, SerialNumber: aws.String(serial)})
			return err
		})
		if strings.Contains(serial, ":mfa/") { // virtual devices have ARNs as serials
			add("iam:DeleteVirtualMFADevice", serial, func(ctx context.Context, api WriteAPI) error {
				_, err := api.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(serial)})
				return err
			})
		}
	}
	for _, c := range u.SigningCertificates {
		add("iam:DeleteSigningCertificate", c.ID, func(ctx context.Context, api WriteAPI) error {
			_, err := api.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{UserName: name, CertificateId: aws.String(c.ID)})
			return err
		})
	}
	for _, k := range u.SSHPublicKeys {
		add("iam:DeleteSSHPublicKey", k.ID, func(ctx context.Context, api WriteAPI) error {
			_, err := api.DeleteSSHPublicKey(ctx, &iam.DeleteSSHPublicKeyInput{UserName: name, SSHPublicKeyId: aws.String(k.ID)})
			return err
		})
	}
	for _, g := range u.Groups {
		add("iam:RemoveUserFromGroup", g, func(ctx context.Context, api WriteAPI) error {
			_, err := api.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{UserName: name, GroupName: aws.String(g)})
			return err
		})
	}
	for _, p := range u.AttachedPolicies {
		add("iam:DetachUserPolicy", p, func(ctx context.Context, api WriteAPI) error {
			_, err := api.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: name, PolicyArn: aws.String(p)})
			return err
		})
	}
	for _, p := range u.InlinePolicies {
		add("iam:DeleteUserPolicy", p, func(ctx context.Context, api WriteAPI) error {
			_, err := api.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: name, PolicyName: aws.String(p)})
			return err
		})
	}
	if u.PermissionsBoundary != "" {
		add("iam:DeleteUserPermissionsBoundary", u.PermissionsBoundary, func(ctx context.Context, api WriteAPI) error {
			_, err := api.DeleteUserPermissionsBoundary(ctx, &iam.DeleteUserPermissionsBoundaryInput{UserName: name})
			return err
		})
	}
	add("iam:DeleteUser", u.UserName, func(ctx context.Context, api WriteAPI) error {
		_, err := api.DeleteUser(ctx, &iam.DeleteUserInput{UserName: name})
		return err
	})
	return steps
}

// Cleaner deletes orphans in one account.
type Cleaner struct {
	IAM       IAMAPI
	Account   string
	Partition string
	Audit     *audit.Log
	Policy    iamscan.Policy
	// DryRun makes no write call at all: Clean returns the plan.
	DryRun bool
	Now    func() time.Time
}

// Clean re-reads planned's user, checks it is still the same ORPHANED
// phantom user, and deletes it. planned is the user as the scan saw it.
func (c *Cleaner) Clean(ctx context.Context, planned iamscan.User) Outcome {
	out := Outcome{Account: c.Account, UserName: planned.UserName, Steps: []string{}}
	if planned.Status != iamscan.Orphaned || !planned.Phantom {
		out.Result, out.Detail = Skipped, fmt.Sprintf("not an orphaned phantom user (%s)", planned.Status)
		return out
	}
	if c.DryRun {
		for _, s := range Steps(planned) {
			out.Steps = append(out.Steps, s.String())
		}
		out.Result = Planned
		return out
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	sc := &iamscan.Scanner{IAM: c.IAM, Account: c.Account, Partition: c.Partition, Policy: c.Policy, Now: now}
	fresh, err := sc.Enrich(ctx, planned.UserName)
	if errors.Is(err, iamscan.ErrUserGone) {
		out.Result, out.Detail = Gone, "no longer exists"
		return out
	}
	if err != nil {
		out.Result, out.Detail = Failed, err.Error()
		return out
	}
	iamscan.Classify(fresh, c.Policy, now().UTC())
	if fresh.Status != iamscan.Orphaned {
		out.Result = Skipped
		out.Detail = fmt.Sprintf("now %s: %s", fresh.Status, strings.Join(fresh.Reasons, "; "))
		return out
	}
	if fresh.StateKey() != planned.StateKey() {
		out.Result, out.Detail = Skipped, "changed since the scan: "+diff(planned.StateKey(), fresh.StateKey())
		return out
	}
	for _, s := range Steps(*fresh) {
		if err := ctx.Err(); err != nil {
			out.Result, out.Detail = Failed, "interrupted"
			return out
		}
		out.Steps = append(out.Steps, s.String())
		err := s.call(ctx, c.IAM)
		rec := audit.Record{Account: c.Account, Action: s.Action, Target: s.Target, User: planned.UserName, Result: audit.ResultOK}
		switch {
		case err == nil:
		case awsops.IsNotFound(err):
			rec.Result = audit.ResultGone
		default:
			rec.Result = audit.ResultFailed
			rec.Error = awsops.Describe("iam", strings.TrimPrefix(s.Action, "iam:"), err)
		}
		if aerr := c.Audit.Write(rec); aerr != nil {
			out.Result, out.Detail = Failed, aerr.Error()
			return out
		}
		if rec.Result == audit.ResultFailed {
			out.Result, out.Detail = Failed, rec.Error
			return out
		}
	}
	out.Result = Deleted
	return out
}

// diff names the first line that differs between two state keys.
func diff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	seen := map[string]bool{}
	for _, l := range al {
		seen[l] = true
	}
	for _, l := range bl {
		if !seen[l] {
			return "new " + strings.TrimSpace(l)
		}
	}
	seen = map[string]bool{}
	for _, l := range bl {
		seen[l] = true
	}
	for _, l := range al {
		if !seen[l] {
			return "removed " + strings.TrimSpace(l)
		}
	}
	return "state differs"
}
