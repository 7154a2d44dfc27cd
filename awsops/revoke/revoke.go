// Package revoke cuts off a leaked Bedrock API key in the account it
// belongs to.
//
// Long-term keys (or a user name): an inline deny on the user covering
// bedrock:* and bedrock-mantle:* plus a deny of every action for sessions
// issued before now (aws:TokenIssueTime), then the user's Bedrock
// credentials are deleted and its access keys deactivated.
//
// Short-term keys cannot be deleted. For an ASIA… key, the issuer of its
// session is found through CloudTrail LookupEvents(AccessKeyId) — in the
// key's own region first, then the others — and a deny of every action for
// sessions issued before now is put on that role or user. The caller's own
// identity is refused unless forced; IAM Identity Center roles always are
// (IAM answers UnmodifiableEntity), with the commands that work instead. For an
// AKIA… key (signed with a long-term access key), the access key is
// deactivated: such a request carries no aws:TokenIssueTime, so a session
// deny would not bite; if deactivating is refused, an unconditional deny of
// the user's Bedrock actions stands in (Apply).
//
// Plan makes read calls only and returns every write call with its exact
// parameters and policy document; Apply makes them, writes each to the
// audit log, and skips what is already done, so a second run changes
// nothing. Nothing here prints.
package revoke

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/awsops/audit"
	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
)

// Services a Target names, by their endpoint (detectors.Service.Host): a
// key's comes from its family, a bare user name means Bedrock.
var (
	serviceBedrock = detectors.Bedrock.Host
	serviceClaude  = detectors.ClaudePlatform.Host
)

// serviceAt returns the service whose endpoint is host; Bedrock when none.
func serviceAt(host string) *detectors.Service {
	if s, ok := detectors.ServiceAt(host); ok {
		return s
	}
	return detectors.Bedrock
}

