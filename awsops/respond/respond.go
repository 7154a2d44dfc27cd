// Package respond carries out triage's account-side actions with the same
// code as `bks revoke-key`, `bks timeline`, `bks report` and `bks verify`.
package respond

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/awsops/audit"
	"github.com/bks-dev/bks/awsops/incident"
	"github.com/bks-dev/bks/awsops/org"
	"github.com/bks-dev/bks/awsops/revoke"
	"github.com/bks-dev/bks/awsops/timeline"
	"github.com/bks-dev/bks/awsops/verify"
	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/triage"
)

// Responder implements triage.Responder against AWS.
type Responder struct {
	// Base settings (--region, --endpoint-url, …); an account's profile
	// replaces Base.Profile, and its role_arn is assumed from the base
	// credentials.
	Base awsops.Settings
	// Verify checks keys live; nil disables the live check.
	Checker *verify.Checker
	// Audit receives every write call.
	Audit *audit.Log
	// Days of CloudTrail history for timelines and reports (default 90).
	Days int
	// Rate of CloudTrail calls per region (default: the API's 2/s).
	Rate float64
	Now  func() time.Time

	mu       sync.Mutex
	accounts map[string]*account
}

type account struct {
	cfg aws.Config
	id  awsops.Identity
	err error
}

var _ triage.Responder = (*Responder)(nil)

// reach returns the config for acct, loading it once.
func (r *Responder) reach(ctx context.Context, acct triage.Account) (*account, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.accounts == nil {
		r.accounts = map[string]*account{}
	}
	if a, ok := r.accounts[acct.ID]; ok {
		return a, a.err
	}
	a := &account{}
	r.accounts[acct.ID] = a
	s := r.Base
	if acct.Profile != "" {
		s.Profile = acct.Profile
	}
	if s.Region == "" && len(acct.Regions) > 0 {
		s.Region = acct.Regions[0]
	}
	cfg, err := awsops.LoadConfig(ctx, s)
	if err == nil && acct.RoleARN != "" {
		cfg, err = org.AssumeRole(ctx, cfg, acct.RoleARN, "bks-triage")
	}
	if err == nil {
		a.id, err = awsops.WhoAmI(ctx, sts.NewFromConfig(cfg))
	}
	if err == nil && a.id.Account != acct.ID {
		err = fmt.Errorf("the credentials for account %s (%s) are for account %s", acct.ID, acct.Name, a.id.Account)
	}
	a.cfg, a.err = cfg, err
	if err != nil {
		a.err = fmt.Errorf("reach account %s: %w", acct.ID, err)
	}
	return a, a.err
}

// serviceOf is the service endpoint a revoke of k targets (its family's).
func serviceOf(k detectors.Key) string {
	if s, ok := detectors.ServiceNamed(k.Service); ok {
		return s.Host
	}
	return detectors.Bedrock.Host
}

// Target builds the revocation target from the decoded key: it never needs
// the key itself.
func Target(inc *triage.Incident) revoke.Target {
	k := inc.Key
	t := revoke.Target{Service: serviceOf(k), Account: k.AccountID, Key: inc.Redacted}
	if k.Type == detectors.TypeShortTerm {
		t.Kind = revoke.KindShortTerm
		t.AccessKeyID, t.Region, t.IssuedAt, t.ExpiresAt = k.AccessKeyID, k.Region, k.IssuedAt, k.ExpiresAt
	} else {
		t.Kind = revoke.KindLongTerm
		t.UserName = k.Username
	}
	return t
}

// CheckCredential looks the long-term key's user up in IAM: active when
// any of its credentials for the service is active and no bks deny is in
// place, revoked when the deny is, inactive or deleted otherwise.
func (r *Responder) CheckCredential(ctx context.Context, acct triage.Account, inc *triage.Incident) (string, error) {
	a, err := r.reach(ctx, acct)
	if err != nil {
		return triage.StateUnknown, err
	}
	client := iam.NewFromConfig(a.cfg)
	svc := serviceOf(inc.Key)
	out, err := client.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{
		UserName: aws.String(inc.Key.Username), ServiceName: aws.String(svc),
	})
	var nse *iamtypes.NoSuchEntityException
	if errors.As(err, &nse) {
		return triage.StateDeleted, nil
	}
	if err != nil {
		return triage.StateUnknown, fmt.Errorf("ListServiceSpecificCredentials %s: %w", inc.Key.Username, err)
	}
	active, any := false, false
	for _, c := range out.ServiceSpecificCredentials {
		any = true
		if c.Status == iamtypes.StatusTypeActive {
			active = true
		}
	}
	if !any {
		return triage.StateDeleted, nil
	}
	if !active {
		return triage.StateInactive, nil
	}
	pol, err := client.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(inc.Key.Username), PolicyName: aws.String(revoke.UserPolicyName)})
	if err == nil && pol.PolicyDocument != nil {
		return triage.StateRevoked, nil
	}
	return triage.StateActive, nil
}

