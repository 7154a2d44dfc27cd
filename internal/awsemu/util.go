package awsemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
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

// page returns the items of one page of a name-sorted list, starting at
// the item whose key is the marker (opaque to clients), and the marker of
// the next page ("" at the end). maxItems <= 0 means the default.
func page[T any](items []T, key func(T) string, marker string, maxItems, def, limit int) ([]T, string, error) {
	if maxItems <= 0 {
		maxItems = def
	}
	if maxItems > limit {
		maxItems = limit
	}
	start := 0
	if marker != "" {
		raw, err := base64.RawURLEncoding.DecodeString(marker)
		if err != nil {
			return nil, "", errInvalid("Invalid Marker")
		}
		k := string(raw)
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
		next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end])))
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
