package detectors

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Key types and services, as they appear in JSON.
const (
	TypeLongTerm  = "long-term"
	TypeShortTerm = "short-term"

	ServiceBedrock        = "bedrock"
	ServiceClaudePlatform = "claude-platform"

	PositionPrimary   = "primary"
	PositionSecondary = "secondary"
)

// Key is everything bks can learn about a key offline. Its JSON field names
// are stable: `bks decode-key --json` and the `key` object of every finding
// share them. A field that cannot be known is left empty and omitted, never
// guessed.
type Key struct {
	Type             string     `json:"type"`
	Service          string     `json:"service"`
	AccountID        string     `json:"account_id,omitempty"`
	Username         string     `json:"username,omitempty"`
	UserARN          string     `json:"user_arn,omitempty"`
	Partition        string     `json:"partition,omitempty"`
	KeyPosition      string     `json:"key_position,omitempty"`
	Marker           string     `json:"marker,omitempty"`
	SecretLength     int        `json:"secret_length,omitempty"`
	SecretSHA256     string     `json:"secret_sha256,omitempty"`
	AccessKeyID      string     `json:"access_key_id,omitempty"`
	Region           string     `json:"region,omitempty"`
	IssuedAt         *time.Time `json:"issued_at,omitempty"`
	ExpiresAt        *time.Time `json:"expires_at,omitempty"`
	ExpiresInSeconds *int64     `json:"expires_in_seconds,omitempty"`
	Expired          *bool      `json:"expired,omitempty"`
	HasSessionToken  *bool      `json:"has_session_token,omitempty"`
	// PartialReason is set when the key is not whole: cut short, or its
	// secret is not of the shape AWS issues. Its account, user, access key
	// id and region are still reported when they were decoded, but never
	// an expiry: a cut X-Amz-Expires would make one up.
	PartialReason string `json:"partial_reason,omitempty"`
	// TimeError says why a time the key carries is not given: one that
	// RFC 3339 cannot write (a year past 9999), or a time left too long
	// to count. Such a time is omitted rather than clamped.
	TimeError string `json:"time_error,omitempty"`
}

// markPartial records why k is not a whole key and drops every claim about
// its expiry.
func (k *Key) markPartial(reason string) {
	if k.PartialReason == "" {
		k.PartialReason = reason
	}
	k.ExpiresAt, k.ExpiresInSeconds, k.Expired, k.TimeError = nil, nil, nil, ""
}

// DecodeOptions tune the offline decoding.
type DecodeOptions struct {
	// Now is the clock `expired` and `expires_in_seconds` are computed
	// against. Zero means time.Now().
	Now time.Time
	// Partition is assumed for long-term keys, which do not carry one
	// (short-term keys take it from their region). Empty means "aws".
	Partition string
}

func (o DecodeOptions) now() time.Time {
	if o.Now.IsZero() {
		return time.Now().UTC()
	}
	return o.Now.UTC()
}

// DecodeError says what is wrong with a candidate key. It never contains the
// secret part of the key.
type DecodeError struct {
	Reason string
	Offset int // byte offset in the key where the problem is, or -1
}

func (e *DecodeError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("%s at offset %d", e.Reason, e.Offset)
	}
	return e.Reason
}

func errAt(off int, format string, args ...any) *DecodeError {
	return &DecodeError{Reason: fmt.Sprintf(format, args...), Offset: off}
}

// Prefixes of the four built-in key shapes.
const (
	PrefixLongTerm        = "ABSK"
	PrefixShortTerm       = "bedrock-api-key-"
	PrefixClaudeLongTerm  = "AEAA"
	PrefixClaudeShortTerm = "aws-external-anthropic-api-key-"
)

