package awsemu

// Authorization: every IAM call is evaluated against the caller's identity
// policies and the organization's SCPs, as AWS's policy evaluation logic
// documents it
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
// an explicit Deny anywhere wins, then an SCP must not deny, then some
// identity policy must Allow (otherwise an implicit deny). SCPs bind every
// principal of a member account, administrators and
// OrganizationAccountAccessRole included, and never the management account
// (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html).
//
// The emulator keeps FullAWSAccess attached everywhere, so only the Deny
// statements of seeded SCPs matter (allow-list SCPs are not modelled).
// Who the caller is: a seeded user (by its access key), a role session
// (AssumeRole), or the seed's Caller, which has AdministratorAccess unless
// the seed gives it policies. OrganizationAccountAccessRole, created for
// member accounts, has AdministratorAccess as AWS creates it.

import (
	"fmt"
	"strings"
	"time"
)

// SCP is a service control policy attached to member accounts.
type SCP struct {
	Name     string `json:"name"`
	Document string `json:"document"`
	// Targets are the account ids it is attached to (empty: every member
	// account, as if attached to the root).
	Targets []string `json:"targets,omitempty"`
}

// AWS-managed policies the emulator knows the content of. Others attach
// but grant nothing.
var managedPolicies = map[string]string{
	"AdministratorAccess": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
	// https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSDenyAll.html
	"AWSDenyAll":                 `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`,
	"IAMFullAccess":              `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:ListAccounts"],"Resource":"*"}]}`,
	"IAMReadOnlyAccess":          `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","iam:GenerateCredentialReport","iam:GenerateServiceLastAccessedDetails","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}`,
	"ReadOnlyAccess":             `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","cloudtrail:LookupEvents","organizations:List*","organizations:Describe*","bedrock:List*","bedrock:Get*"],"Resource":"*"}]}`,
	"AmazonBedrockLimitedAccess": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["bedrock:*","bedrock-mantle:*","iam:ListRoles","kms:DescribeKey","ec2:Describe*"],"Resource":"*"}]}`,
}

// AdministratorAccessARN is the managed policy the default caller holds.
func administratorAccess(partition string) string {
	return "arn:" + partition + ":iam::aws:policy/AdministratorAccess"
}

// managedDoc returns the document of a policy ARN, if the emulator knows it.
func managedDoc(arn string) (string, bool) {
	i := strings.Index(arn, ":iam::aws:policy/")
	if i < 0 {
		return "", false
	}
	name := arn[strings.LastIndex(arn, "/")+1:]
	doc, ok := managedPolicies[name]
	return doc, ok
}

// principal is who makes a call, with its policies and request context.
type principal struct {
	arn     string // as AWS names it in AccessDenied (the session ARN for roles)
	account string
	docs    []string // identity policies: inline and managed
	keys    map[string][]string
}

// principalOf resolves the caller of req. Caller holds s.mu.
func (s *Server) principalOf(req *request) principal {
	part := s.st.partition
	p := principal{arn: req.callerARN, account: req.account, keys: map[string][]string{
		"aws:principalarn":     {req.callerARN},
		"aws:principalaccount": {req.account},
		"aws:currenttime":      {s.now().UTC().Format(time.RFC3339)},
		"aws:requestedregion":  {req.region},
	}}
	a := s.st.accounts[req.account]
	if req.session != nil {
		p.keys["aws:tokenissuetime"] = []string{req.session.issued.UTC().Format(time.RFC3339)}
		if a != nil {
			if r := findRole(a, req.session.role); r != nil {
				p.keys["aws:principalarn"] = []string{roleARN(part, a.ID, r)}
				p.docs = policyDocs(r.InlinePolicies, r.AttachedPolicies)
			}
		}
		return p
	}
	var own *User
	if a != nil && strings.Contains(req.callerARN, ":user/") {
		own = findUser(a, req.callerARN[strings.LastIndex(req.callerARN, "/")+1:])
	}
	if own != nil && req.accessKey != "" && ownsKey(own, req.accessKey) {
		p.docs = policyDocs(own.InlinePolicies, own.AttachedPolicies)
		return p
	}
	// The seed's Caller: its own policies (AdministratorAccess by
	// default), and those of the seeded user its ARN names, if any.
	if role, ok := assumedRole(req.callerARN); ok {
		arn := fmt.Sprintf("arn:%s:iam::%s:role/%s", part, req.account, role)
		if a != nil {
			if r := findRole(a, role); r != nil {
				arn = roleARN(part, a.ID, r)
			}
		}
		p.keys["aws:principalarn"] = []string{arn}
		// A role session: issued, as far as the emulator knows, when it
		// started.
		p.keys["aws:tokenissuetime"] = []string{s.st.started.UTC().Format(time.RFC3339)}
	}
	c := s.st.caller
	attached := c.AttachedPolicies
	if len(attached) == 0 && len(c.InlinePolicies) == 0 {
		attached = []string{administratorAccess(part)}
	}
	p.docs = policyDocs(c.InlinePolicies, attached)
	if own != nil {
		p.docs = append(p.docs, policyDocs(own.InlinePolicies, own.AttachedPolicies)...)
	}
	return p
}

// assumedRole returns the role name of an arn:…:sts::…:assumed-role/NAME/session ARN.
func assumedRole(arn string) (string, bool) {
	_, rest, ok := strings.Cut(arn, ":assumed-role/")
	if !ok {
		return "", false
	}
	name, _, _ := strings.Cut(rest, "/")
	return name, name != ""
}

func ownsKey(u *User, id string) bool {
	for _, k := range u.AccessKeys {
		if k.ID == id {
			return true
		}
	}
	return false
}

func policyDocs(inline map[string]string, attached []string) []string {
	var docs []string
	for _, d := range inline {
		docs = append(docs, d)
	}
	for _, arn := range attached {
		if d, ok := managedDoc(arn); ok {
			docs = append(docs, d)
		}
	}
	return docs
}

func roleARN(part, account string, r *Role) string {
	return fmt.Sprintf("arn:%s:iam::%s:role%s%s", part, account, r.Path, r.Name)
}

// authorizeIAM evaluates an IAM call. Caller holds s.mu.
func (s *Server) authorizeIAM(req *request) *apiError {
	a := s.st.accounts[req.account]
	if a == nil {
		return nil // answered by the handler
	}
	action := "iam:" + req.action
	resource := s.iamResource(a, req)
	p := s.principalOf(req)
	for k, v := range iamRequestKeys(req) {
		p.keys[k] = v
	}
	return s.authorize(p, action, resource)
}

// authorize applies the evaluation logic for one action on one resource.
func (s *Server) authorize(p principal, action, resource string) *apiError {
	deny := func(why string) *apiError {
		return &apiError{403, "AccessDenied", fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s %s", p.arn, action, resource, why)}
	}
	for _, scp := range s.scpsFor(p.account) {
		if d, _ := evalPolicy(scp, action, resource, p.keys); d {
			return deny("with an explicit deny in a service control policy")
		}
	}
	allowed := false
	for _, doc := range p.docs {
		d, al := evalPolicy(doc, action, resource, p.keys)
		if d {
			return deny("with an explicit deny in an identity-based policy")
		}
		allowed = allowed || al
	}
	if !allowed {
		return deny("because no identity-based policy allows the " + action + " action")
	}
	return nil
}

// scpsFor returns the SCP documents that bind principals of account: none
// for the management account or an account outside the organization.
func (s *Server) scpsFor(account string) []string {
	org := s.st.org
	if org == nil || account == org.ManagementAccount {
		return nil
	}
	member := false
	for _, ref := range org.Accounts {
		member = member || ref.ID == account
	}
	if !member {
		return nil
	}
	var docs []string
	for _, scp := range org.SCPs {
		if len(scp.Targets) == 0 || contains(scp.Targets, account) {
			docs = append(docs, scp.Document)
		}
	}
	return docs
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// iamResource is the resource ARN an IAM call acts on
// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html).
func (s *Server) iamResource(a *Account, req *request) string {
	part, p := s.st.partition, req.params
	if name := p["RoleName"]; name != "" {
		if r := findRole(a, name); r != nil {
			return roleARN(part, a.ID, r)
		}
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", part, a.ID, name)
	}
	switch req.action {
	case "ListUsers", "ListRoles", "ListAccountAliases":
		return "*"
	case "ListServiceSpecificCredentials":
		if p["AllUsers"] == "true" {
			return "*"
		}
	case "GetAccessKeyLastUsed":
		for _, u := range a.Users {
			for _, k := range u.AccessKeys {
				if k.ID == p["AccessKeyId"] {
					return userARN(part, a.ID, u)
				}
			}
		}
		return "*"
	case "DeleteVirtualMFADevice":
		return p["SerialNumber"]
	}
	name := p["UserName"]
	if name == "" && strings.Contains(req.callerARN, ":user/") {
		return req.callerARN
	}
	if u := findUser(a, name); u != nil {
		return userARN(part, a.ID, u)
	}
	return fmt.Sprintf("arn:%s:iam::%s:user%s%s", part, a.ID, orSlash(p["Path"]), name)
}

func orSlash(path string) string {
	if path == "" {
		return "/"
	}
	return path
}

// iamRequestKeys are the service condition keys of an IAM call
// (iam:PolicyARN, iam:ServiceSpecificCredential*).
func iamRequestKeys(req *request) map[string][]string {
	keys := map[string][]string{}
	p := req.params
	if v := p["PolicyArn"]; v != "" {
		keys["iam:policyarn"] = []string{v}
	}
	if req.action == "CreateServiceSpecificCredential" {
		keys["iam:servicespecificcredentialservicename"] = []string{p["ServiceName"]}
		if v := p["CredentialAgeDays"]; v != "" {
			keys["iam:servicespecificcredentialagedays"] = []string{v}
		}
	}
	return keys
}

// evalPolicy reports whether doc explicitly denies, and whether it allows,
// action on resource in the request context keys (lower-cased names).
// An unreadable document decides nothing.
func evalPolicy(doc, action, resource string, keys map[string][]string) (deny, allow bool) {
	sts, err := parsePolicy(doc)
	if err != nil {
		return false, false
	}
	for _, st := range sts {
		if !statementApplies(st, action, resource, keys) {
			continue
		}
		if st.Effect == "Deny" {
			return true, allow
		}
		allow = true
	}
	return false, allow
}

func statementApplies(st statement, action, resource string, keys map[string][]string) bool {
	if st.NotAction != nil {
		if anyGlob(strs(st.NotAction), action, true) {
			return false
		}
	} else if !anyGlob(strs(st.Action), action, true) {
		return false
	}
	if st.NotResource != nil {
		if anyGlob(strs(st.NotResource), resource, false) {
			return false
		}
	} else if !anyGlob(strs(st.Resource), resource, false) {
		return false
	}
	return conditionsHold(st.Condition, keys)
}

func anyGlob(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p, s = strings.ToLower(p), strings.ToLower(s)
		}
		if glob(p, s) {
			return true
		}
	}
	return false
}

// glob matches * (any run, '/' and ':' included) and ? (one character), as
// IAM's Action, Resource and *Like operators do.
func glob(p, s string) bool {
	star, mark := -1, 0
	i, j := 0, 0
	for j < len(s) {
		switch {
		case i < len(p) && (p[i] == '?' || p[i] == s[j]):
			i++
			j++
		case i < len(p) && p[i] == '*':
			star, mark = i, j
			i++
		case star >= 0:
			i = star + 1
			mark++
			j = mark
		default:
			return false
		}
	}
	for i < len(p) && p[i] == '*' {
		i++
	}
	return i == len(p)
}

// bearerDenied decides a Bearer-token Bedrock call of a principal with
// inline and attached policies in account: an explicit deny of the action
// or of bedrock:CallWithBearerToken in an identity policy (AWSDenyAll
// included) or an SCP
// (https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-permissions.html).
// Only denies are evaluated: what a key may do is not modelled. It returns
// the AccessDeniedException message, "" when allowed. Caller holds s.mu.
func (s *Server) bearerDenied(account, callerARN, principalARN string, inline map[string]string, attached []string, issued time.Time, tokenType string) string {
	keys := map[string][]string{
		"aws:principalarn":        {principalARN},
		"aws:principalaccount":    {account},
		"bedrock:bearertokentype": {tokenType},
	}
	if !issued.IsZero() {
		keys["aws:tokenissuetime"] = []string{issued.UTC().Format(time.RFC3339)}
	}
	for _, action := range []string{"bedrock:CallWithBearerToken", "bedrock:ListFoundationModels"} {
		for _, doc := range s.scpsFor(account) {
			if d, _ := evalPolicy(doc, action, "*", keys); d {
				return fmt.Sprintf("User: %s is not authorized to perform: %s with an explicit deny in a service control policy", callerARN, action)
			}
		}
		for _, doc := range policyDocs(inline, attached) {
			if d, _ := evalPolicy(doc, action, "*", keys); d {
				return fmt.Sprintf("User: %s is not authorized to perform: %s with an explicit deny in an identity-based policy", callerARN, action)
			}
		}
	}
	return ""
}
