package awsemu

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Seed is a scenario: the accounts, their IAM state and CloudTrail events,
// the organization, the default caller and the faults to inject. It is read
// from JSON (LoadSeed) or built in Go by tests.
type Seed struct {
	// Partition of every ARN the emulator writes: aws (default), aws-us-gov, aws-cn.
	Partition string `json:"partition,omitempty"`
	// Caller is who a request signed with an unknown access key id is: the
	// identity of whatever static credentials the client uses. Default: the
	// user "bks-admin" of the first account.
	Caller *SeedCaller `json:"caller,omitempty"`
	// Accounts, the first being the default one.
	Accounts []*Account `json:"accounts"`
	// Organization, when the scenario has one.
	Organization *Organization `json:"organization,omitempty"`
	// Faults injected from the start (see Fault).
	Faults []Fault `json:"faults,omitempty"`
	// PageSize caps every list page (default 100, like IAM's default MaxItems).
	PageSize int `json:"page_size,omitempty"`
	// MarkerTTL is how long a paging token (Marker, NextToken) stays
	// valid on the emulator's clock (default 15 minutes). AWS documents no
	// lifetime; the emulator gives one so that a stale token is answered
	// as AWS answers an invalid one.
	MarkerTTL Duration `json:"marker_ttl,omitempty"`
}

// SeedCaller names the identity behind unknown access key ids.
type SeedCaller struct {
	Account string `json:"account"`
	// ARN of the caller, e.g. arn:aws:iam::111122223333:user/admin.
	ARN string `json:"arn,omitempty"`
	// AttachedPolicies and InlinePolicies are the caller's identity
	// policies when its ARN names no seeded user. Both empty: the caller
	// has AdministratorAccess.
	AttachedPolicies []string          `json:"attached_policies,omitempty"`
	InlinePolicies   map[string]string `json:"inline_policies,omitempty"`
}

// Organization is the AWS Organizations view: its management account and
// member accounts (whose IAM state lives in Seed.Accounts by id).
type Organization struct {
	ID                string           `json:"id,omitempty"`
	ManagementAccount string           `json:"management_account"`
	Accounts          []*OrgAccountRef `json:"accounts"`
	// SCPs attached in the organization (see authz.go).
	SCPs []*SCP `json:"scps,omitempty"`
	// DelegatedAdministrators are member accounts registered as delegated
	// administrator for some service: they may list and describe the
	// organization's accounts, as the management account may
	// (https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html).
	DelegatedAdministrators []string `json:"delegated_administrators,omitempty"`
}

// OrgAccountRef is one entry of organizations:ListAccounts.
type OrgAccountRef struct {
	ID     string    `json:"id"`
	Name   string    `json:"name,omitempty"`
	Email  string    `json:"email,omitempty"`
	Status string    `json:"status,omitempty"` // ACTIVE (default), SUSPENDED, PENDING_CLOSURE
	Joined time.Time `json:"joined,omitzero"`
}

// Account is the state of one AWS account.
type Account struct {
	ID     string   `json:"id"`
	Alias  string   `json:"alias,omitempty"`
	Users  []*User  `json:"users,omitempty"`
	Groups []*Group `json:"groups,omitempty"`
	Roles  []*Role  `json:"roles,omitempty"`
	// NoOrgRole leaves out the OrganizationAccountAccessRole that member
	// accounts of the organization otherwise get, so AssumeRole into the
	// account fails with AccessDenied as it does in AWS.
	NoOrgRole bool `json:"no_org_role,omitempty"`
	// Events are the CloudTrail event history (every region).
	Events []*Event `json:"events,omitempty"`
	// Regions enabled in the account (default: a few commercial regions).
	Regions []string `json:"regions,omitempty"`
	// Costs are the Cost Explorer data (costexplorer.go).
	Costs []*Cost `json:"costs,omitempty"`

	// virtualMFA holds virtual MFA devices by serial number, whether
	// assigned to a user or not (deactivation does not delete them).
	virtualMFA map[string]bool
}

// User is an IAM user and everything that can hang on it.
type User struct {
	Name                string            `json:"name"`
	Path                string            `json:"path,omitempty"`
	ID                  string            `json:"id,omitempty"`
	Created             time.Time         `json:"created,omitzero"`
	PasswordLastUsed    *time.Time        `json:"password_last_used,omitempty"`
	PermissionsBoundary string            `json:"permissions_boundary,omitempty"`
	ServiceCredentials  []*ServiceCred    `json:"service_credentials,omitempty"`
	AccessKeys          []*AccessKey      `json:"access_keys,omitempty"`
	LoginProfile        *LoginProfile     `json:"login_profile,omitempty"`
	MFADevices          []*MFADevice      `json:"mfa_devices,omitempty"`
	SigningCertificates []*Certificate    `json:"signing_certificates,omitempty"`
	SSHPublicKeys       []*SSHKey         `json:"ssh_public_keys,omitempty"`
	Groups              []string          `json:"groups,omitempty"`
	AttachedPolicies    []string          `json:"attached_policies,omitempty"` // policy ARNs
	InlinePolicies      map[string]string `json:"inline_policies,omitempty"`   // name -> JSON document
	Tags                map[string]string `json:"tags,omitempty"`              // key -> value (TagUser, ListUserTags)
}

