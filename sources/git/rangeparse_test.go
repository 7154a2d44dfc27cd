package git

import (
	"strings"
	"testing"
)

// TestParseRangeRefusesWhatItCannotHonour: parseRange serves the SHA-1 and
// SHA-256 paths. An empty side used to mean "everything HEAD reaches"
// (--range ..HEAD scanned the whole history) and a second ".." reached
// go-git's resolver, whose error named neither the flag nor the form.
func TestParseRangeRefusesWhatItCannotHonour(t *testing.T) {
	for in, want := range map[string]string{
		"..HEAD":     `--range "..HEAD": no BASE before ".."`,
		"..":         `--range "..": no BASE before ".."`,
		"a..b..c":    `--range "a..b..c": more than one ".."`,
		"a..b...c":   `--range "a..b...c": more than one ".."`,
		"main":       `--range "main": want BASE..HEAD`,
		"a...b":      `--range "a...b": want BASE..HEAD`,
		" ..HEAD":    `a space or control character`,
		"main.. ":    `--range "main.. ": a space or control character`,
		"a b..HEAD":  `a space or control character`,
		"a..b\n..c":  `a space or control character`,
		"\t":         `a space or control character`,
		"a\x00..b":   `a space or control character`,
		"main..HEAD": "",
		"main..":     "", // HEAD, as git reads it
		"v1.2..v1.3": "",
	} {
		base, head, err := (&Options{Range: in}).parseRange()
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", in, err)
		case want == "" && (base == "" || head == ""):
			t.Errorf("%q: base %q head %q", in, base, head)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: err %v, want %q", in, err, want)
		}
	}
}
