package awsemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/bks-dev/bks/internal/testkeys"
)

// xb builds XML replies.
type xb struct{ strings.Builder }

func (b *xb) raw(s string) { b.WriteString(s) }

func (b *xb) leaf(name, v string) {
	b.WriteString("<" + name + ">")
	xml.EscapeText(&b.Builder, []byte(v))
	b.WriteString("</" + name + ">")
}

func (b *xb) leafIf(name, v string) {
	if v != "" {
		b.leaf(name, v)
	}
}

func (b *xb) time(name string, t time.Time) { b.leaf(name, isoTime(t)) }

func (b *xb) open(name string)  { b.WriteString("<" + name + ">") }
func (b *xb) close(name string) { b.WriteString("</" + name + ">") }

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// queryReply wraps a result body in <ActionResponse><ActionResult>.
func queryReply(req *request, result string) []byte {
	var b xb
	b.raw("<" + req.action + `Response xmlns="` + xmlns(req.service) + `">`)
	if result != "" {
		b.raw("<" + req.action + "Result>" + result + "</" + req.action + "Result>")
	}
	b.raw("<ResponseMetadata>")
	b.leaf("RequestId", requestID())
	b.raw("</ResponseMetadata></" + req.action + "Response>")
	return []byte(b.String())
}

func jsonUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// cursor is what a paging token (Marker, NextToken) is checked against:
// the request it continues (service, operation and every parameter but
// the token and the page size) and the emulator's clock. A token names a
// position in that request's list only: CloudTrail refuses one "used with
// different parameters" (InvalidNextTokenException,
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html),
// IAM a marker of another list ("Invalid Marker",
// https://github.com/trek10inc/awsets/pull/21); and it expires after the
// seed's MarkerTTL.
type cursor struct {
	token string
	bind  string
	now   time.Time
	ttl   time.Duration
}

// cursor reads the paging token param of req.
func (s *Server) cursor(req *request, param string) cursor {
	skip := map[string]bool{param: true, "MaxItems": true, "MaxResults": true}
	rest := map[string]any{"@": req.service + ":" + req.action}
	for k, v := range req.params {
		if !skip[k] {
			rest[k] = v
		}
	}
	for k, v := range req.json {
		if !skip[k] {
			rest[k] = v
		}
	}
	b, _ := json.Marshal(rest) // sorted keys: one spelling per request
	h := fnv.New64a()
	h.Write(b)
	return cursor{token: req.params[param], bind: strconv.FormatUint(h.Sum64(), 36), now: s.now(), ttl: s.st.markerTTL}
}

func (c cursor) encode(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.now.Unix(), 10) + "|" + c.bind + "|" + key))
}

// position returns the key a token names, or false when it is malformed,
// belongs to another request, or has expired.
func (c cursor) position() (string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c.token)
	if err != nil {
		return "", false
	}
	parts := strings.SplitN(string(raw), "|", 3)
	if len(parts) != 3 || parts[1] != c.bind {
		return "", false
	}
	issued, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || c.now.Sub(time.Unix(issued, 0)) > c.ttl {
		return "", false
	}
	return parts[2], true
}

// page returns the items of one page of a sorted list, starting at the
// item whose key is the token's position (opaque to clients), and the
// token of the next page ("" at the end). maxItems <= 0 means the default.
func page[T any](items []T, key func(T) string, c cursor, maxItems, def, limit int) ([]T, string, error) {
	if maxItems <= 0 {
		maxItems = def
	}
	if maxItems > limit {
		maxItems = limit
	}
	start := 0
	if c.token != "" {
		k, ok := c.position()
		if !ok {
			return nil, "", errInvalid("Invalid Marker")
		}
		start = len(items)
		for i, it := range items {
			if key(it) >= k {
				start = i
				break
			}
		}
	}
	end := min(start+maxItems, len(items))
	next := ""
	if end < len(items) {
		next = c.encode(key(items[end]))
	}
	return items[start:end], next, nil
}

func intParam(p map[string]string, name string) int {
	n, _ := strconv.Atoi(p[name])
	return n
}

// newKeyID makes a 20-character key id (21 for ACCA) with prefix, encoding
// account as AWS does.
func newKeyID(prefix, account string, seq uint64) string {
	id := testkeys.AccessKeyID(prefix, account, seq)
	if prefix == "ACCA" {
		id += string("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[seq%32])
	}
	return id
}

// longTermKey makes the ABSK… secret of a Bedrock credential (fake secret).
func longTermKey(user, account string, seq uint64) string {
	return testkeys.LongTerm(user, account, testkeys.Secret(seq))
}

func newSecret(seq uint64) string {
	return strings.ReplaceAll(testkeys.Secret(seq)[:40], "+", "A")
}
