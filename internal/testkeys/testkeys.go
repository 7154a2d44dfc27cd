// Package testkeys builds Bedrock (and Claude Platform on AWS) API keys with
// fake secrets, in the exact formats AWS emits (see docs/KEYS.md in the
// project notes), so that tests, the demo and the benchmark corpus never need
// a real or committed credential.
//
// Everything here is deterministic given the inputs: the same arguments always
// produce the same key, so golden files stay stable.
package testkeys

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"
)

// LongTerm returns "ABSK" + base64("<user>-at-<account>:<secret>").
func LongTerm(user, account, secret string) string {
	return "ABSK" + base64.StdEncoding.EncodeToString([]byte(user+"-at-"+account+":"+secret))
}

// ClaudeLongTerm returns the Claude Platform on AWS long-term form
// "AEAA" + base64("AeaApiKey-<id>-at-<account>:<secret>").
func ClaudeLongTerm(id, account, secret string) string {
	return "AEAA" + base64.StdEncoding.EncodeToString([]byte("AeaApiKey-"+id+"-at-"+account+":"+secret))
}

// Secret returns a console-shaped fake secret: base64 of 44 pseudo-random
// bytes drawn from seed (60 characters).
func Secret(seed uint64) string {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, 44)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return base64.StdEncoding.EncodeToString(b)
}

// AccessKeySecret returns a fake 40-character secret access key,
// deterministic in seed. Like real ones it mixes cases and digits.
func AccessKeySecret(seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 3))
	b := make([]byte, 30)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return "aZ9" + base64.StdEncoding.EncodeToString(b)[3:]
}

// ConsoleUser returns a console-style phantom user name "BedrockAPIKey-xxxx".
func ConsoleUser(seed uint64) string {
	const alpha = "abcdefghijklmnopqrstuvwxyz0123456789"
	r := rand.New(rand.NewPCG(seed, 7))
	var sb strings.Builder
	sb.WriteString("BedrockAPIKey-")
	for range 4 {
		sb.WriteByte(alpha[r.IntN(len(alpha))])
	}
	return sb.String()
}

// AccessKeyID builds a new-style 20-character access key id ("AKIA"/"ASIA"
// prefix) that encodes account, using the inverse of the offline account-id
// decoding described in KEYS.md. seed fills the bits that carry no account.
func AccessKeyID(prefix, account string, seed uint64) string {
	var acct uint64
	if _, err := fmt.Sscanf(account, "%d", &acct); err != nil {
		panic("testkeys: bad account " + account)
	}
	r := rand.New(rand.NewPCG(seed, 11))
	var b [10]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	var z [8]byte
	copy(z[2:], b[0:6])
	v := binary.BigEndian.Uint64(z[:])
	v &^= 0x7fffffffff80
	v |= (acct << 7) & 0x7fffffffff80
	// Force the top bit of the 48-bit field so the first base32 character
	// falls in the "new-style" range [Q-Z2-7].
	v |= 0x800000000000
	binary.BigEndian.PutUint64(z[:], v)
	copy(b[0:6], z[2:])
	return prefix + base32.StdEncoding.EncodeToString(b[:])
}

// ShortTermOptions describe a short-term key.
type ShortTermOptions struct {
	Host string // default bedrock.amazonaws.com
	// Prefix defaults to bedrock-api-key-, or aws-external-anthropic-api-key-
	// for that host.
	Prefix       string
	AccessKeyID  string // AKIA… or ASIA…
	SecretKey    string // used only to compute a well-formed signature
	SessionToken string // empty for AKIA tokens
	Region       string
	Issued       time.Time
	Expires      int // seconds, 1..43200
	// Order: "botocore" (default) or "console": the parameter order of the
	// presigned URL. Parsers must not depend on it.
	Order string
}

// ShortTerm builds "bedrock-api-key-" + base64(presigned URL without scheme +
// "&Version=1"), signed with SigV4 query auth exactly as the AWS token
// generators do (service "bedrock", signed header host only).
func ShortTerm(o ShortTermOptions) string {
	host := o.Host
	if host == "" {
		host = "bedrock.amazonaws.com"
	}
	prefix := o.Prefix
	switch {
	case prefix != "":
	case host == "aws-external-anthropic.amazonaws.com":
		prefix = "aws-external-anthropic-api-key-"
	default:
		prefix = "bedrock-api-key-"
	}
	service := strings.TrimSuffix(host, ".amazonaws.com")
	date := o.Issued.UTC().Format("20060102")
	amzDate := o.Issued.UTC().Format("20060102T150405Z")
	scope := date + "/" + o.Region + "/" + service + "/aws4_request"
	params := [][2]string{
		{"Action", "CallWithBearerToken"},
		{"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
		{"X-Amz-Credential", o.AccessKeyID + "/" + scope},
		{"X-Amz-Date", amzDate},
		{"X-Amz-Expires", fmt.Sprint(o.Expires)},
		{"X-Amz-SignedHeaders", "host"},
	}
	if o.SessionToken != "" {
		params = append(params, [2]string{"X-Amz-Security-Token", o.SessionToken})
	}
	if o.Order == "console" {
		// Reverse everything after Action: a different but valid order.
		for i, j := 1, len(params)-1; i < j; i, j = i+1, j-1 {
			params[i], params[j] = params[j], params[i]
		}
	}
	enc := func(ps [][2]string) string {
		parts := make([]string, len(ps))
		for i, p := range ps {
			parts[i] = url.QueryEscape(p[0]) + "=" + strings.ReplaceAll(url.QueryEscape(p[1]), "+", "%20")
		}
		return strings.Join(parts, "&")
	}
	// Canonical query string: sorted by name.
	sorted := append([][2]string(nil), params...)
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j][0] < sorted[j-1][0]; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	canonical := strings.Join([]string{"POST", "/", enc(sorted), "host:" + host + "\n", "host", hashHex("")}, "\n")
	sts := strings.Join([]string{"AWS4-HMAC-SHA256", amzDate, scope, hashHex(canonical)}, "\n")
	k := hmacSHA256([]byte("AWS4"+o.SecretKey), date)
	k = hmacSHA256(k, o.Region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(k, sts))
	u := host + "/?" + enc(params) + "&X-Amz-Signature=" + sig + "&Version=1"
	return prefix + base64.StdEncoding.EncodeToString([]byte(u))
}

// SessionToken returns a fake STS session token of n bytes, shaped like a real
// one (base64 text), deterministic in seed. It embeds account the way real
// tokens do (0x1a 0x0c + 12 ASCII digits) before encoding.
func SessionToken(account string, n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 13))
	raw := make([]byte, n*3/4)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	if len(account) == 12 && len(raw) > 40 {
		copy(raw[20:], append([]byte{0x1a, 0x0c}, account...))
	}
	return "IQoJb3JpZ2luX2Vj" + base64.StdEncoding.EncodeToString(raw)
}

func hashHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
