package report

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bks-dev/bks/findings"
)

// TestFastFindingJSON fills every exported field of a finding (its
// Location and Key included) with random values by reflection and checks
// that appendFindingJSON either declines or writes exactly what
// encoding/json writes. A field added to Finding, Location or Key that
// appendFindingJSON does not write makes it differ here.
func TestFastFindingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fast := 0
	for trial := range 20000 {
		var f findings.Finding
		fill(t, rng, reflect.ValueOf(&f).Elem(), trial%3 != 0)
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&f); err != nil {
			continue // years past 9999: encoding/json's error, never the fast path's
		}
		got, ok := appendFindingJSON([]byte("x"), &f)
		if !ok {
			if string(got) != "x" {
				t.Fatalf("declined but changed the buffer: %q", got)
			}
			continue
		}
		fast++
		if w := "x" + string(bytes.TrimSuffix(want.Bytes(), []byte("\n"))); string(got) != w {
			t.Fatalf("fast JSON differs:\n got %s\nwant %s", got, w)
		}
	}
	if fast < 2000 {
		t.Fatalf("the fast path wrote only %d of 20000 findings", fast)
	}
}

var fillStrings = []string{"", "", "a", "path/to/file.go", "AKIA…ABCD", `q"uote`, `back\slash`, "tab\there", "nl\n",
	"<html>&amp;", "é ü 日本", "\u2028", "bad\xffutf8", "\ufffd", "\x7f", "ctl\x01", "\x1f"}

// fill sets every exported field of v to a random value; plain, when set,
// leaves the fields that make appendFindingJSON decline (times, Locations)
// empty and picks mostly strings it writes itself (one in 40 from the
// whole list, escapes included).
func fill(t *testing.T, rng *rand.Rand, v reflect.Value, plain bool) {
	t.Helper()
	for i := 0; i < v.NumField(); i++ {
		fv, sf := v.Field(i), v.Type().Field(i)
		if !sf.IsExported() {
			continue
		}
		switch {
		case fv.Kind() == reflect.String:
			s := fillStrings[rng.IntN(len(fillStrings))]
			if plain && rng.IntN(40) > 0 {
				s = fillStrings[[]int{0, 1, 2, 3, 4, 10}[rng.IntN(6)]]
			}
			fv.SetString(s)
		case fv.Kind() == reflect.Int:
			fv.SetInt([]int64{0, 0, 1, 42, -7, 1 << 40}[rng.IntN(6)])
		case fv.Kind() == reflect.Struct && sf.Anonymous:
			fill(t, rng, fv, plain)
		case fv.Type() == reflect.TypeOf((*time.Time)(nil)):
			if !plain && rng.IntN(2) == 0 {
				tm := time.Unix(rng.Int64N(1<<34), 0).UTC()
				fv.Set(reflect.ValueOf(&tm))
			}
		case fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Bool:
			if b := rng.IntN(3); b < 2 {
				x := b == 1
				fv.Set(reflect.ValueOf(&x))
			}
		case fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Int64:
			if rng.IntN(2) == 0 {
				x := rng.Int64N(1<<40) - 1<<20
				fv.Set(reflect.ValueOf(&x))
			}
		case fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Struct:
			if rng.IntN(4) > 0 {
				p := reflect.New(fv.Type().Elem())
				fill(t, rng, p.Elem(), plain)
				fv.Set(p)
			}
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
			if !plain && rng.IntN(3) == 0 {
				s := reflect.MakeSlice(fv.Type(), 1+rng.IntN(2), 2)
				for j := 0; j < s.Len(); j++ {
					fill(t, rng, s.Index(j), plain)
				}
				fv.Set(s)
			}
		default:
			t.Fatalf("field %s of type %s: teach fill and appendFindingJSON about it", sf.Name, fv.Type())
		}
	}
}

// plainASCIIRef is plainASCII byte by byte.
func plainASCIIRef(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return i
		}
	}
	return len(s)
}

// TestPlainASCII: every byte value at every place of strings of up to
// three words, after a prefix of plain bytes or of bytes next to the
// ones that stop it (the word test's borrows).
func TestPlainASCII(t *testing.T) {
	for _, fill := range []byte{'a', ' ', '!', '#', '[', ']', '~', 0x7f} {
		for n := 1; n <= 24; n++ {
			for at := range n {
				for c := range 256 {
					b := bytes.Repeat([]byte{fill}, n)
					b[at] = byte(c)
					s := string(b)
					if got, want := plainASCII(s), plainASCIIRef(s); got != want {
						t.Fatalf("plainASCII(%q) = %d, want %d", s, got, want)
					}
				}
			}
		}
	}
}

func FuzzPlainASCII(f *testing.F) {
	f.Add("/tmp/bench/aws-dense/docs/sdk/account_account-13627.md")
	f.Add("a\"b\\c\x1fd\x80e\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := plainASCII(s), plainASCIIRef(s); got != want {
			t.Fatalf("plainASCII(%q) = %d, want %d", s, got, want)
		}
	})
}