// ServiceCred is a service-specific credential (a Bedrock API key when the
// service is bedrock.amazonaws.com).
type ServiceCred struct {
	ID      string     `json:"id,omitempty"`
	Service string     `json:"service,omitempty"` // default bedrock.amazonaws.com
	Status  string     `json:"status,omitempty"`  // Active (default), Inactive, Expired
	Created time.Time  `json:"created,omitzero"`
	Expires *time.Time `json:"expires,omitempty"` // nil: never expires
	// Secret is the whole key as returned once at creation (ABSK… for
	// Bedrock). Generated when empty; the Bedrock endpoint accepts it.
	Secret string `json:"secret,omitempty"`
}

// AccessKey is an IAM access key.
type AccessKey struct {
	ID              string     `json:"id,omitempty"`
	Status          string     `json:"status,omitempty"` // Active (default), Inactive
	Created         time.Time  `json:"created,omitzero"`
	LastUsed        *time.Time `json:"last_used,omitempty"`
	LastUsedService string     `json:"last_used_service,omitempty"`
	LastUsedRegion  string     `json:"last_used_region,omitempty"`
}

// LoginProfile is a console password.
type LoginProfile struct {
	Created       time.Time `json:"created,omitzero"`
	ResetRequired bool      `json:"reset_required,omitempty"`
}

// MFADevice is an MFA device assigned to a user.
type MFADevice struct {
	Serial  string    `json:"serial"`
	Virtual bool      `json:"virtual,omitempty"`
	Enabled time.Time `json:"enabled,omitzero"`
}

// Certificate is an X.509 signing certificate.
type Certificate struct {
	ID       string    `json:"id"`
	Status   string    `json:"status,omitempty"`
	Uploaded time.Time `json:"uploaded,omitzero"`
}

// SSHKey is an SSH public key (CodeCommit).
type SSHKey struct {
	ID       string    `json:"id"`
	Status   string    `json:"status,omitempty"`
	Uploaded time.Time `json:"uploaded,omitzero"`
}

// Group is an IAM group.
type Group struct {
	Name    string    `json:"name"`
	ID      string    `json:"id,omitempty"`
	Created time.Time `json:"created,omitzero"`
}

// Role is an IAM role.
type Role struct {
	Name             string            `json:"name"`
	Path             string            `json:"path,omitempty"`
	ID               string            `json:"id,omitempty"`
	Created          time.Time         `json:"created,omitzero"`
	AssumeRolePolicy string            `json:"assume_role_policy,omitempty"`
	InlinePolicies   map[string]string `json:"inline_policies,omitempty"`
	AttachedPolicies []string          `json:"attached_policies,omitempty"`
}

// Event is one CloudTrail management event.
type Event struct {
	ID          string    `json:"id,omitempty"`
	Region      string    `json:"region,omitempty"` // default us-east-1
	Time        time.Time `json:"time"`
	Name        string    `json:"name"`
	Source      string    `json:"source,omitempty"` // e.g. bedrock.amazonaws.com
	Username    string    `json:"username,omitempty"`
	AccessKeyID string    `json:"access_key_id,omitempty"`
	ReadOnly    bool      `json:"read_only,omitempty"`
	SourceIP    string    `json:"source_ip,omitempty"`
	UserAgent   string    `json:"user_agent,omitempty"`
	// IdentityType is userIdentity.type (IAMUser default, AssumedRole, Root).
	IdentityType string `json:"identity_type,omitempty"`
	// IdentityARN is userIdentity.arn (derived from Username when empty).
	IdentityARN string `json:"identity_arn,omitempty"`
	// AdditionalEventData, RequestParameters and ErrorCode are copied into
	// the CloudTrailEvent document.
	AdditionalEventData map[string]any  `json:"additional_event_data,omitempty"`
	RequestParameters   map[string]any  `json:"request_parameters,omitempty"`
	ResponseElements    map[string]any  `json:"response_elements,omitempty"`
	ErrorCode           string          `json:"error_code,omitempty"`
	Resources           []EventResource `json:"resources,omitempty"`
}

// EventResource is a resource named by an event.
type EventResource struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// LoadSeed reads a scenario from a JSON file. Unknown fields are errors, so
// a typo in a scenario does not silently change what it seeds.
func LoadSeed(path string) (*Seed, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load seed: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	var s Seed
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("load seed %s: %w", path, err)
	}
	return &s, nil
}

