// Package scp holds bks's service control policies for Bedrock API keys and
// renders them for a partition, as JSON or as Terraform.
//
// The set corrects the original toolkit's (see docs/SCP.md): both bearer
// token endpoints (bedrock and bedrock-mantle) are covered, the maximum-age
// policy also denies keys that never expire, phantom users cannot gain
// inline or extra managed policies, creating BedrockAPIKey-* users and
// attaching AmazonBedrockLimitedAccess can be blocked, and every ARN is
// written for the target partition (aws, aws-us-gov, aws-cn).
package scp

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/bks-dev/bks/detectors"
)

//go:embed policies/*.json
var policyFS embed.FS

// DefaultMaxAgeDays is the maximum key age enforce-max-key-age allows
// unless told otherwise.
const DefaultMaxAgeDays = 90

// MaxSCPSize is the largest policy document AWS Organizations accepts for a
// service control policy, in characters (white space counts, so bks
// minifies before checking).
const MaxSCPSize = 5120

// Policy describes one SCP of the set.
type Policy struct {
	// Name is the stable identifier, e.g. "deny-all-api-keys".
	Name string
	// Summary is one line for `bks scp list`.
	Summary string
	// Effect says what the policy breaks, for people rolling it out.
	Breaks   string
	template string
}

// Options choose how a policy is rendered.
type Options struct {
	// Partition of every ARN: aws (default), aws-us-gov or aws-cn (any
	// aws-iso* partition is accepted too).
	Partition string
	// MaxAgeDays for enforce-max-key-age (default 90).
	MaxAgeDays int
	// BreakGlass are the principal ARN patterns (aws:PrincipalArn,
	// ArnNotLike) exempt from the policies that deny IAM changes on
	// phantom users, so an incident responder can still put a deny on
	// one (default DefaultBreakGlass). "{{partition}}" is filled in.
	BreakGlass []string
}

// DefaultBreakGlass is the break-glass principal the phantom-user policies
// exempt unless told otherwise: a dedicated responder role in any account
// of the organization. An SCP binds every principal of a member account,
// administrators and OrganizationAccountAccessRole included
// (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html),
// so without an exemption `bks revoke-key` cannot write its deny on a
// phantom user. aws:PrincipalArn is the role's ARN, not the session's
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
var DefaultBreakGlass = []string{"arn:{{partition}}:iam::*:role/bks-responder"}

// ExemptsBreakGlass reports whether the policy exempts the break-glass
// principals.
func (p Policy) ExemptsBreakGlass() bool { return strings.Contains(p.template, "{{break_glass}}") }

// ValidBreakGlass checks a break-glass principal pattern as written by a
// user (a flag, .bks.toml): an ARN pattern, "{{partition}}" allowed.
func ValidBreakGlass(pattern string) error {
	return checkBreakGlass(strings.ReplaceAll(pattern, "{{partition}}", "aws"))
}

// checkBreakGlass accepts printable ASCII only, as IAM ARNs are: a pattern
// may come from a scanned repository's .bks.toml and is printed.
func checkBreakGlass(a string) error {
	ascii := true
	for _, r := range a {
		ascii = ascii && r > 0x20 && r < 0x7f
	}
	if !strings.HasPrefix(a, "arn:") || !ascii || strings.ContainsAny(a, "\"{}") || len(a) > 2048 {
		return fmt.Errorf("break-glass principal %q is not an ARN pattern", a)
	}
	if namesEveryone(a) {
		return fmt.Errorf("break-glass principal %q matches every role or user: the SCP would protect nothing; name the responder's role (or a path of roles)", a)
	}
	return nil
}

// namesEveryone: the pattern's resource (after the fifth colon) has no
// type, or a name of wildcards and slashes only, so aws:PrincipalArn
// ArnNotLike it exempts every principal of an account (or of all).
func namesEveryone(a string) bool {
	parts := strings.SplitN(a, ":", 6)
	if len(parts) < 6 {
		return true
	}
	typ, name, ok := strings.Cut(parts[5], "/")
	if !ok || strings.Trim(typ, "*?") == "" {
		return true
	}
	return strings.Trim(name, "*?/") == ""
}

// breakGlassJSON renders the exempt principals for partition as a JSON
// string (one) or list.
func breakGlassJSON(arns []string, partition string) (string, error) {
	if len(arns) == 0 {
		arns = DefaultBreakGlass
	}
	var out []string
	for _, a := range arns {
		a = strings.ReplaceAll(a, "{{partition}}", partition)
		if err := checkBreakGlass(a); err != nil {
			return "", err
		}
		out = append(out, a)
	}
	b, err := json.Marshal(StringOrList(out))
	return string(b), err
}

var catalog = []Policy{
	{
		Name:    "deny-all-api-keys",
		Summary: "Deny creating Bedrock API keys and calling Bedrock or Bedrock Mantle with any API key (long- or short-term)",
		Breaks:  "every use of Bedrock API keys; SigV4-signed Bedrock calls keep working",
	},
	{
		Name:    "deny-long-term-api-keys",
		Summary: "Deny creating long-term Bedrock API keys and calling Bedrock or Bedrock Mantle with one; short-term keys keep working",
		Breaks:  "long-term (ABSK…) keys and their creation",
	},
	{
		Name:    "enforce-max-key-age",
		Summary: "Deny creating long-term Bedrock API keys that live longer than the maximum age, or never expire",
		Breaks:  "creating keys with no expiry or an expiry beyond the maximum age",
	},
	{
		Name:    "protect-phantom-users",
		Summary: "Deny access keys, console passwords, MFA devices, certificates, SSH keys, inline policies and extra managed policies on BedrockAPIKey-* users",
		Breaks:  "anything that turns a console key's phantom user into a general-purpose identity",
	},
	{
		Name:    "block-phantom-user-creation",
		Summary: "Deny creating BedrockAPIKey-* users and attaching AmazonBedrockLimitedAccess (the console's long-term key flow)",
		Breaks:  "long-term key creation from the Bedrock console, and AmazonBedrockLimitedAccess for any principal",
	},
}

