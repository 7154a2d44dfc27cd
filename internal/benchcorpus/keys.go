package benchcorpus

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/internal/testkeys"
)

// Key variants planted in the corpus: every form AWS issues.
const (
	VariantLongTermConsole   = "long-term-console"   // BedrockAPIKey-xxxx user, 132 chars
	VariantLongTermAPI       = "long-term-api"       // CreateServiceSpecificCredential on any IAM user
	VariantLongTermSecondary = "long-term-secondary" // "+<digits>" second-key marker
	VariantShortTermAKIA     = "short-term-akia"     // no session token
	VariantShortTermASIA     = "short-term-asia"     // STS session token, 1–2.5 KB
	VariantShortTermConsole  = "short-term-console"  // console parameter order
	VariantClaudeLongTerm    = "claude-long-term"
	VariantClaudeShortTerm   = "claude-short-term"
)

var variants = []string{
	VariantLongTermConsole, VariantLongTermAPI, VariantLongTermSecondary,
	VariantShortTermAKIA, VariantShortTermASIA, VariantShortTermConsole,
	VariantClaudeLongTerm, VariantClaudeShortTerm,
}

// IAM user names of API-created keys: any IAM name, including ones that
// themselves contain "-at-" or a '+' that is not a key marker.
var apiUsers = []string{
	"ci-deployer", "svc.bedrock@prod", "data_pipeline", "bob-at-home",
	"team+eng", "ml=ops,batch", "a", "github-actions-oidc-runner-role-user",
	"etl.nightly", "x-at-123456789012-y", "research_agent_01",
	"a-very-long-iam-user-name-that-is-still-valid-under-sixty-four-c",
}

var regions = []string{
	"us-east-1", "us-west-2", "eu-central-1", "eu-west-3", "ap-northeast-1",
	"ap-southeast-2", "ca-central-1", "sa-east-1", "us-gov-west-1",
}

func account(r *rand.Rand) string {
	// 12 digits; the first is not 0 so that it survives any int parsing.
	return fmt.Sprintf("%012d", 100000000000+r.Int64N(899999999999))
}

var issuedBase = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)

// makeKey builds a key of variant v from r. It returns the key and its rule.
func makeKey(v string, r *rand.Rand) (key, rule string) {
	seed := r.Uint64()
	acct := account(r)
	switch v {
	case VariantLongTermConsole:
		return testkeys.LongTerm(testkeys.ConsoleUser(seed), acct, testkeys.Secret(seed)), detectors.RuleLongTerm
	case VariantLongTermAPI:
		return testkeys.LongTerm(apiUsers[r.IntN(len(apiUsers))], acct, testkeys.Secret(seed)), detectors.RuleLongTerm
	case VariantLongTermSecondary:
		return testkeys.LongTerm(apiUsers[r.IntN(len(apiUsers))]+fmt.Sprintf("+%d", 1+r.IntN(3)), acct, testkeys.Secret(seed)), detectors.RuleLongTerm
	case VariantClaudeLongTerm:
		return testkeys.ClaudeLongTerm(fmt.Sprintf("%08x", uint32(seed)), acct, testkeys.Secret(seed)), detectors.RuleClaudeLongTerm
	}
	o := testkeys.ShortTermOptions{
		SecretKey: testkeys.Secret(seed)[:40],
		Region:    regions[r.IntN(len(regions))],
		Issued:    issuedBase.Add(time.Duration(r.IntN(400*24*3600)) * time.Second),
		Expires:   []int{43200, 3600, 900, 12 * 3600, 1 + r.IntN(43200)}[r.IntN(5)],
	}
	rule = detectors.RuleShortTerm
	switch v {
	case VariantShortTermAKIA:
		o.AccessKeyID = testkeys.AccessKeyID("AKIA", acct, seed)
	case VariantShortTermASIA:
		o.AccessKeyID = testkeys.AccessKeyID("ASIA", acct, seed)
		o.SessionToken = testkeys.SessionToken(acct, 600+r.IntN(1200), seed)
	case VariantShortTermConsole:
		o.AccessKeyID = testkeys.AccessKeyID("ASIA", acct, seed)
		o.SessionToken = testkeys.SessionToken(acct, 600+r.IntN(1200), seed)
		o.Order = "console"
	case VariantClaudeShortTerm:
		o.Host = "aws-external-anthropic.amazonaws.com"
		o.AccessKeyID = testkeys.AccessKeyID("ASIA", acct, seed)
		o.SessionToken = testkeys.SessionToken(acct, 600+r.IntN(1200), seed)
		rule = detectors.RuleClaudeShortTerm
	default:
		panic("benchcorpus: unknown variant " + v)
	}
	return testkeys.ShortTerm(o), rule
}

// makePaddedKey is makeKey for places that need '=' padding (percent-encoded
// padding, padding stripped).
func makePaddedKey(v string, r *rand.Rand) (key, rule string) {
	for range 200 {
		key, rule = makeKey(v, r)
		if strings.HasSuffix(key, "=") {
			return key, rule
		}
	}
	panic("benchcorpus: no padded key of variant " + v)
}

