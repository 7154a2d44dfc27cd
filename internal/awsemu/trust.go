package awsemu

// Role trust policies on sts:AssumeRole
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html#iam-term-trust-policy,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html):
// the role's trust policy must allow the caller, and the caller's own
// identity policies (and its account's SCPs) must allow sts:AssumeRole on
// the role, unless the trust policy names the caller's ARN itself.
//
// OrganizationAccountAccessRole, created for member accounts, trusts only
// the management account, as AWS creates it
// (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access.html):
// a delegated administrator can list the accounts but not assume it. A
// seeded role without assume_role_policy trusts every account of the
// scenario, so short seeds stay short.

import (
	"encoding/json"
	"fmt"
	"strings"
)

// orgRoleTrust is OrganizationAccountAccessRole's trust policy.
func orgRoleTrust(partition, management string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:%s:iam::%s:root"},"Action":"sts:AssumeRole"}]}`, partition, management)
}

// authorizeAssumeRole decides an AssumeRole of r in account acct. Caller
// holds s.mu.
func (s *Server) authorizeAssumeRole(req *request, acct string, r *Role, roleARN string) *apiError {
	p := s.principalOf(req)
	denied := &apiError{403, "AccessDenied", fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", req.callerARN, roleARN)}
	exact := false
	if r.AssumeRolePolicy != "" {
		allowed := false
		sts, err := parsePolicy(r.AssumeRolePolicy)
		if err != nil {
			return denied
		}
		for _, st := range sts {
			who, ok := trustMatch(st, p, req.account)
			if !ok || !anyGlob(strs(st.Action), "sts:AssumeRole", true) || !conditionsHold(st.Condition, p.keys) {
				continue
			}
			if st.Effect == "Deny" {
				return denied
			}
			allowed = true
			exact = exact || who == "arn"
		}
		if !allowed {
			return denied
		}
	}
	if exact && req.account == acct {
		return nil
	}
	return s.authorize(p, "sts:AssumeRole", roleARN)
}

// trustMatch reports whether a trust statement's Principal names the
// caller, and how: "account" (the account, its root, or *) or "arn".
func trustMatch(st statement, p principal, account string) (string, bool) {
	var principals []string
	switch v := st.Principal.(type) {
	case string:
		principals = []string{v}
	case map[string]any:
		principals = strs(v["AWS"])
	}
	arns := append([]string{p.arn}, p.keys["aws:principalarn"]...)
	for _, pr := range principals {
		switch {
		case pr == "*" || pr == account || strings.HasSuffix(pr, ":"+account+":root"):
			return "account", true
		case contains(arns, pr):
			return "arn", true
		}
	}
	return "", false
}

// validTrust checks a seeded trust policy parses, so a typo in a scenario
// fails loudly rather than denying every AssumeRole.
func validTrust(doc string) error {
	var v map[string]any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return err
	}
	_, err := parsePolicy(doc)
	return err
}
