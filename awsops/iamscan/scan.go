package iamscan

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"golang.org/x/sync/errgroup"

	"github.com/bks-dev/bks/awsops"
)

// IAMAPI is the part of the IAM client the scan reads with.
type IAMAPI interface {
	ListUsers(context.Context, *iam.ListUsersInput, ...func(*iam.Options)) (*iam.ListUsersOutput, error)
	GetUser(context.Context, *iam.GetUserInput, ...func(*iam.Options)) (*iam.GetUserOutput, error)
	ListServiceSpecificCredentials(context.Context, *iam.ListServiceSpecificCredentialsInput, ...func(*iam.Options)) (*iam.ListServiceSpecificCredentialsOutput, error)
	ListAccessKeys(context.Context, *iam.ListAccessKeysInput, ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	GetAccessKeyLastUsed(context.Context, *iam.GetAccessKeyLastUsedInput, ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
	ListAttachedUserPolicies(context.Context, *iam.ListAttachedUserPoliciesInput, ...func(*iam.Options)) (*iam.ListAttachedUserPoliciesOutput, error)
	ListUserPolicies(context.Context, *iam.ListUserPoliciesInput, ...func(*iam.Options)) (*iam.ListUserPoliciesOutput, error)
	ListGroupsForUser(context.Context, *iam.ListGroupsForUserInput, ...func(*iam.Options)) (*iam.ListGroupsForUserOutput, error)
	GetLoginProfile(context.Context, *iam.GetLoginProfileInput, ...func(*iam.Options)) (*iam.GetLoginProfileOutput, error)
	ListMFADevices(context.Context, *iam.ListMFADevicesInput, ...func(*iam.Options)) (*iam.ListMFADevicesOutput, error)
	ListSigningCertificates(context.Context, *iam.ListSigningCertificatesInput, ...func(*iam.Options)) (*iam.ListSigningCertificatesOutput, error)
	ListSSHPublicKeys(context.Context, *iam.ListSSHPublicKeysInput, ...func(*iam.Options)) (*iam.ListSSHPublicKeysOutput, error)
}

var _ IAMAPI = (*iam.Client)(nil)

// ErrUserGone is returned by Enrich when the user no longer exists.
var ErrUserGone = errors.New("user no longer exists")

// Scanner scans one account.
type Scanner struct {
	IAM       IAMAPI
	Account   string
	Partition string // default aws
	// Concurrency bounds the users enriched at once (default 8).
	Concurrency int
	Policy      Policy
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Progress, when set, is called after each user is enriched.
	Progress func(done, total int)
}

// Report is one account's result.
type Report struct {
	Account   string    `json:"account"`
	Partition string    `json:"partition"`
	ScannedAt time.Time `json:"scanned_at"`
	Users     []User    `json:"users"`
	Summary   Summary   `json:"summary"`
}

// Summary holds the KPIs.
type Summary struct {
	Users               int `json:"users"`
	PhantomUsers        int `json:"phantom_users"`
	BedrockKeys         int `json:"bedrock_keys"`
	ActiveLongTermKeys  int `json:"active_long_term_keys"`
	NeverExpiringKeys   int `json:"never_expiring_keys"`
	KeysOlderThanMaxAge int `json:"keys_older_than_max_age"`
	AtRisk              int `json:"at_risk"`
	Active              int `json:"active"`
	Orphaned            int `json:"orphaned"`
	Unknown             int `json:"unknown"`
	Inactive            int `json:"inactive"`
	OverPolicy          int `json:"over_policy"`
}

// Add accumulates o into s (organization totals).
func (s *Summary) Add(o Summary) {
	s.Users += o.Users
	s.PhantomUsers += o.PhantomUsers
	s.BedrockKeys += o.BedrockKeys
	s.ActiveLongTermKeys += o.ActiveLongTermKeys
	s.NeverExpiringKeys += o.NeverExpiringKeys
	s.KeysOlderThanMaxAge += o.KeysOlderThanMaxAge
	s.AtRisk += o.AtRisk
	s.Active += o.Active
	s.Orphaned += o.Orphaned
	s.Unknown += o.Unknown
	s.Inactive += o.Inactive
	s.OverPolicy += o.OverPolicy
}

func (sc *Scanner) now() time.Time {
	if sc.Now != nil {
		return sc.Now().UTC()
	}
	return time.Now().UTC()
}

func (sc *Scanner) partition() string {
	if sc.Partition == "" {
		return "aws"
	}
	return sc.Partition
}

// Run discovers, enriches and classifies. An error means the account could
// not be inventoried at all; per-user failures make users UNKNOWN instead.
func (sc *Scanner) Run(ctx context.Context) (*Report, error) {
	now := sc.now()
	targets, err := sc.Discover(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{Account: sc.Account, Partition: sc.partition(), ScannedAt: now}
	users := make([]*User, len(targets))
	g, gctx := errgroup.WithContext(ctx)
	n := sc.Concurrency
	if n <= 0 {
		n = 8
	}
	g.SetLimit(n)
	var mu sync.Mutex
	done := 0
	for i, t := range targets {
		g.Go(func() error {
			u, err := sc.Enrich(gctx, t.UserName)
			if errors.Is(err, ErrUserGone) {
				return nil // deleted while we looked: nothing to report
			}
			if err != nil {
				return err // context canceled
			}
			Classify(u, sc.Policy, now)
			users[i] = u
			if sc.Progress != nil {
				mu.Lock()
				done++
				sc.Progress(done, len(targets))
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, u := range users {
		if u != nil {
			rep.Users = append(rep.Users, *u)
		}
	}
	rep.Summary = Summarize(rep.Users, sc.Policy, now)
	return rep, nil
}

// Summarize computes the KPIs of users.
func Summarize(users []User, p Policy, now time.Time) Summary {
	p = p.withDefaults()
	var s Summary
	for _, u := range users {
		s.Users++
		if u.Phantom {
			s.PhantomUsers++
		}
		for _, c := range u.BedrockKeys {
			s.BedrockKeys++
			if c.LiveAt(now) {
				s.ActiveLongTermKeys++
				if c.Expires == nil {
					s.NeverExpiringKeys++
				}
				if now.Sub(c.Created) > p.MaxKeyAge {
					s.KeysOlderThanMaxAge++
				}
			}
		}
		switch u.Status {
		case AtRisk:
			s.AtRisk++
		case Active:
			s.Active++
		case Orphaned:
			s.Orphaned++
		case Unknown:
			s.Unknown++
		case Inactive:
			s.Inactive++
		}
		if u.OverPolicy {
			s.OverPolicy++
		}
	}
	return s
}

// Target is a user to enrich, with the Bedrock keys discovery saw.
type Target struct {
	UserName    string
	BedrockKeys int
}

// Discover lists every Bedrock credential in the account (on any user)
// and every BedrockAPIKey-* user, sorted by user name.
func (sc *Scanner) Discover(ctx context.Context) ([]Target, error) {
	byUser := map[string]*Target{}
	creds, err := ListBedrockCredentials(ctx, sc.IAM)
	if err != nil {
		return nil, err
	}
	for _, c := range creds {
		t := byUser[c.UserName]
		if t == nil {
			t = &Target{UserName: c.UserName}
			byUser[c.UserName] = t
		}
		t.BedrockKeys++
	}
	names, err := awsops.ListFromStart(ctx, sc.listUserNames)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if IsPhantom(name) && byUser[name] == nil {
			byUser[name] = &Target{UserName: name}
		}
	}
	out := make([]Target, 0, len(byUser))
	for _, t := range byUser {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserName < out[j].UserName })
	return out, nil
}

// listUserNames pages through ListUsers.
func (sc *Scanner) listUserNames(ctx context.Context) ([]string, error) {
	var names []string
	p := iam.NewListUsersPaginator(sc.IAM, &iam.ListUsersInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("iam:ListUsers: %w", err)
		}
		for _, u := range out.Users {
			names = append(names, aws.ToString(u.UserName))
		}
	}
	return names, nil
}

// DiscoveredCredential is one row of the account-wide listing.
type DiscoveredCredential struct {
	UserName string
	ServiceCredential
}

// ListBedrockCredentials pages through ListServiceSpecificCredentials with
// AllUsers=true by hand (the SDK has no paginator for it), following
// Marker while IsTruncated; a Marker AWS refuses as stale starts it over
// (awsops.ListFromStart).
func ListBedrockCredentials(ctx context.Context, api IAMAPI) ([]DiscoveredCredential, error) {
	return awsops.ListFromStart(ctx, func(ctx context.Context) ([]DiscoveredCredential, error) {
		return listBedrockCredentials(ctx, api)
	})
}

func listBedrockCredentials(ctx context.Context, api IAMAPI) ([]DiscoveredCredential, error) {
	var out []DiscoveredCredential
	in := &iam.ListServiceSpecificCredentialsInput{AllUsers: aws.Bool(true), ServiceName: aws.String(BedrockService)}
	seen := map[string]bool{}
	for {
		page, err := api.ListServiceSpecificCredentials(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("iam:ListServiceSpecificCredentials: %w", err)
		}
		for _, c := range page.ServiceSpecificCredentials {
			out = append(out, DiscoveredCredential{UserName: aws.ToString(c.UserName), ServiceCredential: convertCred(c)})
		}
		if !page.IsTruncated {
			return out, nil
		}
		m := aws.ToString(page.Marker)
		if m == "" || seen[m] {
			return nil, fmt.Errorf("iam:ListServiceSpecificCredentials: truncated page without a new Marker")
		}
		seen[m] = true
		in.Marker = aws.String(m)
	}
}

func convertCred(c types.ServiceSpecificCredentialMetadata) ServiceCredential {
	return ServiceCredential{
		ID:      aws.ToString(c.ServiceSpecificCredentialId),
		Service: aws.ToString(c.ServiceName),
		Alias:   aws.ToString(c.ServiceCredentialAlias),
		Status:  string(c.Status),
		Created: aws.ToTime(c.CreateDate).UTC(),
		Expires: utcPtr(c.ExpirationDate),
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// Enrich reads everything about one user. Failed lookups are recorded in
// User.Errors (the user then classifies UNKNOWN); ErrUserGone when the
// user does not exist; a context error when ctx ends.
func (sc *Scanner) Enrich(ctx context.Context, name string) (*User, error) {
	api := sc.IAM
	u := &User{Account: sc.Account, UserName: name, Phantom: IsPhantom(name), BedrockKeys: []ServiceCredential{}, AccessKeys: []AccessKey{}}
	gu, err := api.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(name)})
	if err != nil {
		if awsops.IsNotFound(err) {
			return nil, ErrUserGone
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		u.fail("GetUser", err)
		u.ARN = awsops.UserARN(sc.partition(), sc.Account, "/", name)
	} else {
		x := gu.User
		u.ARN, u.Path = aws.ToString(x.Arn), aws.ToString(x.Path)
		u.Created = aws.ToTime(x.CreateDate).UTC()
		u.PasswordLastUsed = utcPtr(x.PasswordLastUsed)
		if x.PermissionsBoundary != nil {
			u.PermissionsBoundary = aws.ToString(x.PermissionsBoundary.PermissionsBoundaryArn)
		}
	}
	// lookup runs one read; NoSuchEntity on a per-user list means the user
	// vanished mid-read, which the re-check below turns into ErrUserGone.
	gone := false
	lookup := func(action string, fn func() error) {
		if ctx.Err() != nil {
			return
		}
		if err := fn(); err != nil {
			if awsops.IsNotFound(err) {
				gone = true
				return
			}
			u.fail(action, err)
		}
	}
	lookup("ListServiceSpecificCredentials", func() error {
		in := &iam.ListServiceSpecificCredentialsInput{UserName: aws.String(name)}
		out, err := api.ListServiceSpecificCredentials(ctx, in)
		if err != nil {
			return err
		}
		for _, c := range out.ServiceSpecificCredentials {
			sc := convertCred(c)
			if sc.Service == BedrockService {
				u.BedrockKeys = append(u.BedrockKeys, sc)
			} else {
				u.OtherCredentials = append(u.OtherCredentials, sc)
			}
		}
		return nil
	})
	lookup("ListAccessKeys", func() error {
		p := iam.NewListAccessKeysPaginator(api, &iam.ListAccessKeysInput{UserName: aws.String(name)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, k := range out.AccessKeyMetadata {
				u.AccessKeys = append(u.AccessKeys, AccessKey{ID: aws.ToString(k.AccessKeyId), Status: string(k.Status), Created: aws.ToTime(k.CreateDate).UTC()})
			}
		}
		return nil
	})
	for i := range u.AccessKeys {
		k := &u.AccessKeys[i]
		lookup("GetAccessKeyLastUsed", func() error {
			out, err := api.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(k.ID)})
			if err != nil {
				return err
			}
			if lu := out.AccessKeyLastUsed; lu != nil {
				k.LastUsed = utcPtr(lu.LastUsedDate)
				k.LastUsedService = aws.ToString(lu.ServiceName)
				k.LastUsedRegion = aws.ToString(lu.Region)
			}
			return nil
		})
	}
	lookup("GetLoginProfile", func() error {
		out, err := api.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(name)})
		if awsops.IsNotFound(err) {
			return nil // no console password
		}
		if err != nil {
			return err
		}
		u.LoginProfile = &LoginProfile{Created: aws.ToTime(out.LoginProfile.CreateDate).UTC(), ResetRequired: out.LoginProfile.PasswordResetRequired}
		return nil
	})
	lookup("ListMFADevices", func() error {
		p := iam.NewListMFADevicesPaginator(api, &iam.ListMFADevicesInput{UserName: aws.String(name)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, m := range out.MFADevices {
				u.MFADevices = append(u.MFADevices, aws.ToString(m.SerialNumber))
			}
		}
		return nil
	})
	lookup("ListSigningCertificates", func() error {
		p := iam.NewListSigningCertificatesPaginator(api, &iam.ListSigningCertificatesInput{UserName: aws.String(name)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, c := range out.Certificates {
				u.SigningCertificates = append(u.SigningCertificates, Item{ID: aws.ToString(c.CertificateId), Status: string(c.Status)})
			}
		}
		return nil
	})
	lookup("ListSSHPublicKeys", func() error {
		p := iam.NewListSSHPublicKeysPaginator(api, &iam.ListSSHPublicKeysInput{UserName: aws.String(name)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, k := range out.SSHPublicKeys {
				u.SSHPublicKeys = append(u.SSHPublicKeys, Item{ID: aws.ToString(k.SSHPublicKeyId), Status: string(k.Status)})
			}
		}
		return nil
	})
	lookup("ListGroupsForUser", func() error {
		p := iam.NewListGroupsForUserPaginator(api, &iam.ListGroupsForUserInput{UserName: aws.String(name)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, g := range out.Groups {
				u.Groups = append(u.Groups, aws.ToString(g.GroupName))
			}
		}
		return nil
	})
	lookup("ListAttachedUserPolicies", func() error {
		p := iam.NewListAttachedUserPoliciesPaginator(api, &iam.ListAttachedUserPoliciesInput{UserName: aws.String(name)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, a := range out.AttachedPolicies {
				u.AttachedPolicies = append(u.AttachedPolicies, aws.ToString(a.PolicyArn))
			}
		}
		return nil
	})
	lookup("ListUserPolicies", func() error {
		p := iam.NewListUserPoliciesPaginator(api, &iam.ListUserPoliciesInput{UserName: aws.String(name)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			u.InlinePolicies = append(u.InlinePolicies, out.PolicyNames...)
		}
		return nil
	})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if gone {
		if _, err := api.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(name)}); awsops.IsNotFound(err) {
			return nil, ErrUserGone
		}
		u.Errors = append(u.Errors, LookupError{Action: "GetUser", Code: "NoSuchEntity", Detail: "a lookup answered NoSuchEntity but the user still exists"})
	}
	sort.Strings(u.Groups)
	sort.Strings(u.AttachedPolicies)
	sort.Strings(u.InlinePolicies)
	return u, nil
}

func (u *User) fail(action string, err error) {
	u.Errors = append(u.Errors, LookupError{Action: action, Code: awsops.ErrorCode(err), Detail: awsops.Describe("iam", action, err)})
}
