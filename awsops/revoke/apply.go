package revoke

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/awsops/audit"
)

// DenyAllPolicyARN is AWS's managed deny-everything policy in partition,
// attached when the inline deny cannot be written
// (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSDenyAll.html).
func DenyAllPolicyARN(partition string) string {
	if partition == "" {
		partition = "aws"
	}
	return "arn:" + partition + ":iam::aws:policy/AWSDenyAll"
}

// Apply makes the plan's needed write calls in order, writing each to the
// audit log. Every step runs whatever an earlier one did: deleting the
// key must not depend on the deny policy being written (an SCP, the
// 2,048-character inline budget or a responder allowed to delete but not
// to write policies all refuse it). A refused inline deny on a long-term
// key's user falls back to attaching AWSDenyAll; a refused deactivation of
// the access key that signed a short-term key falls back to an inline deny
// of the user's Bedrock actions (fallbackFor). It returns the plan with
// results and StillStands, and an error when a step failed: ErrPartial
// when others succeeded. Running Apply on a fresh Plan retries.
func (r *Revoker) Apply(ctx context.Context, p *Plan) (*Plan, error) {
	done, failed := 0, 0
	for i := range p.Steps {
		s := &p.Steps[i]
		if !s.Needed {
			s.Result = "unchanged"
			continue
		}
		if ctx.Err() != nil {
			s.Result, s.Error = "not-run", "interrupted"
			failed++
			continue
		}
		if err := r.applyStep(ctx, p, s); err != nil {
			return p, fmt.Errorf("revoke: %w", err)
		}
		switch {
		case s.Result == "error" || s.Result == "not-run":
			failed++
		case s.Result == "fallback" && s.Action == "iam:UpdateAccessKey":
			// The key is cut, the access key is not: partial.
			failed++
			done++
		default:
			done++
		}
	}
	p.StillStands = stillStands(p)
	switch {
	case failed == 0:
		return p, nil
	case done > 0:
		return p, fmt.Errorf("revoke: %w: %s (run again to retry)", ErrPartial, strings.Join(p.StillStands, "; "))
	}
	return p, fmt.Errorf("revoke: every write call failed; the key may still work: %s", strings.Join(p.StillStands, "; "))
}

// applyStep makes one call (and its fallback) and audits it; the error is
// the audit log's only.
func (r *Revoker) applyStep(ctx context.Context, p *Plan, s *Step) error {
	err := r.call(ctx, *s)
	switch {
	case err == nil:
		s.Result = "ok"
	case awsops.IsNotFound(err) && s.Action == "iam:DeleteServiceSpecificCredential":
		s.Result = "already-gone"
	default:
		s.Result, s.Error = "error", describeStep(s.Action, err)
	}
	if aerr := r.Audit.Write(auditRecord(p, *s)); aerr != nil {
		return aerr
	}
	fb, ok := fallbackFor(p, *s, err)
	if s.Result != "error" || !ok {
		return nil
	}
	if ferr := r.call(ctx, fb); ferr != nil {
		s.Error += "; fallback " + describeStep(fb.Action, ferr)
		fb.Result, fb.Error = "error", describeStep(fb.Action, ferr)
	} else {
		s.Result, s.Fallback, fb.Result = "fallback", fallbackName(fb), "ok"
	}
	return r.Audit.Write(auditRecord(p, fb))
}

// fallbackFor is the call that stands in for a refused step, if any:
//   - the inline deny on a long-term key's user, refused by an
//     authorization rule or the inline size budget (LimitExceeded):
//     AWSDenyAll cuts every permission of the user, which is what a
//     phantom user's revocation means (on a short-term key's issuer it
//     would break the role or user for good, so it is not attached there);
//   - deactivating the long-term access key that signed a short-term key:
//     such a key carries no aws:TokenIssueTime, so only an unconditional
//     deny cuts it, and the user is denied its Bedrock actions inline
//     (https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-permissions.html).
func fallbackFor(p *Plan, s Step, err error) (Step, bool) {
	user := s.Params["UserName"]
	switch {
	case err == nil:
	case s.Action == "iam:PutUserPolicy" && s.Params["PolicyName"] == UserPolicyName &&
		(awsops.IsAccessDenied(err) || awsops.ErrorCode(err) == "LimitExceeded"):
		return Step{Action: "iam:AttachUserPolicy", Params: map[string]string{"UserName": user, "PolicyArn": DenyAllPolicyARN(p.Partition)}, Needed: true}, true
	case s.Action == "iam:UpdateAccessKey" && signedByAccessKey(p.Target):
		return Step{Action: "iam:PutUserPolicy", Params: map[string]string{"UserName": user, "PolicyName": BearerPolicyName},
			PolicyDocument: BearerPolicy(p.Target.Service), Needed: true}, true
	}
	return Step{}, false
}

