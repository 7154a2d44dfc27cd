package detectors

import (
	"encoding/base64"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Service is an AWS service whose API keys bks knows. Every consumer that
// acts on a key's service (revoke, triage, verify, rule decoders) reads it
// from here.
type Service struct {
	// Name is the key's service as in Key.Service and a TOML rule's
	// decoder: "bedrock".
	Name string
	// Title names it for people: "Bedrock".
	Title string
	// Host is the service endpoint: the host a short-term key's presigned
	// URL names, and the IAM service name of the service-specific
	// credentials that long-term keys are (what revoke deletes).
	Host string
	// DenyActions are the IAM actions revoke denies the user of a leaked
	// long-term key.
	DenyActions []string
	// LiveCheck says whether verify can check its keys live (Bedrock's
	// ListFoundationModels); without it verify answers "no live check for
	// <Name> keys", offline.
	LiveCheck bool
}

// SARIFText describes a family's rule in SARIF output.
type SARIFText struct {
	Name  string // PascalCase rule name
	Short string // shortDescription
	Full  string // fullDescription
	Help  string // what to do, plain text that is also valid Markdown
	Tags  []string
}

// Family is one kind of key: everything bks knows about it, in one place.
// The engine detects it, Decode and Identify recognize it, findings redact
// and fingerprint it by its rule, and the rules list, SARIF rules, GitHub
// code search, verify, revoke and triage all read it from Families.
type Family struct {
	// Rule is the rule id findings carry.
	Rule string
	// Prefix starts every key of the family.
	Prefix string
	// Service the key is for.
	Service *Service
	// Long: a long-term key, Prefix + base64("<name>-at-<account>:<secret>").
	// Otherwise a short-term key, Prefix + base64 of a presigned URL of
	// Service.Host (ending in "&Version=1").
	Long bool
	// SecretLen is, for a long-term family, the length of the secret AWS
	// issues: standard base64 (with padding) of that many characters. A key
	// whose secret has another shape is cut or made up: it is reported as
	// partial (Key.PartialReason). 0 checks no shape.
	SecretLen int
	// ConsoleName starts the IAM user name of the long-term keys the
	// console makes ("BedrockAPIKey-"); the engine also looks for it, so
	// that a line break inside Prefix in a wrapped block does not hide such
	// a key (see bodyStart). Empty for short-term families, whose bodies
	// start with Service.Host.
	ConsoleName string
	// PairOffset is where in Prefix the engine's pair filter looks: pick
	// byte pairs rare in source text.
	PairOffset int
	// Description is the rule's text in `bks rules list` and `rules show`.
	Description string
	// SARIF describes the rule in SARIF output.
	SARIF SARIFText
	// SearchTerms find its keys with GitHub code search, which matches
	// whole tokens: a hyphenated prefix, the fixed start of console-made
	// keys, an environment variable keys are stored in.
	SearchTerms []string
}

// issuedSecret says whether secret has the shape the family's secrets are
// issued in (see SecretLen).
func (f *Family) issuedSecret(secret []byte) bool {
	if f.SecretLen == 0 {
		return true
	}
	if len(secret) != f.SecretLen {
		return false
	}
	var buf [64]byte // holds the 44 bytes of AWS's 60-character secrets
	dst := buf[:]
	if n := base64.StdEncoding.DecodedLen(len(secret)); n > len(buf) {
		dst = make([]byte, n)
	}
	_, err := base64.StdEncoding.Decode(dst, secret)
	return err == nil
}

// bodyStart is the text most of the family's keys encode first, right
// after Prefix: a console-made long-term key's user name, or a short-term
// key's presigned URL host. Empty when there is none.
func (f *Family) bodyStart() string {
	if f.Long {
		return f.ConsoleName
	}
	return f.Service.Host + "/?"
}

// Type is the key type its keys decode to (TypeLongTerm or TypeShortTerm).
func (f *Family) Type() string {
	if f.Long {
		return TypeLongTerm
	}
	return TypeShortTerm
}

// The services of the built-in families.
var (
	Bedrock = &Service{
		Name: ServiceBedrock, Title: "Bedrock", Host: "bedrock.amazonaws.com",
		DenyActions: []string{"bedrock:*", "bedrock-mantle:*"},
		LiveCheck:   true,
	}
	ClaudePlatform = &Service{
		Name: ServiceClaudePlatform, Title: "Claude Platform", Host: "aws-external-anthropic.amazonaws.com",
		DenyActions: []string{"bedrock:*", "bedrock-mantle:*", "aws-external-anthropic:*"},
	}
)

// PhantomUserPrefix starts the name of the IAM user the Bedrock console
// creates for a long-term key ("BedrockAPIKey-xxxx"): the "phantom" users
// awsops/iamscan finds and revoke tells apart from ordinary users.
const PhantomUserPrefix = "BedrockAPIKey-"

// consoleSecretLen is the secret of every long-term key AWS issues (console
// or CreateServiceSpecificCredential): base64 of 44 random bytes, 60
// characters ending in "=" (docs/KEYS.md, testdata/keys.json).
const consoleSecretLen = 60

var builtinFamilies = []Family{
	{
		Rule: RuleLongTerm, Prefix: PrefixLongTerm, Service: Bedrock, Long: true,
		SecretLen: consoleSecretLen, ConsoleName: PhantomUserPrefix,
		Description: "Amazon Bedrock long-term API key (ABSK…): an IAM service-specific credential; decodes to account, IAM user and user ARN",
		SARIF: SARIFText{
			Name:  "BedrockLongTermAPIKey",
			Short: "Amazon Bedrock long-term API key",
			Full:  "An Amazon Bedrock long-term API key (ABSK…): a service-specific credential of an IAM user, valid until it is deleted. It names its AWS account and IAM user.",
			Help:  "Treat the key as compromised. Deny bedrock:* and bedrock-mantle:* on the IAM user it names, delete the user's Bedrock service-specific credentials, review the user's activity in CloudTrail, then remove the key from the code and its history (`bks revoke-key`, `bks timeline`).",
			Tags:  []string{"aws", "bedrock"},
		},
		SearchTerms: []string{"ABSKQmVkcm9ja0FQSUtleS", "AWS_BEARER_TOKEN_BEDROCK"},
	},
	{
		Rule: RuleShortTerm, Prefix: PrefixShortTerm, Service: Bedrock,
		PairOffset:  10, // "i-", "-k", "ke"
		Description: "Amazon Bedrock short-term API key (bedrock-api-key-…): a presigned SigV4 URL; decodes to access key id, account, region and expiry",
		SARIF: SARIFText{
			Name:  "BedrockShortTermAPIKey",
			Short: "Amazon Bedrock short-term API key",
			Full:  "An Amazon Bedrock short-term API key (bedrock-api-key-…): a presigned request valid for up to 12 hours in one region, signed by the session or user that issued it.",
			Help:  "A short-term key cannot be deleted. If it has not expired and was signed with temporary credentials, deny sessions issued before now (aws:TokenIssueTime) on the role or user that issued it, found through CloudTrail by its access key id; if it was signed with an IAM user's access key (AKIA…), deactivate that access key, since aws:TokenIssueTime does not apply to it; then remove the key from the code and its history (`bks revoke-key`).",
			Tags:  []string{"aws", "bedrock"},
		},
		SearchTerms: []string{"bedrock-api-key", "AWS_BEARER_TOKEN_BEDROCK"},
	},
	{
		Rule: RuleClaudeLongTerm, Prefix: PrefixClaudeLongTerm, Service: ClaudePlatform, Long: true,
		SecretLen: consoleSecretLen, ConsoleName: "AeaApiKey-",
		Description: "Claude Platform on AWS long-term API key (AEAA…); decodes to account and key id",
		SARIF: SARIFText{
			Name:  "ClaudePlatformLongTermAPIKey",
			Short: "Claude Platform on AWS long-term API key",
			Full:  "A Claude Platform on AWS long-term API key (AEAA…): a service-specific credential of an IAM user, valid until it is deleted. It names its AWS account and IAM user.",
			Help:  "Treat the key as compromised. Delete the IAM user's service-specific credential, deny its use, review the user's activity in CloudTrail, then remove the key from the code and its history (`bks revoke-key`).",
			Tags:  []string{"aws", "claude-platform"},
		},
		// base64("AeaApiKey-"): the fixed start of console-made keys.
		SearchTerms: []string{"AEAAQWVhQXBpS2V5L"},
	},
	{
		Rule: RuleClaudeShortTerm, Prefix: PrefixClaudeShortTerm, Service: ClaudePlatform,
		PairOffset:  20, // "ic", "c-", "-a"
		Description: "Claude Platform on AWS short-term API key (aws-external-anthropic-api-key-…); decodes to access key id, account, region and expiry",
		SARIF: SARIFText{
			Name:  "ClaudePlatformShortTermAPIKey",
			Short: "Claude Platform on AWS short-term API key",
			Full:  "A Claude Platform on AWS short-term API key (aws-external-anthropic-api-key-…): a presigned request valid for up to 12 hours in one region, signed by the session or user that issued it.",
			Help:  "A short-term key cannot be deleted. If it has not expired and was signed with temporary credentials, deny sessions issued before now (aws:TokenIssueTime) on the role or user that issued it; if it was signed with an IAM user's access key (AKIA…), deactivate that access key; then remove the key from the code and its history (`bks revoke-key`).",
			Tags:  []string{"aws", "claude-platform"},
		},
		SearchTerms: []string{"aws-external-anthropic-api-key"},
	},
}

// table is the current family list. It is replaced, never changed in
// place, so a slice (or a *Family into it) once read stays valid.
var table struct {
	fams atomic.Pointer[[]Family]
	mu   sync.Mutex // serializes Register's swaps
}

func init() { table.fams.Store(&builtinFamilies) }

// Families returns every key family, built-in ones first in a fixed order.
// The slice must not be modified. Readers take no lock: Register swaps the
// whole slice, so the per-finding lookups (Redact, Identify) never contend.
func Families() []Family { return *table.fams.Load() }

// Register adds a family and returns a function that removes it again. It
// exists for tests (a test-only family runs through every consumer, see
// internal/familytest); the built-in families are the table above. It
// panics when the rule id or the prefix is already taken.
func Register(f Family) (unregister func()) {
	table.mu.Lock()
	defer table.mu.Unlock()
	fams := Families()
	for _, g := range fams {
		if g.Rule == f.Rule || strings.HasPrefix(f.Prefix, g.Prefix) || strings.HasPrefix(g.Prefix, f.Prefix) {
			panic("detectors: family " + f.Rule + " clashes with " + g.Rule)
		}
	}
	added := append(slices.Clip(fams), f)
	table.fams.Store(&added)
	return func() {
		table.mu.Lock()
		defer table.mu.Unlock()
		kept := slices.DeleteFunc(slices.Clone(Families()), func(g Family) bool { return g.Rule == f.Rule })
		table.fams.Store(&kept)
	}
}

// Identify answers "which family is this string": the family whose prefix
// key starts with. It does not decode the rest.
func Identify(key string) (*Family, bool) {
	fams := Families()
	for i := range fams {
		if strings.HasPrefix(key, fams[i].Prefix) {
			return &fams[i], true
		}
	}
	return nil, false
}

// Lookup returns the family of a rule id.
func Lookup(rule string) (*Family, bool) {
	fams := Families()
	for i := range fams {
		if fams[i].Rule == rule {
			return &fams[i], true
		}
	}
	return nil, false
}

// Services returns the services of the families, each once, in order.
func Services() []*Service {
	var out []*Service
	for _, f := range Families() {
		if !slices.Contains(out, f.Service) {
			out = append(out, f.Service)
		}
	}
	return out
}

// ServiceNamed returns the service whose Name is name (Key.Service).
func ServiceNamed(name string) (*Service, bool) {
	for _, s := range Services() {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// ServiceAt returns the service whose endpoint is host (Service.Host).
func ServiceAt(host string) (*Service, bool) {
	for _, s := range Services() {
		if s.Host == host {
			return s, true
		}
	}
	return nil, false
}

// SearchTerms returns every family's GitHub code search terms, each once.
func SearchTerms() []string {
	var out []string
	for _, f := range Families() {
		for _, t := range f.SearchTerms {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}