// IAMAPI is the part of the IAM client revoke uses.
type IAMAPI interface {
	GetUser(context.Context, *iam.GetUserInput, ...func(*iam.Options)) (*iam.GetUserOutput, error)
	GetRole(context.Context, *iam.GetRoleInput, ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	GetUserPolicy(context.Context, *iam.GetUserPolicyInput, ...func(*iam.Options)) (*iam.GetUserPolicyOutput, error)
	GetRolePolicy(context.Context, *iam.GetRolePolicyInput, ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	ListServiceSpecificCredentials(context.Context, *iam.ListServiceSpecificCredentialsInput, ...func(*iam.Options)) (*iam.ListServiceSpecificCredentialsOutput, error)
	ListAccessKeys(context.Context, *iam.ListAccessKeysInput, ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	GetAccessKeyLastUsed(context.Context, *iam.GetAccessKeyLastUsedInput, ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)

	PutUserPolicy(context.Context, *iam.PutUserPolicyInput, ...func(*iam.Options)) (*iam.PutUserPolicyOutput, error)
	PutRolePolicy(context.Context, *iam.PutRolePolicyInput, ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	DeleteServiceSpecificCredential(context.Context, *iam.DeleteServiceSpecificCredentialInput, ...func(*iam.Options)) (*iam.DeleteServiceSpecificCredentialOutput, error)
	UpdateAccessKey(context.Context, *iam.UpdateAccessKeyInput, ...func(*iam.Options)) (*iam.UpdateAccessKeyOutput, error)
	AttachUserPolicy(context.Context, *iam.AttachUserPolicyInput, ...func(*iam.Options)) (*iam.AttachUserPolicyOutput, error)
}

var _ IAMAPI = (*iam.Client)(nil)

// CloudTrailAPI is the part of the CloudTrail client revoke uses.
type CloudTrailAPI interface {
	LookupEvents(context.Context, *cloudtrail.LookupEventsInput, ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

var _ CloudTrailAPI = (*cloudtrail.Client)(nil)

// Kinds of target.
const (
	KindLongTerm  = "long-term"
	KindShortTerm = "short-term"
)

// Target is what to revoke, decoded offline. It never holds the key.
type Target struct {
	Kind        string     `json:"kind"`
	Key         string     `json:"key,omitempty"` // redacted; empty for a user name
	Service     string     `json:"service"`       // bedrock.amazonaws.com or the Claude Platform's
	Account     string     `json:"account,omitempty"`
	UserName    string     `json:"user_name,omitempty"`     // long-term
	AccessKeyID string     `json:"access_key_id,omitempty"` // short-term
	Region      string     `json:"region,omitempty"`        // short-term
	IssuedAt    *time.Time `json:"issued_at,omitempty"`     // short-term
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`    // short-term
}

// ParseTarget reads a command-line argument: a long-term key, a short-term
// key, or an IAM user name.
func ParseTarget(arg string, partition string) (Target, error) {
	s := detectors.Trim(arg)
	if f, ok := detectors.Identify(s); ok {
		k, err := detectors.Decode(s, detectors.DecodeOptions{Partition: partition})
		switch {
		case err == nil:
			t := Target{Key: findings.Redact(s), Account: k.AccountID, Service: f.Service.Host}
			if f.Long {
				t.Kind, t.UserName = KindLongTerm, k.Username
			} else {
				t.Kind, t.AccessKeyID, t.Region = KindShortTerm, k.AccessKeyID, k.Region
				t.IssuedAt, t.ExpiresAt = k.IssuedAt, k.ExpiresAt
			}
			return t, nil
		case !f.Long || !awsops.ValidUserName(s):
			return Target{}, fmt.Errorf("parse target: malformed key: %w", err)
		}
		// e.g. a user literally named "ABSKtest": fall through to user name
	}
	if !awsops.ValidUserName(s) {
		return Target{}, fmt.Errorf("parse target: %q is neither a Bedrock API key nor an IAM user name", clip(s))
	}
	return Target{Kind: KindLongTerm, UserName: s, Service: serviceBedrock}, nil
}

func clip(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// Principal is the IAM identity a revocation acts on.
type Principal struct {
	Type string `json:"type"` // user or role
	Name string `json:"name"`
	ARN  string `json:"arn"`
	Path string `json:"path,omitempty"`
}

// Step is one write call.
type Step struct {
	// Action is the IAM API call, e.g. iam:PutUserPolicy.
	Action string `json:"action"`
	// Params are its exact parameters (the policy document apart).
	Params map[string]string `json:"params"`
	// PolicyDocument is the document of a Put*Policy call.
	PolicyDocument string `json:"policy_document,omitempty"`
	// Needed is false when the state already is what the call would make
	// it; Note then says why.
	Needed bool   `json:"needed"`
	Note   string `json:"note,omitempty"`
	// Result after Apply: ok, already-gone, fallback (the inline deny was
	// refused and Fallback was attached instead), error, unchanged (not
	// needed), not-run (interrupted).
	Result string `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
	// Fallback is the managed policy attached when the inline deny could
	// not be written (AWSDenyAll), empty otherwise.
	Fallback string `json:"fallback,omitempty"`
}

// Call renders the call with its parameters, e.g.
// "iam:UpdateAccessKey UserName=x AccessKeyId=AKIA… Status=Inactive".
func (s Step) Call() string {
	var b strings.Builder
	b.WriteString(s.Action)
	for _, k := range paramOrder {
		if v, ok := s.Params[k]; ok {
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
	}
	if s.PolicyDocument != "" {
		b.WriteString(" PolicyDocument=<below>")
	}
	return b.String()
}

var paramOrder = []string{"UserName", "RoleName", "PolicyName", "ServiceSpecificCredentialId", "AccessKeyId", "Status"}

// Plan is a revocation worked out from the account's current state.
type Plan struct {
	Target    Target    `json:"target"`
	Account   string    `json:"account"`
	Partition string    `json:"partition"`
	Caller    string    `json:"caller"`
	Principal Principal `json:"principal"`
	// Cutoff is the aws:TokenIssueTime before which sessions are denied.
	Cutoff time.Time `json:"cutoff"`
	// FoundInRegion is where CloudTrail showed the short-term key's
	// session, and SearchedRegions where bks looked, in order.
	FoundInRegion   string   `json:"found_in_region,omitempty"`
	SearchedRegions []string `json:"searched_regions,omitempty"`
	Steps           []Step   `json:"steps"`
	// CutsOff says what else the revocation breaks, plainly.
	CutsOff []string `json:"cuts_off"`
	// Notes are facts worth knowing that break nothing.
	Notes []string `json:"notes,omitempty"`
	// StillStands says, after Apply, what the failed steps left in place.
	StillStands []string `json:"still_stands,omitempty"`
}

// Pending reports whether any write call is needed.
func (p *Plan) Pending() bool {
	for _, s := range p.Steps {
		if s.Needed {
			return true
		}
	}
	return false
}

// Options tune a Revoker.
type Options struct {
	// Force allows revoking the caller's own identity (never an IAM
	// Identity Center role: IAM refuses any change to one).
	Force bool
	// Regions are searched for a short-term key's issuer after the key's
	// own region, in order (default: the partition's standard regions).
	Regions []string
	// IssuerRole / IssuerUser name the issuer of a short-term key
	// directly, skipping the CloudTrail search.
	IssuerRole, IssuerUser string
	// Now is the clock; the cutoff is Now (default time.Now).
	Now func() time.Time
}

// Revoker plans and applies revocations in one account.
type Revoker struct {
	IAM IAMAPI
	// CloudTrail returns a client for region (short-term keys).
	CloudTrail func(region string) CloudTrailAPI
	// Caller is who the credentials are (awsops.WhoAmI).
	Caller awsops.Identity
	Audit  *audit.Log
	Options
}

// now is the cutoff: the clock rounded up to the next whole second, so a
// session issued in the same second as the revocation is cut off too
// (policies state times to the second).
func (r *Revoker) now() time.Time {
	t := time.Now()
	if r.Now != nil {
		t = r.Now()
	}
	t = t.UTC()
	if tr := t.Truncate(time.Second); !tr.Equal(t) {
		return tr.Add(time.Second)
	}
	return t
}

// Errors a caller may want to tell apart.
var (
	// ErrRefused: the target is protected (caller's own identity,
	// SSO-reserved role, root): Force does not lift it for an SSO role.
	ErrRefused = errors.New("refused")
	// ErrWrongAccount: the key belongs to another account than the
	// credentials.
	ErrWrongAccount = errors.New("key belongs to another account")
	// ErrIssuerNotFound: CloudTrail showed no event of the key's session.
	ErrIssuerNotFound = errors.New("issuer not found")
	// ErrNotFound: the user or role does not exist.
	ErrNotFound = errors.New("not found")
	// ErrPartial: some write calls were made and others failed; the
	// plan's StillStands says what is left.
	ErrPartial = errors.New("partially revoked")
)

// Plan reads the account and works out the revocation. It makes no write
// call.
func (r *Revoker) Plan(ctx context.Context, t Target) (*Plan, error) {
	p := &Plan{Target: t, Account: r.Caller.Account, Partition: r.Caller.Partition, Caller: r.Caller.ARN, Cutoff: r.now(), Steps: []Step{}, CutsOff: []string{}}
	if p.Partition == "" {
		p.Partition = awsops.PartitionOf(r.Caller.ARN)
	}
	if t.Account != "" && r.Caller.Account != "" && t.Account != r.Caller.Account {
		return nil, fmt.Errorf("revoke: %w: the key is from account %s, the credentials are for %s (use credentials for %s, e.g. --profile)", ErrWrongAccount, t.Account, r.Caller.Account, t.Account)
	}
	switch {
	case t.Kind == KindLongTerm:
		return p, r.planLongTerm(ctx, p)
	case strings.HasPrefix(t.AccessKeyID, "AKIA"):
		return p, r.planAccessKeyToken(ctx, p)
	default:
		return p, r.planShortTerm(ctx, p)
	}
}

func (r *Revoker) planLongTerm(ctx context.Context, p *Plan) error {
	name := p.Target.UserName
	gu, err := r.IAM.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(name)})
	if err != nil {
		if awsops.IsNotFound(err) {
			return fmt.Errorf("revoke: user %s: %w in account %s", name, ErrNotFound, p.Account)
		}
		return fmt.Errorf("revoke: %s", awsops.Describe("iam", "GetUser", err))
	}
	p.Principal = Principal{Type: "user", Name: name, ARN: aws.ToString(gu.User.Arn), Path: aws.ToString(gu.User.Path)}
	if err := r.refuseSelf(p); err != nil {
		return err
	}

	// 1. The deny policy, unless one already denies both endpoints and
	// cuts off older sessions.
	actions := denyActions(p.Target.Service)
	step := Step{Action: "iam:PutUserPolicy", Params: map[string]string{"UserName": name, "PolicyName": UserPolicyName}, Needed: true}
	existing, err := r.existingPolicy(ctx, "user", name, UserPolicyName)
	if err != nil {
		return err
	}
	if existing != nil && existing.covers(actions) && !existing.cutoff.IsZero() {
		step.Needed = false
		step.Note = fmt.Sprintf("%s already denies %s and sessions issued before %s", UserPolicyName, strings.Join(actions, ", "), existing.cutoff.Format(timeFormat))
		p.Cutoff = existing.cutoff
	} else {
		step.PolicyDocument = UserPolicy(p.Target.Service, p.Cutoff)
	}
	p.Steps = append(p.Steps, step)

	// 2. Delete the user's API keys for the service.
	creds, err := r.listCredentials(ctx, name, p.Target.Service)
	if err != nil {
		return err
	}
	for _, c := range creds {
		p.Steps = append(p.Steps, Step{Action: "iam:DeleteServiceSpecificCredential", Needed: true,
			Params: map[string]string{"UserName": name, "ServiceSpecificCredentialId": aws.ToString(c.ServiceSpecificCredentialId)}})
	}
	if len(creds) == 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("%s has no %s API key left to delete", name, serviceShort(p.Target.Service)))
	}

	// 3. Deactivate its access keys.
	keys, err := r.listAccessKeys(ctx, name)
	if err != nil {
		return err
	}
	active := 0
	for _, k := range keys {
		id := aws.ToString(k.AccessKeyId)
		s := Step{Action: "iam:UpdateAccessKey", Needed: k.Status == iamtypes.StatusTypeActive,
			Params: map[string]string{"UserName": name, "AccessKeyId": id, "Status": "Inactive"}}
		if !s.Needed {
			s.Note = id + " is already inactive"
		} else {
			active++
		}
		p.Steps = append(p.Steps, s)
	}

	p.CutsOff = append(p.CutsOff,
		fmt.Sprintf("%s loses every %s permission, with any credential (API key, access key, console), until %s is removed", name, strings.Join(actions, " and "), UserPolicyName),
		fmt.Sprintf("every session minted from %s's access keys before %s loses all access", name, p.Cutoff.Format(timeFormat)))
	if len(creds) > 0 {
		p.CutsOff = append(p.CutsOff, fmt.Sprintf("%d %s API key(s) of %s are deleted: this cannot be undone", len(creds), serviceShort(p.Target.Service), name))
	}
	if active > 0 {
		p.CutsOff = append(p.CutsOff, fmt.Sprintf("%d access key(s) of %s are deactivated: anything using them stops (reversible with iam:UpdateAccessKey Status=Active)", active, name))
	}
	if !strings.HasPrefix(name, detectors.PhantomUserPrefix) {
		p.CutsOff = append(p.CutsOff, fmt.Sprintf("%s is an ordinary IAM user, not a console-made BedrockAPIKey-* user: whatever it runs with Bedrock stops", name))
	}
	return nil
}

func serviceShort(service string) string { return serviceAt(service).Title }

// planAccessKeyToken handles a short-term key signed with a long-term
// access key (AKIA…): its owner comes from GetAccessKeyLastUsed, and the
// access key is deactivated.
func (r *Revoker) planAccessKeyToken(ctx context.Context, p *Plan) error {
	id := p.Target.AccessKeyID
	out, err := r.IAM.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(id)})
	if err != nil {
		if awsops.IsNotFound(err) {
			return fmt.Errorf("revoke: access key %s: %w (deleted already?)", id, ErrNotFound)
		}
		return fmt.Errorf("revoke: %s", awsops.Describe("iam", "GetAccessKeyLastUsed", err))
	}
	name := aws.ToString(out.UserName)
	if name == "" {
		return fmt.Errorf("revoke: access key %s: %w: AWS named no owner (a root access key?)", id, ErrNotFound)
	}
	gu, err := r.IAM.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("revoke: %s", awsops.Describe("iam", "GetUser", err))
	}
	p.Principal = Principal{Type: "user", Name: name, ARN: aws.ToString(gu.User.Arn), Path: aws.ToString(gu.User.Path)}
	if err := r.refuseSelf(p); err != nil {
		return err
	}
	keys, err := r.listAccessKeys(ctx, name)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if aws.ToString(k.AccessKeyId) != id {
			continue
		}
		s := Step{Action: "iam:UpdateAccessKey", Needed: k.Status == iamtypes.StatusTypeActive,
			Params: map[string]string{"UserName": name, "AccessKeyId": id, "Status": "Inactive"}}
		if !s.Needed {
			s.Note = id + " is already inactive"
		}
		p.Steps = append(p.Steps, s)
	}
	if len(p.Steps) == 0 {
		return fmt.Errorf("revoke: access key %s is not listed on %s: %w", id, name, ErrNotFound)
	}
	p.CutsOff = append(p.CutsOff, fmt.Sprintf("access key %s of %s is deactivated: everything using it stops, not only this Bedrock key (reversible with iam:UpdateAccessKey Status=Active)", id, name))
	return nil
}