// fallbackName says what a fallback put in place: the managed policy's
// ARN, or the inline policy's name.
func fallbackName(fb Step) string {
	if arn := fb.Params["PolicyArn"]; arn != "" {
		return arn
	}
	return fb.Params["PolicyName"]
}

// signedByAccessKey: a short-term key signed with a long-term access key.
func signedByAccessKey(t Target) bool {
	return t.Kind == KindShortTerm && strings.HasPrefix(t.AccessKeyID, "AKIA")
}

// describeStep is awsops.Describe, saying when an SCP is the refusal.
func describeStep(action string, err error) string {
	d := awsops.Describe("iam", strings.TrimPrefix(action, "iam:"), err)
	if strings.Contains(err.Error(), "service control policy") {
		d += " (denied by a service control policy: run as its break-glass principal, see `bks scp show protect-phantom-users`)"
	}
	return d
}

func auditRecord(p *Plan, s Step) audit.Record {
	target := s.Params["PolicyName"]
	for _, k := range []string{"PolicyArn", "ServiceSpecificCredentialId", "AccessKeyId"} {
		if v := s.Params[k]; v != "" {
			target = v
		}
	}
	user := s.Params["UserName"]
	if user == "" {
		user = s.Params["RoleName"]
	}
	rec := audit.Record{Account: p.Account, Action: s.Action, Target: target, User: user, Result: audit.ResultOK}
	switch s.Result {
	case "already-gone":
		rec.Result = audit.ResultGone
	case "error":
		rec.Result, rec.Error = audit.ResultFailed, s.Error
	}
	return rec
}

// stillStands says plainly what each failed step left in place.
func stillStands(p *Plan) []string {
	var out []string
	for _, s := range p.Steps {
		if s.Result == "fallback" && s.Action == "iam:UpdateAccessKey" {
			out = append(out, fmt.Sprintf("access key %s of %s is still active (deactivating it was refused): %s on %s stops the Bedrock API keys it signed, this one included, but anything else using the access key keeps working", s.Params["AccessKeyId"], s.Params["UserName"], s.Fallback, s.Params["UserName"]))
			continue
		}
		if s.Result != "error" && s.Result != "not-run" {
			continue
		}
		who := s.Params["UserName"] + s.Params["RoleName"]
		switch s.Action {
		case "iam:PutUserPolicy", "iam:PutRolePolicy":
			if s.Params["PolicyName"] == UserPolicyName {
				out = append(out, fmt.Sprintf("no deny policy on %s: its other credentials keep their %s permissions, and sessions minted from its access keys before %s keep working", who, serviceShort(p.Target.Service), p.Cutoff.Format(timeFormat)))
			} else {
				out = append(out, fmt.Sprintf("no deny policy on %s: its sessions issued before %s, this key's included, keep working until they expire", who, p.Cutoff.Format(timeFormat)))
			}
		case "iam:DeleteServiceSpecificCredential":
			out = append(out, fmt.Sprintf("API key %s of %s is not deleted: the leaked key may still work", s.Params["ServiceSpecificCredentialId"], who))
		case "iam:UpdateAccessKey":
			line := fmt.Sprintf("access key %s of %s is still active", s.Params["AccessKeyId"], who)
			if signedByAccessKey(p.Target) { // and its fallback, the Bedrock deny, was refused too
				line += fmt.Sprintf(", and no Bedrock deny could be put on %s: the leaked key still works until it expires", who)
				if t := p.Target.ExpiresAt; t != nil {
					line += " (" + t.UTC().Format(timeFormat) + ")"
				}
			}
			out = append(out, line)
		}
	}
	return out
}

func (r *Revoker) call(ctx context.Context, s Step) error {
	pm := s.Params
	var err error
	switch s.Action {
	case "iam:PutUserPolicy":
		_, err = r.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(pm["UserName"]), PolicyName: aws.String(pm["PolicyName"]), PolicyDocument: aws.String(s.PolicyDocument)})
	case "iam:PutRolePolicy":
		_, err = r.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(pm["RoleName"]), PolicyName: aws.String(pm["PolicyName"]), PolicyDocument: aws.String(s.PolicyDocument)})
	case "iam:AttachUserPolicy":
		_, err = r.IAM.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String(pm["UserName"]), PolicyArn: aws.String(pm["PolicyArn"])})
	case "iam:DeleteServiceSpecificCredential":
		_, err = r.IAM.DeleteServiceSpecificCredential(ctx, &iam.DeleteServiceSpecificCredentialInput{UserName: aws.String(pm["UserName"]), ServiceSpecificCredentialId: aws.String(pm["ServiceSpecificCredentialId"])})
	case "iam:UpdateAccessKey":
		_, err = r.IAM.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(pm["UserName"]), AccessKeyId: aws.String(pm["AccessKeyId"]), Status: iamtypes.StatusType(pm["Status"])})
	default:
		err = fmt.Errorf("unknown action %s", s.Action)
	}
	return err
}
