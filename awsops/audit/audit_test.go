package audit

import (
	"path/filepath"
	"testing"
)

func TestDefaultPath(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_STATE_HOME": "/s", "HOME": "/h"}, "/s/bks/bks-audit.jsonl"},
		{map[string]string{"XDG_STATE_HOME": "rel", "HOME": "/h"}, "/h/.local/state/bks/bks-audit.jsonl"}, // relative: ignored (XDG spec)
		{map[string]string{"HOME": "/h"}, "/h/.local/state/bks/bks-audit.jsonl"},
		{map[string]string{}, ""},
	} {
		got, err := DefaultPath(func(k string) string { return tc.env[k] })
		if got != filepath.FromSlash(tc.want) || (err == nil) != (tc.want != "") {
			t.Errorf("%v: %q, %v; want %q", tc.env, got, err, tc.want)
		}
	}
}