func (r *Revoker) planShortTerm(ctx context.Context, p *Plan) error {
	t := p.Target
	var issuerType, issuerName string
	switch {
	case r.IssuerRole != "":
		issuerType, issuerName = "role", r.IssuerRole
	case r.IssuerUser != "":
		issuerType, issuerName = "user", r.IssuerUser
	default:
		found, err := r.findIssuer(ctx, p)
		if err != nil {
			return err
		}
		issuerType, issuerName = found.kind, found.name
		if found.root {
			return fmt.Errorf("revoke: %w: the key's session was issued to the account's root user; a policy cannot be put on root — rotate root credentials instead", ErrRefused)
		}
	}
	policyName := SessionPolicyName
	step := Step{Needed: true}
	if issuerType == "role" {
		gr, err := r.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(issuerName)})
		if err != nil {
			if awsops.IsNotFound(err) {
				return fmt.Errorf("revoke: role %s: %w in account %s", issuerName, ErrNotFound, p.Account)
			}
			return fmt.Errorf("revoke: %s", awsops.Describe("iam", "GetRole", err))
		}
		p.Principal = Principal{Type: "role", Name: issuerName, ARN: aws.ToString(gr.Role.Arn), Path: aws.ToString(gr.Role.Path)}
		step.Action, step.Params = "iam:PutRolePolicy", map[string]string{"RoleName": issuerName, "PolicyName": policyName}
		if strings.HasPrefix(p.Principal.Path, "/aws-service-role/") {
			return fmt.Errorf("revoke: %w: %s is a service-linked role, which cannot take an inline policy", ErrRefused, issuerName)
		}
		if isSSORole(p.Principal) {
			return ssoRefusal(p, issuerName)
		}
	} else {
		gu, err := r.IAM.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(issuerName)})
		if err != nil {
			if awsops.IsNotFound(err) {
				return fmt.Errorf("revoke: user %s: %w in account %s", issuerName, ErrNotFound, p.Account)
			}
			return fmt.Errorf("revoke: %s", awsops.Describe("iam", "GetUser", err))
		}
		p.Principal = Principal{Type: "user", Name: issuerName, ARN: aws.ToString(gu.User.Arn), Path: aws.ToString(gu.User.Path)}
		step.Action, step.Params = "iam:PutUserPolicy", map[string]string{"UserName": issuerName, "PolicyName": policyName}
	}
	if err := r.refuseSelf(p); err != nil {
		return err
	}
	existing, err := r.existingPolicy(ctx, issuerType, issuerName, policyName)
	if err != nil {
		return err
	}
	if existing != nil && !existing.cutoff.IsZero() && t.IssuedAt != nil && !existing.cutoff.Before(*t.IssuedAt) {
		step.Needed = false
		step.Note = fmt.Sprintf("%s already denies sessions issued before %s, which covers this key (signed %s)", policyName, existing.cutoff.Format(timeFormat), t.IssuedAt.UTC().Format(timeFormat))
		p.Cutoff = existing.cutoff
	} else {
		step.PolicyDocument = SessionPolicy(p.Cutoff)
		if existing != nil && !existing.cutoff.IsZero() {
			p.Notes = append(p.Notes, fmt.Sprintf("%s exists with an older cutoff (%s): it is replaced with %s", policyName, existing.cutoff.Format(timeFormat), p.Cutoff.Format(timeFormat)))
		}
	}
	p.Steps = append(p.Steps, step)
	what := "role " + issuerName
	if issuerType == "user" {
		what = "user " + issuerName
	}
	p.CutsOff = append(p.CutsOff,
		fmt.Sprintf("EVERY session of %s issued before %s loses ALL access, not only Bedrock: running workloads that use it (instance profiles, Lambda functions, ECS tasks, CI jobs, people signed in) fail until they get new credentials", what, p.Cutoff.Format(timeFormat)),
		"sessions issued after the cutoff are not affected")
	if t.ExpiresAt != nil {
		p.Notes = append(p.Notes, fmt.Sprintf("the key expires by %s at the latest; %s can be removed after that", t.ExpiresAt.UTC().Format(timeFormat), policyName))
	}
	return nil
}

