package report

import (
	"strconv"
	"unicode/utf8"

	"github.com/bks-dev/bks/findings"
)

// appendFindingJSON appends f's compact JSON, byte for byte what
// encoding/json writes for it (HTML not escaped), and true; or, for a
// finding it leaves to encoding/json, b unchanged and false: one with
// times (their RFC 3339 form and its year range are encoding/json's to
// write), deduplicated locations, or a string needing escapes.
//
// It is the JSONL reporter's fast path: a JSONL report is written one
// finding at a time under the scan's report lock, and encoding/json's
// reflection made it most of the cost of a finding on AWS-dense text.
// TestFastFindingJSON fills every field of Finding, Location and Key by
// reflection and compares with encoding/json, so a field added to them
// and not here fails that test.
func appendFindingJSON(b []byte, f *findings.Finding) ([]byte, bool) {
	if f.Date != nil || len(f.Locations) > 0 || f.Key != nil && (f.Key.IssuedAt != nil || f.Key.ExpiresAt != nil) {
		return b, false
	}
	w := jw{b: b, ok: true}
	w.raw(`{"rule_id":`)
	w.str(f.RuleID)
	w.field("fingerprint", f.Fingerprint)
	w.field("redacted", f.Redacted)
	w.opt("secret", f.Secret)
	w.field("confidence", f.Confidence)
	w.opt("error", f.Error)
	l := &f.Location
	w.field("path", l.Path)
	w.num("line", int64(l.Line))
	w.num("column", int64(l.Column))
	w.opt("archive", l.Archive)
	w.opt("repo", l.Repo)
	w.opt("commit", l.Commit)
	w.opt("author", l.Author)
	w.opt("email", l.Email)
	w.opt("message", l.Message)
	w.optBool("in_head", l.InHead)
	w.opt("html_url", l.HTMLURL)
	w.opt("kind", l.Kind)
	w.opt("encoding", l.Encoding)
	w.optNum("pieces", int64(l.Pieces))
	w.opt("transcoded", l.Transcoded)
	if k := f.Key; k != nil {
		w.raw(`,"key":{"type":`)
		w.str(k.Type)
		w.field("service", k.Service)
		w.opt("account_id", k.AccountID)
		w.opt("username", k.Username)
		w.opt("user_arn", k.UserARN)
		w.opt("partition", k.Partition)
		w.opt("key_position", k.KeyPosition)
		w.opt("marker", k.Marker)
		w.optNum("secret_length", int64(k.SecretLength))
		w.opt("secret_sha256", k.SecretSHA256)
		w.opt("access_key_id", k.AccessKeyID)
		w.opt("region", k.Region)
		if k.ExpiresInSeconds != nil {
			w.num("expires_in_seconds", *k.ExpiresInSeconds)
		}
		w.optBool("expired", k.Expired)
		w.optBool("has_session_token", k.HasSessionToken)
		w.opt("partial_reason", k.PartialReason)
		w.opt("time_error", k.TimeError)
		w.raw("}")
	}
	w.opt("suppressed", f.Suppressed)
	w.opt("live", f.Live)
	w.opt("live_reason", f.LiveReason)
	w.raw("}")
	if !w.ok {
		return b, false
	}
	return w.b, true
}

// jw appends JSON; ok turns false at a string it does not write as
// encoding/json would.
type jw struct {
	b  []byte
	ok bool
}

func (w *jw) raw(s string) { w.b = append(w.b, s...) }

// str appends s quoted; only strings encoding/json writes unescaped
// (printable ASCII but '"' and '\\', and valid UTF-8 other than U+2028
// and U+2029) are written here.
func (w *jw) str(s string) {
	if i := plainASCII(s); i < len(s) {
		if s[i] < utf8.RuneSelf || !plainUTF8(s[i:]) {
			w.ok = false
			return
		}
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, s...)
	w.b = append(w.b, '"')
}

// plainASCII returns the length of s's prefix that JSON writes as it is
// in ASCII: no control character, '"', '\\' or byte from 0x80 on. It
// tests 8 bytes at a time (byte by byte, this test was the JSONL
// reporter's largest cost on AWS-dense text); a word holding such a byte
// is then searched byte by byte.
func plainASCII(s string) int {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := load64(s[i : i+8])
		q := x ^ ('"' * ones)
		bs := x ^ ('\\' * ones)
		// A byte below 0x20, or a zero byte of q or bs, sets its high
		// bit in these; a word without one never does.
		if (x|(x-0x20*ones)&^x|(q-ones)&^q|(bs-ones)&^bs)&high != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			break
		}
	}
	return i
}

// load64 is s[0:8] as a little-endian word (the compiler makes it one
// load).
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// plainUTF8 says whether s is valid UTF-8 with no byte JSON escapes.
func plainUTF8(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == '"' || r == '\\' || r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			return false // U+FFFD itself is rare enough to leave to encoding/json
		}
	}
	return true
}

func (w *jw) key(name string) {
	w.b = append(w.b, ',', '"')
	w.b = append(w.b, name...)
	w.b = append(w.b, '"', ':')
}

func (w *jw) field(name, v string) {
	w.key(name)
	w.str(v)
}

func (w *jw) opt(name, v string) {
	if v != "" {
		w.field(name, v)
	}
}

func (w *jw) num(name string, v int64) {
	w.key(name)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *jw) optNum(name string, v int64) {
	if v != 0 {
		w.num(name, v)
	}
}

func (w *jw) optBool(name string, v *bool) {
	if v != nil {
		w.key(name)
		w.b = strconv.AppendBool(w.b, *v)
	}
}