// Decode decodes a key (no surrounding text) of any family. A key that is
// not whole decodes with Key.PartialReason set; one followed by an
// ellipsis ("..." or "…") is taken as cut on purpose.
func Decode(key string, opts DecodeOptions) (Key, error) {
	if f, ok := Identify(key); ok {
		body, dots := cutEllipsis([]byte(key))
		k, err := decodeBody(body, f, opts)
		if err == nil && dots {
			k.markPartial(ellipsisReason)
		}
		return k, err
	}
	var titles, prefixes []string
	for _, s := range Services() {
		titles = append(titles, s.Title)
	}
	for _, f := range Families() {
		prefixes = append(prefixes, f.Prefix)
	}
	return Key{}, errAt(0, "not a %s API key (expected prefix %s)", orList(titles), orList(prefixes))
}

// ellipses mark text cut on purpose, as in documentation ("ABSK...").
var ellipses = [][]byte{[]byte("..."), []byte("…")}

const ellipsisReason = "key followed by an ellipsis: cut on purpose"

// cutEllipsis removes a trailing ellipsis from key.
func cutEllipsis(key []byte) ([]byte, bool) {
	for _, e := range ellipses {
		if bytes.HasSuffix(key, e) {
			return key[:len(key)-len(e)], true
		}
	}
	return key, false
}

// orList joins "a", "b", "c" as "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// Trim removes what commonly surrounds a pasted key: white space, quotes,
// "Bearer ", an "Authorization:" header name, and a NAME= or NAME: assignment.
// Percent-encoded padding (%3D) is turned back into "=".
func Trim(s string) string {
	s = strings.TrimSpace(s)
	for {
		before := s
		s = strings.TrimSpace(s)
		s = strings.Trim(s, "\"'`")
		if i := strings.Index(s, "Authorization:"); i == 0 {
			s = s[len("Authorization:"):]
		}
		if len(s) > 7 && strings.EqualFold(s[:7], "bearer ") {
			s = s[7:]
		}
		s = strings.TrimPrefix(s, "export ")
		// NAME=value or NAME: value, where NAME is an identifier.
		if i := strings.IndexAny(s, "=:"); i > 0 && isIdent(s[:i]) && !hasKeyPrefix(s) {
			s = s[i+1:]
		}
		s = strings.TrimRight(s, ",;")
		if s == before {
			break
		}
	}
	for strings.HasSuffix(s, "%3D") || strings.HasSuffix(s, "%3d") {
		s = s[:len(s)-3] + "="
		if !strings.HasSuffix(s[:len(s)-1], "%3D") && !strings.HasSuffix(s[:len(s)-1], "%3d") {
			break
		}
	}
	// Handle "%3D%3D" after the first replacement left "…%3D=".
	if strings.HasSuffix(s, "%3D=") || strings.HasSuffix(s, "%3d=") {
		s = s[:len(s)-4] + "=="
	}
	return s
}

func hasKeyPrefix(s string) bool {
	_, ok := Identify(s)
	return ok
}