// Decoy classes: text that looks like a key to a careless scanner but does
// not decode into the structure of one, so bks must not report it.
const (
	DecoyLongTermGarbage    = "long-term-prefix-garbage"
	DecoyConsoleGarbage     = "console-prefix-garbage"
	DecoyShortTermGarbage   = "short-term-prefix-garbage"
	DecoyHostPrefixGarbage  = "short-term-host-prefix-garbage"
	DecoyTruncatedLongTerm  = "truncated-long-term"
	DecoyTruncatedShortTerm = "truncated-short-term"
	DecoyNoStructure        = "base64-without-at-account"
	DecoyWrongHost          = "short-term-wrong-host"
	DecoyWrongAction        = "short-term-wrong-action"
	DecoyWrongService       = "short-term-wrong-service"
	DecoyClaudeWrongHost    = "claude-short-term-wrong-host"
	DecoyExample            = "example-bad-structure"
	DecoyProse              = "prose"
)

var decoyClasses = []string{
	DecoyLongTermGarbage, DecoyConsoleGarbage, DecoyShortTermGarbage, DecoyHostPrefixGarbage,
	DecoyTruncatedLongTerm, DecoyTruncatedShortTerm, DecoyNoStructure, DecoyWrongHost,
	DecoyWrongAction, DecoyWrongService, DecoyClaudeWrongHost, DecoyExample,
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randAlnum(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[r.IntN(len(alnum))]
	}
	return string(b)
}

// makeDecoy returns decoy text of class c: only key-alphabet characters, so
// that a template's delimiters bound it exactly as they would a key.
func makeDecoy(c string, r *rand.Rand) string {
	for range 100 {
		d := decoyCandidate(c, r)
		if !SpecValid(d) {
			return d
		}
	}
	panic("benchcorpus: cannot make an invalid decoy of class " + c)
}

func decoyCandidate(c string, r *rand.Rand) string {
	b64 := base64.StdEncoding.EncodeToString
	switch c {
	case DecoyLongTermGarbage:
		return detectors.PrefixLongTerm + randAlnum(r, 40+r.IntN(160))
	case DecoyConsoleGarbage:
		return "ABSKQmVkcm9ja0FQSUtleS" + randAlnum(r, 100+r.IntN(12))
	case DecoyShortTermGarbage:
		return detectors.PrefixShortTerm + randAlnum(r, 40+r.IntN(400))
	case DecoyHostPrefixGarbage:
		return "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t" + randAlnum(r, 60+r.IntN(300))
	case DecoyTruncatedLongTerm:
		k, _ := makeKey(variants[r.IntN(3)], r)
		// Cut before the encoded ':' so the "-at-<12 digits>:" is incomplete.
		dec, _ := base64.StdEncoding.DecodeString(k[4:])
		colon := strings.LastIndexByte(string(dec), ':')
		return k[:4+(colon/3)*4-4*r.IntN(min(3, colon/3))]
	case DecoyTruncatedShortTerm:
		k, _ := makeKey(variants[3+r.IntN(3)], r)
		dec, _ := base64.StdEncoding.DecodeString(k[len(detectors.PrefixShortTerm):])
		// Cut before the credential scope is complete.
		cut := strings.Index(string(dec), "aws4_request")
		return k[:len(detectors.PrefixShortTerm)+(cut/3)*4-4*r.IntN(min(8, cut/3))]
	case DecoyNoStructure:
		acct := account(r)
		payloads := []string{
			testkeys.ConsoleUser(r.Uint64()) + ":" + testkeys.Secret(r.Uint64()), // no -at-
			"svc-at-" + acct[:5] + ":" + testkeys.Secret(r.Uint64()),             // 5 digits
			"svc-at-" + acct + "9:" + testkeys.Secret(r.Uint64()),                // 13 digits
			"bad user-at-" + acct + ":" + testkeys.Secret(r.Uint64()),            // space in name
			"user-at-" + acct + ":", // empty secret
			"{\"user\":\"BedrockAPIKey-ab12\",\"account\":\"" + acct + "\",\"note\":\"hi\"}", // JSON
		}
		return detectors.PrefixLongTerm + strings.TrimRight(b64([]byte(payloads[r.IntN(len(payloads))])), "=")
	case DecoyWrongHost:
		o := shortOpts(r)
		o.Host = []string{"bedrock-runtime.amazonaws.com", "bedrock.amazonaws.com.attacker.example", "bedrock.amazonaws.co"}[r.IntN(3)]
		return testkeys.ShortTerm(o)
	case DecoyWrongAction, DecoyWrongService:
		k := testkeys.ShortTerm(shortOpts(r))
		dec, _ := base64.StdEncoding.DecodeString(k[len(detectors.PrefixShortTerm):])
		s := string(dec)
		if c == DecoyWrongAction {
			s = strings.Replace(s, "Action=CallWithBearerToken", "Action=GetCallerIdentity", 1)
		} else {
			s = strings.Replace(s, "%2Fbedrock%2Faws4_request", "%2Fs3%2Faws4_request", 1)
		}
		return detectors.PrefixShortTerm + b64([]byte(s))
	case DecoyClaudeWrongHost:
		k := testkeys.ShortTerm(shortOpts(r))
		return detectors.PrefixClaudeShortTerm + k[len(detectors.PrefixShortTerm):]
	case DecoyExample:
		ex := []string{
			"ABSKQmVkcm9ja0FQSUtleS1" + strings.Repeat("EXAMPLE", 15) + "=",
			"ABSKQmVkcm9ja0FQSUtleS1EXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXM=",
			"bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t" + strings.Repeat("EXAMPLE", 12),
			"ABSK" + strings.Repeat("X", 128),
			"AEAA" + strings.Repeat("A", 120),
			"ABSKQmVkcm9ja0FQSUtleS1" + strings.Repeat("x", 108) + "=",
		}
		return ex[r.IntN(len(ex))]
	}
	panic("benchcorpus: unknown decoy class " + c)
}

