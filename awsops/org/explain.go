package org

import (
	"strings"

	"github.com/bks-dev/bks/awsops"
)

// AssumeRoleError is an sts:AssumeRole into a member account that failed.
type AssumeRoleError struct {
	RoleARN string
	Err     error
}

func (e *AssumeRoleError) Error() string { return "sts:AssumeRole " + e.RoleARN + ": " + e.Err.Error() }
func (e *AssumeRoleError) Unwrap() error { return e.Err }

// defaultRoleLimits is what AWS documents about OrganizationAccountAccessRole
// (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access-cross-account-role.html):
// Organizations creates it only in accounts it creates, not in invited
// ones, and it trusts only the management account, so a delegated
// administrator can list the accounts but not assume it.
const defaultRoleLimits = "OrganizationAccountAccessRole exists only in accounts the organization created (invited accounts may lack it) and trusts only the management account: " +
	"from a delegated administrator, or for such accounts, deploy a role that trusts the caller to every account (e.g. with a CloudFormation StackSet) and name it with --org-role"

// Why says in one line why AssumeRole failed and what to do.
func (e *AssumeRoleError) Why() string {
	code := awsops.ErrorCode(e.Err)
	role := e.RoleARN[strings.LastIndex(e.RoleARN, "/")+1:]
	switch {
	case awsops.IsAccessDenied(e.Err) && role == DefaultRole:
		return "AssumeRole refused (" + code + "): " + defaultRoleLimits
	case awsops.IsAccessDenied(e.Err):
		return "AssumeRole refused (" + code + "): role " + role + " is missing in this account or its trust policy does not allow the caller"
	case code == "RegionDisabledException":
		return "AssumeRole refused (" + code + "): STS is not activated in this region for the account: pass --region of an enabled region"
	case code != "":
		return "AssumeRole of " + role + " failed: " + awsops.Describe("sts", "AssumeRole", e.Err)
	}
	return "AssumeRole of " + role + " failed: " + strings.ReplaceAll(e.Err.Error(), "\n", " ")
}