func isIdent(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// decodeBase64Body decodes key[start:], which must be the key alphabet
// [A-Za-z0-9] with optional "=" padding (missing padding is accepted). A
// body one character past a whole group (a length no base64 text has) was
// cut: the whole groups are decoded and cut is true.
func decodeBase64Body(key []byte, start int) (out []byte, cut bool, derr *DecodeError) {
	body := key[start:]
	end := len(body)
	for end > 0 && body[end-1] == '=' {
		end--
	}
	if len(body)-end > 2 {
		return nil, false, errAt(start+end, "too much base64 padding")
	}
	if end == 0 {
		return nil, false, errAt(start, "empty key body")
	}
	for i := 0; i < end; i++ {
		if !isKeyChar(body[i]) {
			return nil, false, errAt(start+i, "bad base64 byte %q", body[i])
		}
	}
	if end%4 == 1 {
		if end == 1 || end < len(body) {
			return nil, false, errAt(start+end-1, "bad base64 (truncated: %d characters is not a valid length)", end)
		}
		end--
		cut = true
	}
	out = make([]byte, base64.RawStdEncoding.DecodedLen(end))
	n, err := base64.RawStdEncoding.Decode(out, body[:end])
	if err != nil {
		if ce, ok := err.(base64.CorruptInputError); ok {
			return nil, false, errAt(start+int(ce), "bad base64")
		}
		return nil, false, errAt(start, "bad base64")
	}
	return out[:n], cut, nil
}

func isKeyChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// splitAlias finds the last "-at-<12 digits>:" in payload, as the regular
// expression ^(.+)-at-(\d{12}):(.+)$ would.
func splitAlias(p []byte) (user, account, secret []byte, ok bool) {
	for i := bytes.LastIndex(p, []byte("-at-")); i > 0; i = bytes.LastIndex(p[:i], []byte("-at-")) {
		j := i + 4
		if j+13 > len(p) || p[j+12] != ':' || j+13 == len(p) {
			continue
		}
		digits := true
		for _, c := range p[j : j+12] {
			if c < '0' || c > '9' {
				digits = false
				break
			}
		}
		if digits {
			return p[:i], p[j : j+12], p[j+13:], true
		}
	}
	return nil, nil, nil, false
}

func isIAMNameChar(c byte) bool {
	return isKeyChar(c) || strings.IndexByte("+=,.@_-", c) >= 0
}

func decodeLongTerm(key []byte, f *Family, opts DecodeOptions) (Key, error) {
	payload, cut, derr := decodeBase64Body(key, len(f.Prefix))
	if derr != nil {
		return Key{}, derr
	}
	user, account, secret, ok := splitAlias(payload)
	if !ok {
		return Key{}, errAt(-1, "decoded key has no \"-at-<12 digits>:\" separator")
	}
	if len(user) > 128 {
		return Key{}, errAt(-1, "IAM user name too long (%d bytes)", len(user))
	}
	for _, c := range user {
		if !isIAMNameChar(c) {
			return Key{}, errAt(-1, "IAM user name has a byte not allowed in IAM names (0x%02x)", c)
		}
	}
	for _, c := range secret {
		if c < 0x21 || c > 0x7e {
			return Key{}, errAt(-1, "secret part is not printable text")
		}
	}
	k := Key{
		Type:         TypeLongTerm,
		Service:      f.Service.Name,
		AccountID:    string(account),
		KeyPosition:  PositionPrimary,
		SecretLength: len(secret),
		SecretSHA256: shortHash(secret),
	}
	name := string(user)
	// Only a "+<digits>" suffix marks a second key; any other '+' is part of
	// the IAM name.
	if i := strings.LastIndexByte(name, '+'); i > 0 && i < len(name)-1 && allDigits(name[i+1:]) {
		k.Marker = name[i:]
		k.KeyPosition = PositionSecondary
		name = name[:i]
	}
	k.Username = name
	k.Partition = opts.Partition
	if k.Partition == "" {
		k.Partition = "aws"
	}
	k.UserARN = "arn:" + k.Partition + ":iam::" + k.AccountID + ":user/" + k.Username
	switch {
	case cut:
		k.markPartial(fmt.Sprintf("key cut short: %d base64 characters is not a valid length", len(key)-len(f.Prefix)))
	case !f.issuedSecret(secret):
		k.markPartial(fmt.Sprintf("secret is %d characters, not the %d-character base64 AWS issues", len(secret), f.SecretLen))
	}
	return k, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func shortHash(b []byte) string {
	var out [shortHashLen]byte
	return string(appendShortHash(out[:0], b))
}

// shortHashLen is the length of a secret's hash as reported
// (Key.SecretSHA256): the first 8 bytes of its SHA-256, in hex.
const shortHashLen = 16

func appendShortHash(dst, b []byte) []byte {
	h := sha256.Sum256(b)
	return hex.AppendEncode(dst, h[:8])
}

func decodeShortTerm(key []byte, prefixLen int, svc *Service, opts DecodeOptions) (Key, error) {
	host := svc.Host
	raw, cut, derr := decodeBase64Body(key, prefixLen)
	if derr != nil {
		return Key{}, derr
	}
	want := host + "/?"
	if !bytes.HasPrefix(raw, []byte(want)) {
		return Key{}, wrongHost(raw, host)
	}
	query, partial := presignedQuery(raw[len(want):], cut)
	q, err := url.ParseQuery(string(query))
	if err != nil {
		return Key{}, errAt(-1, "decoded URL has an unparsable query")
	}
	if q.Get("Action") != "CallWithBearerToken" && (partial == "" || q.Has("Action")) {
		return Key{}, errAt(-1, "decoded URL is not Action=CallWithBearerToken")
	}
	cred := q.Get("X-Amz-Credential")
	if cred == "" && partial != "" {
		return Key{}, errAt(-1, "key cut short before its credential scope (X-Amz-Credential)")
	}
	if cred == "" {
		return Key{}, errAt(-1, "missing credential scope (X-Amz-Credential)")
	}
	if partial == "" {
		partial, derr = presignComplete(q)
		if derr != nil {
			return Key{}, derr
		}
	}
	parts, derr := credentialScope(cred, host)
	if derr != nil {
		return Key{}, derr
	}
	k := Key{
		Type:         TypeShortTerm,
		Service:      svc.Name,
		AccessKeyID:  parts[0],
		Region:       parts[2],
		Partition:    PartitionForRegion(parts[2]),
		SecretLength: len(key),
		SecretSHA256: shortHash(key),
	}
	// A cut key may have lost its session token: say nothing then.
	if hasToken := q.Get("X-Amz-Security-Token") != ""; hasToken || partial == "" {
		k.HasSessionToken = &hasToken
	}
	if acct, ok := AccountFromKeyID(parts[0]); ok {
		k.AccountID = acct
	}
	if d := q.Get("X-Amz-Date"); d != "" {
		t, err := time.Parse("20060102T150405Z", d)
		if err != nil {
			return Key{}, errAt(-1, "X-Amz-Date %q is not yyyymmddTHHMMSSZ", printable([]byte(d)))
		}
		k.IssuedAt = &t
		if e := q.Get("X-Amz-Expires"); e != "" {
			secs, err := strconv.Atoi(e)
			if err != nil || secs < 1 || secs > 604800 {
				return Key{}, errAt(-1, "X-Amz-Expires %q is not a number of seconds", printable([]byte(e)))
			}
			k.setExpiry(t.Add(time.Duration(secs)*time.Second), opts.now())
		}
	}
	if partial != "" {
		k.markPartial(partial)
	}
	return k, nil
}

// credentialScope splits and checks X-Amz-Credential:
// AKID/yyyymmdd/region/service/aws4_request, service that of host.
func credentialScope(cred, host string) ([]string, *DecodeError) {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || len(parts[1]) != 8 || parts[0] == "" || parts[2] == "" {
		return nil, errAt(-1, "malformed credential scope (want AKID/yyyymmdd/region/service/aws4_request)")
	}
	service := strings.TrimSuffix(host, ".amazonaws.com")
	if parts[3] != service {
		return nil, errAt(-1, "credential scope is for service %q, not %q", printable([]byte(parts[3])), service)
	}
	if !isAccessKeyID(parts[0]) {
		return nil, errAt(-1, "credential scope has a malformed access key id")
	}
	return parts, nil
}

// wrongHost says why a decoded short-term key is not a presigned URL of
// host: another host, or the host without the "/?" query.
func wrongHost(raw []byte, host string) *DecodeError {
	if bytes.HasPrefix(raw, []byte(host)) && (len(raw) == len(host) || raw[len(host)] == '/') {
		return errAt(-1, "decoded URL %s has no query (want %s/?Action=CallWithBearerToken&…)", printable(raw[:min(len(raw), len(host)+2)]), host)
	}
	got := raw
	if i := bytes.IndexAny(got, "/?"); i >= 0 {
		got = got[:i]
	}
	if len(got) > 64 {
		got = got[:64]
	}
	return errAt(-1, "wrong host %q in decoded URL (want %s)", printable(got), host)
}

// versionTail ends every short-term key AWS issues.
const versionTail = "&Version=1"

// presignedQuery returns the query of a decoded short-term key without its
// "&Version=1" tail. A key without the tail (or cut inside a base64 group)
// was cut short: its last parameter may be cut too and is dropped, and
// partial says so.
func presignedQuery(query []byte, cut bool) (q []byte, partial string) {
	if !cut && bytes.HasSuffix(query, []byte(versionTail)) {
		return query[:len(query)-len(versionTail)], ""
	}
	if i := bytes.LastIndexByte(query, '&'); i >= 0 {
		query = query[:i]
	} else {
		query = nil
	}
	return query, "key cut short: the decoded URL does not end in " + versionTail
}

// presignParams are the SigV4 query parameters every short-term key is
// signed with, and the shape of those the decoder checks nowhere else.
var presignParams = []struct {
	name string
	ok   func(string) bool
}{
	{"Action", nil},
	{"X-Amz-Algorithm", func(v string) bool { return v == "AWS4-HMAC-SHA256" }},
	{"X-Amz-Credential", nil},
	{"X-Amz-Date", nil},
	{"X-Amz-Expires", nil},
	{"X-Amz-SignedHeaders", isSignedHeaders},
	{"X-Amz-Signature", isSignature},
}

// presignComplete checks that a query holding "&Version=1" carries every
// signed parameter: one missing makes the key partial (its reason is
// returned), one malformed makes it no key.
func presignComplete(q url.Values) (partial string, derr *DecodeError) {
	var missing []string
	for _, p := range presignParams {
		v := q.Get(p.name)
		switch {
		case v == "":
			missing = append(missing, p.name)
		case p.ok != nil && !p.ok(v):
			return "", errAt(-1, "malformed %s in decoded URL", p.name)
		}
	}
	if missing != nil {
		return "key incomplete: the decoded URL lacks " + strings.Join(missing, ", "), nil
	}
	return "", nil
}

// isSignature: 64 lowercase hex digits, a SigV4 signature.
func isSignature(v string) bool {
	if len(v) != 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !(v[i] >= '0' && v[i] <= '9' || v[i] >= 'a' && v[i] <= 'f') {
			return false
		}
	}
	return true
}

// isSignedHeaders: lowercase header names separated by ';', host among them.
func isSignedHeaders(v string) bool {
	host := false
	for _, h := range strings.Split(v, ";") {
		if h == "" || strings.ToLower(h) != h {
			return false
		}
		host = host || h == "host"
	}
	return host
}

// setExpiry sets ExpiresAt, ExpiresInSeconds and Expired from the expiry
// exp as of now. A value that cannot be represented is left out and
// TimeError says why: JSON (RFC 3339) writes years 0000 to 9999 only, and a
// time.Duration counts at most about 292 years.
func (k *Key) setExpiry(exp, now time.Time) {
	d := exp.Sub(now)
	left := max(int64(d/time.Second), 0)
	expired := left == 0
	k.Expired = &expired
	if y := exp.Year(); y < 0 || y > 9999 {
		k.TimeError = fmt.Sprintf("expiry %s is outside years 0000-9999, which RFC 3339 can write: expires_at and expires_in_seconds omitted", exp.Format(time.RFC3339))
		return
	}
	k.ExpiresAt = &exp
	if d == math.MaxInt64 {
		// Sub saturates: the expiry is more than ~292 years away.
		k.TimeError = fmt.Sprintf("expiry %s is too far from now to count: expires_in_seconds omitted", exp.Format(time.RFC3339))
		return
	}
	k.ExpiresInSeconds = &left
}

func printable(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			sb.WriteByte(c)
		} else {
			sb.WriteByte('?')
		}
	}
	return sb.String()
}

func isAccessKeyID(s string) bool {
	if len(s) < 16 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