func isSSORole(p Principal) bool {
	return strings.HasPrefix(p.Name, "AWSReservedSSO_") || strings.HasPrefix(p.Path, "/aws-reserved/sso.amazonaws.com/")
}

// refuseSelf refuses to act on the caller's own user or role.
func (r *Revoker) refuseSelf(p *Plan) error {
	if r.Force || r.Caller.ARN == "" {
		return nil
	}
	self := false
	caller := r.Caller.ARN
	switch p.Principal.Type {
	case "user":
		self = caller == p.Principal.ARN || (strings.Contains(caller, ":user/") && strings.HasSuffix(caller, "/"+p.Principal.Name))
	case "role":
		// arn:aws:sts::123:assumed-role/NAME/session
		if i := strings.Index(caller, ":assumed-role/"); i >= 0 {
			rest := caller[i+len(":assumed-role/"):]
			name, _, _ := strings.Cut(rest, "/")
			self = name == p.Principal.Name
		}
	}
	if self {
		return fmt.Errorf("revoke: %w: %s is the identity bks is running as (%s): revoking it cuts off this session too; use other credentials, or --force", ErrRefused, p.Principal.ARN, caller)
	}
	return nil
}

func (r *Revoker) existingPolicy(ctx context.Context, kind, name, policy string) (*inspection, error) {
	var doc string
	var err error
	if kind == "role" {
		var out *iam.GetRolePolicyOutput
		out, err = r.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(policy)})
		if err == nil {
			doc = aws.ToString(out.PolicyDocument)
		}
	} else {
		var out *iam.GetUserPolicyOutput
		out, err = r.IAM.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(policy)})
		if err == nil {
			doc = aws.ToString(out.PolicyDocument)
		}
	}
	if err != nil {
		if awsops.IsNotFound(err) {
			return nil, nil
		}
		action := "GetUserPolicy"
		if kind == "role" {
			action = "GetRolePolicy"
		}
		return nil, fmt.Errorf("revoke: %s", awsops.Describe("iam", action, err))
	}
	in, err := inspect(doc)
	if err != nil {
		return nil, nil // unreadable: rewrite it
	}
	return &in, nil
}