func shortOpts(r *rand.Rand) testkeys.ShortTermOptions {
	seed := r.Uint64()
	acct := account(r)
	return testkeys.ShortTermOptions{
		AccessKeyID:  testkeys.AccessKeyID("ASIA", acct, seed),
		SecretKey:    testkeys.Secret(seed)[:40],
		SessionToken: testkeys.SessionToken(acct, 400+r.IntN(600), seed),
		Region:       regions[r.IntN(len(regions))],
		Issued:       issuedBase.Add(time.Duration(r.IntN(400*24*3600)) * time.Second),
		Expires:      3600,
	}
}

// proseDecoys are lines of text that name the key formats without holding a
// key; a scanner keyed on the prefixes alone reports them.
var proseDecoys = []string{
	"Long-term ABSK keys are 132 characters long when made in the console.",
	"Install bedrock-api-key-generator to mint short-term tokens.",
	"We rotate ABSK keys every 30 days and never store bedrock-api-key- tokens.",
	"Tokens begin with the `bedrock-api-key-` prefix; long-term ones with `ABSK`.",
	"See aws-external-anthropic-api-key-generation in the Claude Platform docs.",
	"AEAA keys belong to Claude Platform on AWS.",
	"ABSKeyboardShortcuts and bedrock-api-key-rotation-policy are unrelated names.",
	"grep -rE 'ABSK[A-Za-z0-9+/]{109,269}' to find candidates (not a key).",
}

var aliasRE = regexp.MustCompile(`(?s)^(.+)-at-(\d{12}):(.+)$`)

// SpecValid reports whether s is a whole key that decodes into the structure
// KEYS.md requires. It is written from the spec, independently of the
// detectors package, so the ground truth does not trust the code under test.
func SpecValid(s string) bool {
	dec := func(body string) ([]byte, bool) {
		body = strings.TrimRight(body, "=")
		if body == "" || strings.Trim(body, alnum) != "" {
			return nil, false
		}
		b, err := base64.RawStdEncoding.DecodeString(body)
		return b, err == nil
	}
	for _, p := range []string{detectors.PrefixLongTerm, detectors.PrefixClaudeLongTerm} {
		if !strings.HasPrefix(s, p) {
			continue
		}
		b, ok := dec(s[len(p):])
		if !ok {
			return false
		}
		m := aliasRE.FindSubmatch(b)
		if m == nil || len(m[1]) > 128 {
			return false
		}
		for _, c := range m[1] {
			if !strings.ContainsRune(alnum+"+=,.@_-", rune(c)) {
				return false
			}
		}
		for _, c := range m[3] {
			if c < 0x21 || c > 0x7e {
				return false
			}
		}
		return true
	}
	hosts := map[string]string{
		detectors.PrefixShortTerm:       "bedrock.amazonaws.com",
		detectors.PrefixClaudeShortTerm: "aws-external-anthropic.amazonaws.com",
	}
	for p, host := range hosts {
		if !strings.HasPrefix(s, p) {
			continue
		}
		b, ok := dec(s[len(p):])
		if !ok || !strings.HasPrefix(string(b), host+"/?") {
			return false
		}
		q, err := url.ParseQuery(string(b[len(host)+2:]))
		if err != nil || q.Get("Action") != "CallWithBearerToken" {
			return false
		}
		parts := strings.Split(q.Get("X-Amz-Credential"), "/")
		return len(parts) == 5 && parts[0] != "" && len(parts[1]) == 8 && parts[2] != "" &&
			parts[3] == strings.TrimSuffix(host, ".amazonaws.com") && parts[4] == "aws4_request" &&
			q.Get("X-Amz-Date") != ""
	}
	return false
}
