package awsemu

// IAM refusals beyond authorization, each as AWS documents it (the list,
// with sources, is in README.md next to this file).

import (
	"fmt"
	"strings"
	"unicode"
)

// Inline policy budgets: the total of a principal's inline policies,
// white space not counted
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length).
const (
	maxUserInline = 2048
	maxRoleInline = 10240
)

// roleWrites change a role or its policies; IAM refuses them on protected
// roles.
var roleWrites = map[string]bool{
	"PutRolePolicy": true, "DeleteRolePolicy": true, "AttachRolePolicy": true, "DetachRolePolicy": true,
	"UpdateAssumeRolePolicy": true, "DeleteRole": true, "UpdateRole": true, "UpdateRoleDescription": true,
	"PutRolePermissionsBoundary": true, "DeleteRolePermissionsBoundary": true, "TagRole": true, "UntagRole": true,
}

// strictIAM applies the refusals to an authorized call. Caller holds s.mu.
func (s *Server) strictIAM(a *Account, req *request) *apiError {
	p := req.params
	if roleWrites[req.action] {
		if r := findRole(a, p["RoleName"]); r != nil && protectedRole(r) {
			// IAM Identity Center and service-linked roles belong to AWS
			// (https://docs.aws.amazon.com/singlesignon/latest/userguide/permissionsetsconcept.html,
			// https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html).
			return &apiError{400, "UnmodifiableEntity", fmt.Sprintf("Cannot perform the operation on the protected role '%s' - this role is only modifiable by AWS", r.Name)}
		}
	}
	switch req.action {
	case "ListServiceSpecificCredentials":
		// AllUsers lists every user's credentials and cannot be combined
		// with UserName
		// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListServiceSpecificCredentials.html).
		if p["AllUsers"] == "true" && p["UserName"] != "" {
			return errInvalid("AllUsers and UserName cannot both be specified")
		}
	case "PutUserPolicy", "PutRolePolicy":
		if err := policyGrammar(p["PolicyDocument"]); err != nil {
			return err
		}
		return s.inlineBudget(a, req)
	}
	return nil
}

func protectedRole(r *Role) bool {
	return strings.HasPrefix(r.Path, "/aws-reserved/sso.amazonaws.com/") || strings.HasPrefix(r.Name, "AWSReservedSSO_") ||
		strings.HasPrefix(r.Path, "/aws-service-role/")
}

// policyGrammar refuses what IAM's policy grammar refuses
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html):
// a Version other than 2012-10-17 or 2008-10-17 (a missing Version is
// documented to default to 2008-10-17, so it is accepted), and an identity
// policy statement without Resource or NotResource.
func policyGrammar(doc string) *apiError {
	malformed := func(msg string) *apiError { return &apiError{400, "MalformedPolicyDocument", msg} }
	sts, err := parsePolicy(doc)
	if err != nil {
		return malformed(err.Error())
	}
	var v struct {
		Version *string `json:"Version"`
	}
	if jsonUnmarshal([]byte(doc), &v) == nil && v.Version != nil && *v.Version != "2012-10-17" && *v.Version != "2008-10-17" {
		return malformed("The policy failed legacy parsing")
	}
	for _, st := range sts {
		if st.Resource == nil && st.NotResource == nil {
			return malformed("Policy statement must contain resources.")
		}
		if st.Principal != nil {
			return malformed("Policy document should not specify a principal.")
		}
	}
	return nil
}

// inlineBudget refuses a Put*Policy that takes the principal's inline
// policies over its budget, counted without white space.
func (s *Server) inlineBudget(a *Account, req *request) *apiError {
	inline, err := s.inlineOf(a, req)
	if err != nil {
		return nil // NoSuchEntity: answered by the handler
	}
	total := nonSpace(req.params["PolicyDocument"])
	for name, doc := range inline {
		if name != req.params["PolicyName"] {
			total += nonSpace(doc)
		}
	}
	limit, kind, name := maxUserInline, "user", req.params["UserName"]
	if req.action == "PutRolePolicy" {
		limit, kind, name = maxRoleInline, "role", req.params["RoleName"]
	}
	if total > limit {
		return &apiError{409, "LimitExceeded", fmt.Sprintf("Maximum policy size of %d bytes exceeded for %s %s", limit, kind, name)}
	}
	return nil
}

func nonSpace(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}