// listCredentials lists a user's API keys for service, from the start
// again if AWS refuses a Marker as stale (awsops.ListFromStart).
func (r *Revoker) listCredentials(ctx context.Context, user, service string) ([]iamtypes.ServiceSpecificCredentialMetadata, error) {
	return awsops.ListFromStart(ctx, func(ctx context.Context) ([]iamtypes.ServiceSpecificCredentialMetadata, error) {
		return r.listCredentialsOnce(ctx, user, service)
	})
}

func (r *Revoker) listCredentialsOnce(ctx context.Context, user, service string) ([]iamtypes.ServiceSpecificCredentialMetadata, error) {
	var out []iamtypes.ServiceSpecificCredentialMetadata
	in := &iam.ListServiceSpecificCredentialsInput{UserName: aws.String(user), ServiceName: aws.String(service)}
	for range 1000 {
		page, err := r.IAM.ListServiceSpecificCredentials(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("revoke: %s", awsops.Describe("iam", "ListServiceSpecificCredentials", err))
		}
		out = append(out, page.ServiceSpecificCredentials...)
		if !page.IsTruncated || aws.ToString(page.Marker) == "" {
			return out, nil
		}
		in.Marker = page.Marker
	}
	return nil, fmt.Errorf("revoke: ListServiceSpecificCredentials: too many pages")
}

func (r *Revoker) listAccessKeys(ctx context.Context, user string) ([]iamtypes.AccessKeyMetadata, error) {
	return awsops.ListFromStart(ctx, func(ctx context.Context) ([]iamtypes.AccessKeyMetadata, error) {
		return r.listAccessKeysOnce(ctx, user)
	})
}

func (r *Revoker) listAccessKeysOnce(ctx context.Context, user string) ([]iamtypes.AccessKeyMetadata, error) {
	var out []iamtypes.AccessKeyMetadata
	p := iam.NewListAccessKeysPaginator(r.IAM, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("revoke: %s", awsops.Describe("iam", "ListAccessKeys", err))
		}
		out = append(out, page.AccessKeyMetadata...)
	}
	return out, nil
}