// state is the whole emulated world. Guarded by Server.mu.
type state struct {
	partition string
	accounts  map[string]*Account
	order     []string // account ids, seed order
	org       *Organization
	caller    SeedCaller
	sessions  map[string]*session // access key id -> AssumeRole session
	pageSize  int
	seq       uint64
	started   time.Time // the issue time of the seed caller's session, if it is one
	markerTTL time.Duration
}

// session is what AssumeRole issued.
type session struct {
	account string
	arn     string
	role    string
	issued  time.Time
	expires time.Time
}

const orgRole = "OrganizationAccountAccessRole"

var defaultRegions = []string{"us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1"}

func newState(seed *Seed, now time.Time) (*state, error) {
	st := &state{
		partition: seed.Partition,
		accounts:  map[string]*Account{},
		org:       seed.Organization,
		sessions:  map[string]*session{},
		pageSize:  seed.PageSize,
		started:   now,
		markerTTL: seed.MarkerTTL.D(),
	}
	if st.markerTTL <= 0 {
		st.markerTTL = 15 * time.Minute
	}
	if st.partition == "" {
		st.partition = "aws"
	}
	if st.pageSize <= 0 {
		st.pageSize = 100
	}
	for _, a := range seed.Accounts {
		if !validAccount(a.ID) {
			return nil, fmt.Errorf("seed: account id %q is not 12 digits", a.ID)
		}
		if _, dup := st.accounts[a.ID]; dup {
			return nil, fmt.Errorf("seed: account %s listed twice", a.ID)
		}
		st.accounts[a.ID] = a
		st.order = append(st.order, a.ID)
	}
	if st.org != nil {
		if !validAccount(st.org.ManagementAccount) {
			return nil, fmt.Errorf("seed: organization management account %q is not 12 digits", st.org.ManagementAccount)
		}
		if st.org.ID == "" {
			st.org.ID = "o-emu0example"
		}
		for _, ref := range st.org.Accounts {
			if !validAccount(ref.ID) {
				return nil, fmt.Errorf("seed: organization account %q is not 12 digits", ref.ID)
			}
			if ref.Status == "" {
				ref.Status = "ACTIVE"
			}
			if ref.Name == "" {
				ref.Name = "account-" + ref.ID
			}
			if ref.Email == "" {
				ref.Email = "aws+" + ref.ID + "@example.com"
			}
			if ref.Joined.IsZero() {
				ref.Joined = now.AddDate(-1, 0, 0)
			}
			if _, ok := st.accounts[ref.ID]; !ok {
				st.accounts[ref.ID] = &Account{ID: ref.ID}
				st.order = append(st.order, ref.ID)
			}
			a := st.accounts[ref.ID]
			if ref.ID != st.org.ManagementAccount && !a.NoOrgRole && findRole(a, orgRole) == nil {
				// AWS creates it with AdministratorAccess attached.
				a.Roles = append(a.Roles, &Role{Name: orgRole, AttachedPolicies: []string{administratorAccess(st.partition)},
					AssumeRolePolicy: orgRoleTrust(st.partition, st.org.ManagementAccount)})
			}
		}
	}
	if len(st.order) == 0 {
		return nil, fmt.Errorf("seed: no account")
	}
	if seed.Caller != nil {
		st.caller = *seed.Caller
	}
	if st.caller.Account == "" {
		st.caller.Account = st.order[0]
	}
	if _, ok := st.accounts[st.caller.Account]; !ok {
		return nil, fmt.Errorf("seed: caller account %s is not seeded", st.caller.Account)
	}
	if st.caller.ARN == "" {
		st.caller.ARN = fmt.Sprintf("arn:%s:iam::%s:user/bks-admin", st.partition, st.caller.Account)
	}
	for _, id := range st.order {
		if err := st.normalize(st.accounts[id], now); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func validAccount(id string) bool {
	if len(id) != 12 {
		return false
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// normalize fills defaults and ids so the seed can stay short.
func (st *state) normalize(a *Account, now time.Time) error {
	if len(a.Regions) == 0 {
		a.Regions = defaultRegions
	}
	if a.virtualMFA == nil {
		a.virtualMFA = map[string]bool{}
	}
	seen := map[string]bool{}
	for _, g := range a.Groups {
		if g.ID == "" {
			g.ID = st.newID("AGPA", a.ID)
		}
		if g.Created.IsZero() {
			g.Created = now.AddDate(0, -6, 0)
		}
	}
	for _, r := range a.Roles {
		if r.AssumeRolePolicy != "" {
			if err := validTrust(r.AssumeRolePolicy); err != nil {
				return fmt.Errorf("seed: account %s: role %s: assume_role_policy: %w", a.ID, r.Name, err)
			}
		}
		if r.ID == "" {
			r.ID = st.newID("AROA", a.ID)
		}
		if r.Path == "" {
			r.Path = "/"
		}
		if r.Created.IsZero() {
			r.Created = now.AddDate(-1, 0, 0)
		}
	}
	for _, u := range a.Users {
		if u.Name == "" {
			return fmt.Errorf("seed: account %s: a user has no name", a.ID)
		}
		if seen[u.Name] {
			return fmt.Errorf("seed: account %s: user %s listed twice", a.ID, u.Name)
		}
		seen[u.Name] = true
		st.normalizeUser(a, u, now)
	}
	for _, e := range a.Events {
		if e.ID == "" {
			e.ID = fmt.Sprintf("%08x-0000-4000-8000-%012x", st.next(), st.next())
		}
		if e.Region == "" {
			e.Region = "us-east-1"
		}
		if e.Source == "" {
			e.Source = "iam.amazonaws.com"
		}
	}
	return nil
}

func (st *state) normalizeUser(a *Account, u *User, now time.Time) {
	if u.Path == "" {
		u.Path = "/"
	}
	if u.ID == "" {
		u.ID = st.newID("AIDA", a.ID)
	}
	if u.Created.IsZero() {
		u.Created = now.AddDate(0, -3, 0)
	}
	if u.InlinePolicies == nil {
		u.InlinePolicies = map[string]string{}
	}
	for _, c := range u.ServiceCredentials {
		if c.ID == "" {
			c.ID = st.newID("ACCA", a.ID)
		}
		if c.Service == "" {
			c.Service = bedrockService
		}
		if c.Status == "" {
			c.Status = "Active"
		}
		if c.Created.IsZero() {
			c.Created = u.Created
		}
		if c.Secret == "" {
			c.Secret = st.newServiceSecret(u.Name, a.ID, c.Service)
		}
	}
	for _, k := range u.AccessKeys {
		if k.ID == "" {
			k.ID = st.newID("AKIA", a.ID)
		}
		if k.Status == "" {
			k.Status = "Active"
		}
		if k.Created.IsZero() {
			k.Created = u.Created
		}
	}
	for _, g := range u.Groups {
		if findGroup(a, g) == nil {
			a.Groups = append(a.Groups, &Group{Name: g, ID: st.newID("AGPA", a.ID), Created: now.AddDate(0, -6, 0)})
		}
	}
	if u.LoginProfile != nil && u.LoginProfile.Created.IsZero() {
		u.LoginProfile.Created = u.Created
	}
	for _, m := range u.MFADevices {
		if m.Serial == "" {
			m.Serial = fmt.Sprintf("arn:%s:iam::%s:mfa/%s", st.partition, a.ID, u.Name)
			m.Virtual = true
		}
		if m.Enabled.IsZero() {
			m.Enabled = u.Created
		}
		if m.Virtual {
			a.virtualMFA[m.Serial] = true
		}
	}
	for _, c := range u.SigningCertificates {
		if c.Status == "" {
			c.Status = "Active"
		}
		if c.Uploaded.IsZero() {
			c.Uploaded = u.Created
		}
	}
	for _, k := range u.SSHPublicKeys {
		if k.Status == "" {
			k.Status = "Active"
		}
		if k.Uploaded.IsZero() {
			k.Uploaded = u.Created
		}
	}
}

const bedrockService = "bedrock.amazonaws.com"

func (st *state) next() uint64 {
	st.seq++
	return st.seq
}

// newID makes an IAM unique id / key id with the given prefix that encodes
// the account the way real ones do.
func (st *state) newID(prefix, account string) string {
	return newKeyID(prefix, account, st.next())
}

func (st *state) newServiceSecret(user, account, service string) string {
	seq := st.next()
	if service == bedrockService {
		return longTermKey(user, account, seq)
	}
	return fmt.Sprintf("emu-secret-%s-%d", account, seq)
}

func findUser(a *Account, name string) *User {
	for _, u := range a.Users {
		if strings.EqualFold(u.Name, name) {
			return u
		}
	}
	return nil
}

func findGroup(a *Account, name string) *Group {
	for _, g := range a.Groups {
		if strings.EqualFold(g.Name, name) {
			return g
		}
	}
	return nil
}

func findRole(a *Account, name string) *Role {
	for _, r := range a.Roles {
		if strings.EqualFold(r.Name, name) {
			return r
		}
	}
	return nil
}

func sortedUsers(a *Account) []*User {
	us := append([]*User(nil), a.Users...)
	sort.Slice(us, func(i, j int) bool { return us[i].Name < us[j].Name })
	return us
}

func removeString(list []string, v string) ([]string, bool) {
	for i, s := range list {
		if s == v {
			return append(list[:i:i], list[i+1:]...), true
		}
	}
	return list, false
}
