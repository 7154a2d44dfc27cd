package revoke

import (
	"fmt"
	"strings"
	"time"
)

// ssoRefusal is the error for an IAM Identity Center role, forced or not:
// IAM answers UnmodifiableEntity to any change of a role under
// /aws-reserved/sso.amazonaws.com/ (the role belongs to the permission set;
// https://docs.aws.amazon.com/singlesignon/latest/userguide/permissionsetsconcept.html,
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html
// "UnmodifiableEntity"), so --force cannot help. It prints what works
// instead, with the exact commands: the permission set's inline policy,
// or an SCP on the account, and revoking the users' active sessions.
func ssoRefusal(p *Plan, role string) error {
	cutoff := p.Cutoff.UTC().Format(timeFormat)
	set := permissionSetName(role)
	roleARN := p.Principal.ARN
	var b strings.Builder
	fmt.Fprintf(&b, "%s is an IAM Identity Center (SSO) role: IAM refuses any change to it (UnmodifiableEntity), --force included, and a deny there would cut off every user of permission set %q. Do this instead:\n", role, set)
	fmt.Fprintf(&b, "\n1. Deny sessions issued before %s in the permission set (MERGE this statement into its existing inline policy: put-inline-policy-to-permission-set replaces it), then re-provision it:\n", cutoff)
	fmt.Fprintf(&b, "   aws sso-admin list-instances   # gives INSTANCE_ARN\n")
	fmt.Fprintf(&b, "   aws sso-admin list-permission-sets-provisioned-to-account --instance-arn INSTANCE_ARN --account-id %s   # find %q with describe-permission-set: PERMISSION_SET_ARN\n", p.Account, set)
	fmt.Fprintf(&b, "   aws sso-admin get-inline-policy-for-permission-set --instance-arn INSTANCE_ARN --permission-set-arn PERMISSION_SET_ARN\n")
	fmt.Fprintf(&b, "   aws sso-admin put-inline-policy-to-permission-set --instance-arn INSTANCE_ARN --permission-set-arn PERMISSION_SET_ARN --inline-policy file://merged.json\n")
	fmt.Fprintf(&b, "   aws sso-admin provision-permission-set --instance-arn INSTANCE_ARN --permission-set-arn PERMISSION_SET_ARN --target-type AWS_ACCOUNT --target-id %s\n", p.Account)
	fmt.Fprintf(&b, "   statement to merge:\n%s\n", indent(statementJSON(sessionDeny(p.Cutoff)), "     "))
	fmt.Fprintf(&b, "\n2. Or, from the management account, an SCP on account %s denying this role's older sessions:\n", p.Account)
	fmt.Fprintf(&b, "   aws organizations create-policy --type SERVICE_CONTROL_POLICY --name bks-revoke-%s --description \"bks: sessions of %s issued before %s\" --content file://scp.json   # gives POLICY_ID\n", strings.ToLower(strings.ReplaceAll(cutoff, ":", "")), role, cutoff)
	fmt.Fprintf(&b, "   aws organizations attach-policy --policy-id POLICY_ID --target-id %s\n", p.Account)
	fmt.Fprintf(&b, "   scp.json:\n%s\n", indent(ssoSCP(roleARN, p.Cutoff), "     "))
	fmt.Fprintf(&b, "\n3. Revoke the users' active sessions: IAM Identity Center console > Users > (user) > Active sessions > Delete session. This stops new role sessions from the portal; credentials already issued stay valid until they expire, which is what 1 or 2 cuts off.")
	return fmt.Errorf("revoke: %w: %s", ErrRefused, b.String())
}

// permissionSetName reads AWSReservedSSO_<PermissionSet>_<16 hex>.
func permissionSetName(role string) string {
	name := strings.TrimPrefix(role, "AWSReservedSSO_")
	if i := strings.LastIndex(name, "_"); i > 0 {
		name = name[:i]
	}
	return name
}

// ssoSCP is an SCP denying every action to sessions of roleARN issued
// before cutoff (aws:PrincipalArn is the role's ARN).
func ssoSCP(roleARN string, cutoff time.Time) string {
	st := sessionDeny(cutoff)
	st.Sid = "BKSDenySSORoleSessionsIssuedBefore"
	st.Condition["ArnLike"] = map[string]string{"aws:PrincipalArn": roleARN}
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{st}})
}

func statementJSON(st statement) string {
	doc := render(policyDoc{Version: "2012-10-17", Statement: []statement{st}})
	i, j := strings.Index(doc, "{\n      "), strings.LastIndex(doc, "}")
	body := doc[i : strings.LastIndex(doc[:j], "}")+1]
	return strings.ReplaceAll(body, "\n    ", "\n")
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
