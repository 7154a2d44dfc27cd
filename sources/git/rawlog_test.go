package git

import (
	"bufio"
	"strings"
	"testing"
)

func TestParseRawLog(t *testing.T) {
	a, b, z := strings.Repeat("a", 40), strings.Repeat("b", 64), strings.Repeat("0", 40)
	in := strings.Join([]string{
		"commit c1",
		":000000 100644 " + z + " " + a + " A", "new.txt",
		":100644 000000 " + a + " " + z + " D", "gone.txt",
		":160000 160000 " + z + " " + a + " M", "sub",
		"\ncommit c2\x01meta",
		"::100644 100644 100644 " + a + " " + a + " " + b + " MM", "merged\nname\x1b[2J.txt",
		"",
	}, "\x00")
	var got []string
	err := parseRawLog(bufio.NewReader(strings.NewReader(in)), func(h []byte) error {
		got = append(got, "commit "+string(h))
		return nil
	}, func(id string, path []byte) error {
		got = append(got, id[:1]+" "+string(path))
		return nil
	})
	want := []string{"commit c1", "a new.txt", "commit c2\x01meta", "b merged\nname\x1b[2J.txt"}
	if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{
		":100644 100644 " + a + " " + a + " M\x00p",        // before any commit
		"commit c\x00:100644 " + a + " M\x00p",             // too few fields
		"commit c\x00:100644 100644 " + a + " " + a + " M", // no path
		"commit c\x00garbage",
	} {
		err := parseRawLog(bufio.NewReader(strings.NewReader(bad)), func([]byte) error { return nil }, func(string, []byte) error { return nil })
		if err == nil || !strings.HasPrefix(err.Error(), "git log:") {
			t.Errorf("%q: err %v, want a git log: error", bad, err)
		}
	}
}

func FuzzParseRawLog(f *testing.F) {
	f.Add([]byte("commit x\x00:100644 100644 " + strings.Repeat("a", 40) + " " + strings.Repeat("b", 40) + " M\x00p\x00"))
	f.Add([]byte("commit x\x00::\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		_ = parseRawLog(bufio.NewReader(strings.NewReader(string(in))), func([]byte) error { return nil }, func(id string, _ []byte) error {
			if id == "" {
				t.Fatal("empty blob id")
			}
			return nil
		})
	})
}
