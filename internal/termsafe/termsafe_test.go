package termsafe

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"plain/path.go":          "plain/path.go",
		"a\x1b]0;OWNED\a\x1b[2J": `a\x1b]0;OWNED\a\x1b[2J`,
		"line\nbreak\ttab\r":     `line\nbreak\ttab\r`,
		"bidi\u202eevil":         `bidi\u202eevil`,
		"bad\xffutf8 ü":          `bad\xffutf8 ü`,
		"c1\u009b2J":             `c1\u009b2J`,
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestWriter(t *testing.T) {
	var b strings.Builder
	w := Writer(&b)
	in := "bks: a\x1b[2J.zip:\tbad\n"
	n, err := w.Write([]byte(in))
	if err != nil || n != len(in) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if got, want := b.String(), "bks: a\\x1b[2J.zip:\tbad\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
	if Writer(w) != w || Raw(w) != &b || Raw(&b) != &b {
		t.Error("Writer wraps twice or Raw does not unwrap")
	}
}