func init() {
	for i := range catalog {
		b, err := policyFS.ReadFile("policies/" + catalog[i].Name + ".json")
		if err != nil {
			panic("scp: missing embedded policy " + catalog[i].Name)
		}
		catalog[i].template = string(b)
	}
}

// List returns the policies in their fixed order.
func List() []Policy { return append([]Policy(nil), catalog...) }

// Names returns the policy names in order.
func Names() []string {
	out := make([]string, len(catalog))
	for i, p := range catalog {
		out[i] = p.Name
	}
	return out
}

// Lookup finds a policy by name.
func Lookup(name string) (Policy, bool) {
	for _, p := range catalog {
		if p.Name == name {
			return p, true
		}
	}
	return Policy{}, false
}

// Document is an IAM policy document as bks writes it. Action, Resource
// and the condition values keep the JSON shape of the template (string or
// list), so rendering is byte-stable.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one policy statement.
type Statement struct {
	Sid       string                                `json:"Sid,omitempty"`
	Effect    string                                `json:"Effect"`
	Action    StringOrList                          `json:"Action"`
	Resource  StringOrList                          `json:"Resource"`
	Condition map[string]map[string]json.RawMessage `json:"Condition,omitempty"`
}

// StringOrList is an IAM field that may be a string or a list of strings.
type StringOrList []string

// UnmarshalJSON reads "x" or ["x", "y"].
func (s *StringOrList) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		var l []string
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		*s = l
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = StringOrList{v}
	return nil
}

// MarshalJSON writes a single value as a string, more as a list.
func (s StringOrList) MarshalJSON() ([]byte, error) {
	if len(s) == 1 {
		return json.Marshal(s[0])
	}
	return json.Marshal([]string(s))
}

// ValidPartition reports whether p names an AWS partition.
func ValidPartition(p string) bool {
	_, ok := detectors.LookupPartition(p)
	return ok
}

// Render returns the policy document for opts, indented with two spaces.
func (p Policy) Render(opts Options) ([]byte, error) {
	if opts.Partition == "" {
		opts.Partition = "aws"
	}
	if !ValidPartition(opts.Partition) {
		return nil, fmt.Errorf("render SCP %s: unknown partition %q (want one of %s)", p.Name, opts.Partition, strings.Join(detectors.Partitions(), ", "))
	}
	if opts.MaxAgeDays == 0 {
		opts.MaxAgeDays = DefaultMaxAgeDays
	}
	if opts.MaxAgeDays < 1 || opts.MaxAgeDays > 36600 {
		return nil, fmt.Errorf("render SCP %s: max age %d days out of range 1..36600", p.Name, opts.MaxAgeDays)
	}
	glass, err := breakGlassJSON(opts.BreakGlass, opts.Partition)
	if err != nil {
		return nil, fmt.Errorf("render SCP %s: %w", p.Name, err)
	}
	text := strings.NewReplacer(
		"{{partition}}", opts.Partition,
		"{{max_age_days}}", strconv.Itoa(opts.MaxAgeDays),
		"{{break_glass}}", glass,
	).Replace(p.template)
	if strings.Contains(text, "{{") {
		return nil, fmt.Errorf("render SCP %s: unfilled placeholder", p.Name)
	}
	// Round-trip through Document so the output is canonical and any
	// template mistake fails here, not in AWS.
	doc, err := Parse([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("render SCP %s: %w", p.Name, err)
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render SCP %s: %w", p.Name, err)
	}
	return append(out, '\n'), nil
}

// Document returns the rendered policy as a structure.
func (p Policy) Document(opts Options) (Document, error) {
	b, err := p.Render(opts)
	if err != nil {
		return Document{}, err
	}
	return Parse(b)
}

// Parse reads a policy document strictly: unknown fields are errors.
func Parse(b []byte) (Document, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d Document
	if err := dec.Decode(&d); err != nil {
		return Document{}, fmt.Errorf("parse policy: %w", err)
	}
	if d.Version != "2012-10-17" {
		return Document{}, fmt.Errorf("parse policy: Version %q, want 2012-10-17", d.Version)
	}
	if len(d.Statement) == 0 {
		return Document{}, fmt.Errorf("parse policy: no statement")
	}
	for i, s := range d.Statement {
		if s.Effect != "Deny" && s.Effect != "Allow" {
			return Document{}, fmt.Errorf("parse policy: statement %d: Effect %q", i, s.Effect)
		}
		if len(s.Action) == 0 || len(s.Resource) == 0 {
			return Document{}, fmt.Errorf("parse policy: statement %d: no Action or Resource", i)
		}
	}
	return d, nil
}

// Minify returns the compact form AWS counts against MaxSCPSize.
func Minify(doc []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, doc); err != nil {
		return nil, fmt.Errorf("minify policy: %w", err)
	}
	return buf.Bytes(), nil
}

// ConditionKeys returns every condition key the document uses, sorted,
// as "Operator:key" pairs.
func (d Document) ConditionKeys() []string {
	var out []string
	for _, s := range d.Statement {
		for op, kv := range s.Condition {
			for k := range kv {
				out = append(out, op+":"+k)
			}
		}
	}
	sort.Strings(out)
	return out
}