// Verify runs the live check.
func (r *Responder) Verify(ctx context.Context, inc *triage.Incident) (string, error) {
	if r.Checker == nil {
		return "", errors.New("live check not configured")
	}
	res := r.Checker.Check(ctx, inc.RawKey())
	return string(res.Status), nil
}

func (r *Responder) cloudTrail(cfg aws.Config) func(string) *cloudtrail.Client {
	return func(region string) *cloudtrail.Client {
		return cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.Region = region })
	}
}

// Revoke plans and applies the revocation; changed is false when the key
// was already cut off.
func (r *Responder) Revoke(ctx context.Context, acct triage.Account, inc *triage.Incident) (bool, string, error) {
	a, err := r.reach(ctx, acct)
	if err != nil {
		return false, "", err
	}
	ct := r.cloudTrail(a.cfg)
	rv := &revoke.Revoker{
		IAM:        iam.NewFromConfig(a.cfg),
		CloudTrail: func(region string) revoke.CloudTrailAPI { return ct(region) },
		Caller:     a.id, Audit: r.Audit,
		Options: revoke.Options{Regions: acct.Regions, Now: r.Now},
	}
	plan, err := rv.Plan(ctx, Target(inc))
	if err != nil {
		return false, "", err
	}
	if !plan.Pending() {
		return false, "already revoked: " + principalText(plan), nil
	}
	if _, err := rv.Apply(ctx, plan); err != nil {
		return false, "", err
	}
	n := 0
	for _, s := range plan.Steps {
		if s.Result == "ok" || s.Result == "fallback" {
			n++
		}
	}
	return true, fmt.Sprintf("%d write call(s) on %s", n, principalText(plan)), nil
}

func principalText(p *revoke.Plan) string {
	if p.Principal.ARN != "" {
		return p.Principal.ARN
	}
	return p.Principal.Type + " " + p.Principal.Name
}

func (r *Responder) regions(acct triage.Account, inc *triage.Incident) []string {
	regs := append([]string(nil), acct.Regions...)
	if inc.Key.Region != "" {
		found := false
		for _, x := range regs {
			found = found || x == inc.Key.Region
		}
		if !found {
			regs = append([]string{inc.Key.Region}, regs...)
		}
	}
	if len(regs) == 0 {
		regs = revoke.DefaultRegions(detectors.PartitionForRegion(inc.Key.Region))
	}
	return regs
}

// Timeline writes timeline.json into dir.
func (r *Responder) Timeline(ctx context.Context, acct triage.Account, inc *triage.Incident, dir string) (string, error) {
	a, err := r.reach(ctx, acct)
	if err != nil {
		return "", err
	}
	ct := r.cloudTrail(a.cfg)
	o := timeline.Options{Regions: r.regions(acct, inc), Days: r.Days, Rate: r.Rate, Now: r.Now}
	if inc.Key.Type == detectors.TypeShortTerm {
		o.AccessKeyID = inc.Key.AccessKeyID
	} else {
		o.Username = inc.Key.Username
	}
	res, err := timeline.Lookup(ctx, func(region string) timeline.CloudTrailAPI { return ct(region) }, o)
	if err != nil {
		return "", err
	}
	if dir != "" {
		if err := writeJSON(filepath.Join(dir, "timeline.json"), res); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%d event(s) in %d region(s)", len(res.Events), len(res.Regions)), nil
}

// Report writes report.md and report.json into dir.
func (r *Responder) Report(ctx context.Context, acct triage.Account, inc *triage.Incident, dir string) error {
	a, err := r.reach(ctx, acct)
	if err != nil {
		return err
	}
	ct := r.cloudTrail(a.cfg)
	rep, err := incident.Build(ctx, incident.Deps{
		IAM:        iam.NewFromConfig(a.cfg),
		CloudTrail: func(region string) timeline.CloudTrailAPI { return ct(region) },
	}, Target(inc), incident.Options{
		Account: acct.ID, Partition: a.id.Partition, Regions: r.regions(acct, inc), Days: r.Days, Rate: r.Rate, Now: r.Now,
		NoCostReason: "Cost Explorer is not queried during triage (use bks report)",
	})
	if err != nil {
		return err
	}
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for name, format := range map[string]string{"report.md": "markdown", "report.json": "json"} {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		werr := rep.Write(f, format)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("write %s: %w", name, werr)
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// Reach returns the AWS configuration and caller identity for acct, loaded
// once per account as for the built-in actions: what an action added to
// triage's table (triage.Options.Actions) uses to make its own calls.
func (r *Responder) Reach(ctx context.Context, acct triage.Account) (aws.Config, awsops.Identity, error) {
	a, err := r.reach(ctx, acct)
	if err != nil {
		return aws.Config{}, awsops.Identity{}, err
	}
	return a.cfg, a.id, nil
}
