package verify

import (
	"net/http"
	"strings"

	"github.com/bks-dev/bks/detectors"
)

// answer is one kind of error AWS gives a Bedrock API key, and what it
// says about the key. The table is the one place that knows them; an
// answer it does not list is Unknown.
type answer struct {
	codes    []string // error codes, any of
	contains string   // or a message substring (case-insensitive)
	status   Status
	explicit bool // for LiveDenied: the key is blocked on every Bedrock call
	reason   string
}

// answers, first match wins. Sources: Amazon Bedrock's API error codes
// (https://docs.aws.amazon.com/bedrock/latest/userguide/troubleshooting-api-error-codes.html),
// the API-key permission pages
// (https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-permissions.html:
// bedrock:CallWithBearerToken governs any use of a key), the common AWS
// errors (https://docs.aws.amazon.com/bedrock/latest/APIReference/CommonErrors.html)
// and what AWS answered revoked and blocked keys in practice.
var answers = []answer{
	// "not authorized to perform" is handled first (it names a principal).
	{contains: "Authentication failed", status: Invalid,
		reason: "AWS rejected the key: deleted, expired, revoked, or from another region or partition"},
	// A deny of bedrock:CallWithBearerToken (identity policy or SCP) makes
	// AWS answer a well-formed key this way: it cannot call Bedrock while
	// the deny stands.
	{contains: "Invalid API Key format", status: LiveDenied, explicit: true,
		reason: "AWS refused the key as a bearer token (\"Invalid API Key format\": bedrock:CallWithBearerToken is denied for it, or it is not a key AWS issued): it cannot call Bedrock while that holds"},
	{codes: []string{"ExpiredTokenException", "ExpiredToken"}, contains: "expired", status: Expired,
		reason: "AWS says the key (or the session it was made from) has expired"},
	{codes: []string{"UnrecognizedClientException", "InvalidClientTokenId"}, contains: "security token included in the request is invalid", status: Invalid,
		reason: "AWS does not recognise the key's credentials: deleted, revoked, or from another partition"},
	{codes: []string{"InvalidSignatureException", "SignatureDoesNotMatch"}, contains: "signature we calculated does not match", status: Invalid,
		reason: "the key's signature does not verify: altered, or not a key AWS issued"},
}

// classify finds the answer for an error AWS gave (HTTP status, error code
// and message); ok is false when none fits.
func classify(httpStatus int, code, msg string) (answer, bool) {
	if httpStatus < 400 || httpStatus >= 500 || httpStatus == http.StatusTooManyRequests {
		return answer{}, false
	}
	low := strings.ToLower(msg)
	for _, a := range answers {
		for _, c := range a.codes {
			if c == code {
				return a, true
			}
		}
		if a.contains != "" && strings.Contains(low, strings.ToLower(a.contains)) {
			return a, true
		}
	}
	return answer{}, false
}

// longTermProbes are where a long-term key, which names no region, is
// checked when the caller names none: one Bedrock region in each
// partition where Bedrock API keys are issued, commercial first. A key
// the first rejects may belong to the next; a key of a partition not
// listed (China, ISO, EUSC) needs its region named (--region).
var longTermProbes = []string{"us-east-1", "us-gov-west-1"}

// partitionOf names the partition of a region for reasons.
func partitionOf(region string) string { return detectors.PartitionForRegion(region) }
