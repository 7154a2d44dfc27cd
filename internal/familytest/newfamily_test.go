package familytest

import (
	"testing"

	"github.com/bks-dev/bks/detectors"
)

// acme is a made-up AWS service for test-only families.
var acme = &detectors.Service{
	Name: "acme-ai", Title: "Acme AI", Host: "acme-ai.amazonaws.com",
	DenyActions: []string{"bedrock:*", "acme-ai:*"},
}

// TestAddLongTermFamily is issue 12's "adding a fourth long-term-style
// family touches at most 3 files": a family with a new prefix and a new
// service is one table entry (here registered by the test), and every
// consumer — engine, Decode, findings, verify, revoke, triage, GitHub
// search, SARIF, rules list — handles it with no other change.
func TestAddLongTermFamily(t *testing.T) {
	f := detectors.Family{
		Rule: "acme-ai-long-term", Prefix: "AXAI", Service: acme, Long: true,
		Description: "Acme AI on AWS long-term API key (AXAI…); decodes to account and key name",
		SARIF: detectors.SARIFText{
			Name: "AcmeAILongTermAPIKey", Short: "Acme AI on AWS long-term API key",
			Full: "An Acme AI on AWS long-term API key (AXAI…): a service-specific credential of an IAM user.",
			Help: "Treat the key as compromised: delete the credential and deny its use (`bks revoke-key`).",
			Tags: []string{"aws", "acme-ai"},
		},
		SearchTerms: []string{"AXAIQWNtZUFJS2V5L"}, // "AXAI" + base64("AcmeAIKey-")
	}
	t.Cleanup(detectors.Register(f))
	checkRegistered(t, f.Rule, LongTermKey(f.Prefix, "AcmeAIKey-7", Account, "c2VjcmV0LXBhcnQtb2YtdGhlLWtleQ=="))
}

// TestAddShortTermFamily: the same for a short-term (presigned URL) family.
func TestAddShortTermFamily(t *testing.T) {
	f := detectors.Family{
		Rule: "acme-ai-short-term", Prefix: "acme-ai-api-key-", Service: acme, PairOffset: 4,
		Description: "Acme AI on AWS short-term API key (acme-ai-api-key-…)",
		SARIF: detectors.SARIFText{
			Name: "AcmeAIShortTermAPIKey", Short: "Acme AI on AWS short-term API key",
			Full: "An Acme AI on AWS short-term API key (acme-ai-api-key-…): a presigned request.",
			Help: "Deny sessions issued before now on the key's issuer (`bks revoke-key`).",
			Tags: []string{"aws", "acme-ai"},
		},
		SearchTerms: []string{"acme-ai-api-key"},
	}
	t.Cleanup(detectors.Register(f))
	checkRegistered(t, f.Rule, ShortTermKey(f.Prefix, acme.Host, 3))
}

func checkRegistered(t *testing.T, rule, key string) {
	t.Helper()
	f, ok := detectors.Lookup(rule)
	if !ok {
		t.Fatal("family not registered")
	}
	Check(t, f, key)
}
