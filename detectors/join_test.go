package detectors

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testkeys"
)

// wrap cuts s into lines of width w, each prefixed by indent.
func wrap(s string, w int, indent string) string {
	var b strings.Builder
	for len(s) > 0 {
		n := min(w, len(s))
		b.WriteString(indent + s[:n] + "\n")
		s = s[n:]
	}
	return b.String()
}

// gnuBase64 is what `printf 'TOKEN=%s\n' "$K" | base64` prints: GNU
// base64 wraps at 76 columns.
func gnuBase64(s string) string {
	return wrap(base64.StdEncoding.EncodeToString([]byte(s)), 76, "")
}

// thirds cuts s into three pieces.
func thirds(s string) (string, string, string) {
	n := len(s) / 3
	return s[:n], s[n : 2*n], s[2*n:]
}

// A key written in pieces is found whole, once, at its first piece, when
// the syntax makes the continuation certain (join.go).
func TestJoinSplitKeys(t *testing.T) {
	e := New(Options{Decode: DecodeOptions{Now: testNow}})
	k := keyConsole
	a, b := k[:60], k[60:]
	s1, s2, s3 := thirds(keyShort)
	tests := []struct {
		name, text, key string
		pieces          int
		enc             string
	}{
		// The repro: printf 'k = ("%s"\n     "%s")\n' "${K:0:60}" "${K:60}".
		{"python adjacent literals", fmt.Sprintf("k = (\"%s\"\n     \"%s\")\n", a, b), k, 2, ""},
		{"python + concatenation", fmt.Sprintf("k = '%s' + '%s'\n", a, b), k, 2, ""},
		{"python backslash between literals", fmt.Sprintf("k = '%s' \\\n    '%s'\n", a, b), k, 2, ""},
		{"javascript + across lines", fmt.Sprintf("const k = \"%s\" +\n  \"%s\";\n", a, b), k, 2, ""},
		{"go + across lines", fmt.Sprintf("k := \"%s\" +\n\t\"%s\"\n", a, b), k, 2, ""},
		{"template literals", fmt.Sprintf("k = `%s` + `%s`\n", a, b), k, 2, ""},
		{"php . concatenation", fmt.Sprintf("$k = '%s' . '%s';\n", a, b), k, 2, ""},
		{"c adjacent literals", fmt.Sprintf("#define K \"%s\" \"%s\"\n", a, b), k, 2, ""},
		{"mixed quotes", fmt.Sprintf("k = \"%s\" '%s'\n", a, b), k, 2, ""},
		{"three literals", fmt.Sprintf("k = (\"%s\"\n \"%s\"\n \"%s\")\n", k[:40], k[40:90], k[90:]), k, 3, ""},
		{"short-term in three literals", fmt.Sprintf("t = \"%s\" +\n    \"%s\" +\n    \"%s\"\n", s1, s2, s3), keyShort, 3, ""},
		{"first piece too short to show its account", fmt.Sprintf("k = \"%s\" \"%s\"\n", k[:20], k[20:]), k, 2, ""},
		{"shell backslash-newline", fmt.Sprintf("export K=%s\\\n%s\n", a, b), k, 2, ""},
		{"shell backslash-newline in quotes", fmt.Sprintf("K=\"%s\\\n%s\"\n", a, b), k, 2, ""},
		{"backslash CRLF", fmt.Sprintf("K=%s\\\r\n%s\r\n", a, b), k, 2, ""},
		{"yaml double-quoted escaped line break", fmt.Sprintf("key: \"%s\\\n  %s\"\n", a, b), k, 2, ""},
		{"yaml folded scalar", fmt.Sprintf("env:\n  key: >-\n    %s\n    %s\nnext: 1\n", a, b), k, 2, ""},
		{"yaml block scalar", fmt.Sprintf("key: |\n  %s\n  %s\n", a, b), k, 2, ""},
		{"yaml block scalar with indicators and comment", fmt.Sprintf("- |2- # token\n  %s\n  %s\n", a, b), k, 2, ""},
		{"pem 64 columns", "-----BEGIN BEDROCK API KEY-----\n" + wrap(k, 64, "") + "-----END BEDROCK API KEY-----\n", k, 3, ""},
		{"fold 76 columns after a name", wrap("TOKEN="+k, 76, ""), k, 2, ""},
		{"indented 64-column block", "key:\n" + wrap(k, 64, "    ") + "other: 1\n", k, 3, ""},
		{"two full lines of another width", wrap(k, 50, ""), k, 3, ""},
		{"short-term key wrapped at 76", wrap("T="+keyShort, 76, ""), keyShort, (len(keyShort) + 2 + 75) / 76, ""},
		{"wrapped base64 long-term (GNU base64)", gnuBase64("TOKEN=" + k + "\n"), k, 3, EncodingBase64},
		{"wrapped base64 short-term (GNU base64)", gnuBase64("AWS_BEARER_TOKEN_BEDROCK=" + keyShort + "\n"), keyShort, 0, EncodingBase64},
		{"wrapped base64 in PEM", "-----BEGIN X-----\n" + wrap(base64.StdEncoding.EncodeToString([]byte("{\"k\":\""+keyClaude+"\"}")), 64, "") + "-----END X-----\n", keyClaude, 3, EncodingBase64},
		{"wrapped base64 claude short-term", gnuBase64(keyClaudeShort), keyClaudeShort, 0, EncodingBase64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms := scanAll(t, e, []byte(tc.text))
			if len(ms) != 1 {
				t.Fatalf("%d matches, want 1: %+v\ninput:\n%s", len(ms), ms, tc.text)
			}
			m := ms[0]
			if !isHigh(m) || m.Key != tc.key {
				t.Fatalf("not the whole key: err %v, partial %q, key %d chars (want %d)", m.Err, m.Decoded.PartialReason, len(m.Key), len(tc.key))
			}
			if tc.pieces > 0 && m.Pieces != tc.pieces {
				t.Errorf("pieces %d, want %d", m.Pieces, tc.pieces)
			}
			if m.Pieces < 2 {
				t.Errorf("pieces %d: not reported as joined", m.Pieces)
			}
			if m.Encoding != tc.enc {
				t.Errorf("encoding %q, want %q", m.Encoding, tc.enc)
			}
			if tc.enc == "" {
				if want := strings.Index(tc.text, tc.key[:8]); m.Start != want {
					t.Errorf("start %d, want the first piece's %d", m.Start, want)
				}
			}
			if m.End > len(tc.text) || m.End < strings.LastIndex(tc.text, tc.key[len(tc.key)-3:]) {
				t.Errorf("end %d does not cover the last piece", m.End)
			}
		})
	}
}

// Pieces are not joined where the syntax does not make the continuation
// certain, nor after a key that is already whole.
func TestJoinOnlyWhenCertain(t *testing.T) {
	e := New(Options{Decode: DecodeOptions{Now: testNow}})
	k := keyConsole
	a, b := k[:60], k[60:]
	tests := []struct {
		name, text string
		want       []string // keys found, in order
		partial    int      // how many of them are partial
	}{
		{"whole key then another literal", fmt.Sprintf("k = \"%s\" \"%s\"\n", k, keyAPI), []string{k, keyAPI}, 0},
		{"whole key + literal", fmt.Sprintf("k = \"%s\" + \"%s\"\n", k, "suffix"), []string{k}, 0},
		{"list items", fmt.Sprintf("ks = [\"%s\", \"%s\"]\n", a, b), []string{a}, 1},
		{"two statements", fmt.Sprintf("a = \"%s\"\nb = \"%s\"\n", a, b), []string{a}, 1},
		{"yaml mapping, not a block scalar", fmt.Sprintf("env:\n  A: %s\n  %s: 1\n", a, b), []string{a}, 1},
		{"plain lines of unequal width", a + "\n" + b + "\n", []string{a}, 1},
		{"a space before the line break", fmt.Sprintf("K=%s \\\n%s\n", a, b), []string{a}, 1},
		{"blank line in a wrapped block", wrap(k[:64], 64, "") + "\n" + k[64:] + "\n", []string{k[:64]}, 1},
		{"continuation with other indentation", fmt.Sprintf("key: |\n  %s\n    %s\n", a, b), []string{a}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms := scanAll(t, e, []byte(tc.text))
			var got []string
			partial := 0
			for _, m := range ms {
				got = append(got, m.Key)
				if m.Decoded.PartialReason != "" {
					partial++
				}
				if m.Pieces != 0 {
					t.Errorf("joined %d pieces", m.Pieces)
				}
			}
			if len(got) != len(tc.want) || partial != tc.partial {
				t.Fatalf("found %d keys (%d partial), want %d (%d partial)", len(got), partial, len(tc.want), tc.partial)
			}
			for i := range got {
				if strings.TrimRight(got[i], "=") != strings.TrimRight(tc.want[i], "=") {
					t.Errorf("key %d: %.20s…, want %.20s…", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestIsBlockHeader(t *testing.T) {
	for line, want := range map[string]bool{
		"key: |": true, "key: >": true, "key: |-": true, "key: >+": true, "- |": true,
		"key: |2": true, "key: >-2": true, "key: |2- # c": true, "|": true,
		"key: value": false, "key: a|": false, "key: >>": false, "key: |x": false, "": false,
	} {
		if got := isBlockHeader([]byte(line)); got != want {
			t.Errorf("isBlockHeader(%q) = %v, want %v", line, got, want)
		}
	}
}

// FuzzJoin: a key split at any point after its prefix, written with any of
// the joining syntaxes amid arbitrary text, is found whole; and no input
// makes a join report a span outside it.
func FuzzJoin(f *testing.F) {
	f.Add([]byte("x = 1\n"), uint16(60), uint8(0), uint8(0))
	f.Add([]byte("\"'`\\\n"), uint16(5), uint8(1), uint8(1))
	f.Add([]byte("key: |\n  "), uint16(200), uint8(3), uint8(2))
	planted := []string{keyConsole, keyShort, keyClaude, keyClaudeShort}
	templates := []string{
		"%s\nk = (\"%s\"\n  \"%s\")\n%s",
		"%s\nk = '%s' + '%s'\n%s",
		"%s\nexport K=%s\\\n%s\n%s",
		"%s\nkey: |\n    %s\n    %s\n%s",
		"%s\n$k = \"%s\" . \"%s\";\n%s",
	}
	e := New(Options{IncludeInvalid: true})
	f.Fuzz(func(t *testing.T, data []byte, off uint16, which, tmpl uint8) {
		key := planted[int(which)%len(planted)]
		f, _ := Identify(key)
		whole := strings.TrimRight(key, "=")
		cut := len(f.Prefix) + int(off)%(len(whole)-len(f.Prefix))
		in := []byte(fmt.Sprintf(templates[int(tmpl)%len(templates)], data, key[:cut], key[cut:], data))
		n := 0
		e.Scan(in, len(in), func(m Match) {
			if m.Start < 0 || m.End > len(in) || m.Start >= m.End {
				t.Fatalf("match [%d,%d) outside input of %d", m.Start, m.End, len(in))
			}
			if m.Key == key && isHigh(m) {
				n++
			}
		})
		if n != 1 {
			t.Fatalf("key split at %d found whole %d times", cut, n)
		}
	})
}

// A wrapped key is found whatever column it starts at, so wherever the
// line breaks fall, including inside its prefix (found through the body
// start, checkWrapped). A non-console long-term key has no known body
// start: one whose "ABSK" is cut by a line break is missed (README).
func TestJoinWrapEveryOffset(t *testing.T) {
	e := New(Options{Decode: DecodeOptions{Now: testNow}})
	forms := []struct {
		name string
		text func(k string, n, w int) string
	}{
		{"plain", func(k string, n, w int) string { return wrap(strings.Repeat("x", n)+"TOKEN="+k, w, "") }},
		{"yaml block", func(k string, n, w int) string { return "k: |\n" + wrap(strings.Repeat("x", n)+"TOKEN="+k, w, "  ") }},
		{"base64", func(k string, n, w int) string {
			return wrap(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", n)+"TOKEN="+k+"\n")), w, "")
		}},
	}
	for _, k := range []string{keyConsole, keyShort, keyClaude, keyClaudeShort, keyAPI} {
		fam, _ := Identify(k)
		for _, form := range forms {
			for _, w := range []int{64, 76} {
				missed := 0
				for n := 0; n < w; n++ {
					text := form.text(k, n, w)
					ms := scanAll(t, e, []byte(text))
					if len(ms) == 1 && isHigh(ms[0]) && ms[0].Key == k && ms[0].Pieces >= 2 {
						if form.name != "base64" && text[ms[0].Start] != k[0] {
							t.Errorf("%s %s w=%d n=%d: starts at %q", fam.Rule, form.name, w, n, text[ms[0].Start])
						}
						continue
					}
					if len(ms) > 1 {
						t.Errorf("%s %s w=%d n=%d: %d matches", fam.Rule, form.name, w, n, len(ms))
					}
					missed++
				}
				if k == keyAPI && missed <= len(fam.Prefix) {
					continue // the prefix cut: documented
				}
				if missed > 0 {
					t.Errorf("%s %s at %d columns: missed at %d of %d columns", fam.Rule, form.name, w, missed, w)
				}
			}
		}
	}
}

// A key written in pieces is reported by exactly one of two overlapping
// chunks, wherever the boundary falls, even when its first line or its
// prefix's line break lies across it: the second chunk reads back to the
// line's start (ScanChunk's look-back).
func TestJoinChunkBoundary(t *testing.T) {
	e := New(Options{})
	for _, k := range []string{keyShort, keyConsole} {
		for _, n := range []int{5, 60} {
			for _, form := range []string{
				wrap(strings.Repeat("x", n)+"TOKEN="+k, 64, ""),
				gnuBase64(strings.Repeat("x", n) + "TOKEN=" + k),
				fmt.Sprintf("%sk = (\"%s\"\n  \"%s\")\n", strings.Repeat("x", n), k[:50], k[50:]),
			} {
				text := []byte(strings.Repeat("x ", 300) + "\n" + form + strings.Repeat(" y", 300))
				ms := scanAll(t, e, text)
				if len(ms) != 1 || !isHigh(ms[0]) {
					t.Fatalf("n=%d: %d matches in the whole text", n, len(ms))
				}
				// Where the pieces meet: the first 200 bytes of a long key.
				end := min(ms[0].End+10, ms[0].Start+200)
				for cut := ms[0].Start - 200; cut < end; cut++ {
					found := 0
					count := func(m Match) {
						if isHigh(m) && m.Key == k {
							found++
						}
					}
					e.ScanChunk(text[:min(len(text), cut+e.MaxMatchLen())], 0, cut, count)
					back := max(0, cut-e.LookBack())
					e.ScanChunk(text[back:], cut-back, 0, count)
					if found != 1 {
						t.Fatalf("%d-character key, n=%d, cut at %d (key at %d): found %d times", len(k), n, cut, ms[0].Start, found)
					}
				}
			}
		}
	}
}

// Crafted input cannot make the checks' work (joining pieces, reading back
// to a line's start or a YAML block's header, scanning a run of key
// characters) grow faster than the input: counted, not timed.
func TestHostileInputLinearWork(t *testing.T) {
	e := New(Options{})
	const n = 256 << 10
	fill := func(unit string) string { return strings.Repeat(unit, n/len(unit)+1)[:n] }
	// A line whose end cuts "ABSK", then a console key's body start (a
	// deep anchor) on the next (from an independent review).
	cutLine := "KQmVkcm9ja0FQSUtleS1oNDJ6LWF0LTEyMzQ1Njc4OTAxMjo"
	cutLine += strings.Repeat("a", 61-len(cutLine)) + "ABS\n"
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	inputs := map[string]string{
		"cut prefix every line":             fill(cutLine),
		"cut prefix every line, yaml block": "k: |\n" + fill("  "+cutLine),
		"base64 of a run of prefixes":       b64(fill("ABSK")[:n*3/4]),
		"base64 of prefixes, wrapped":       wrap(b64(fill("ABSK")[:n*3/4]), 76, ""),
		"base64 of short-term prefixes":     b64(fill("bedrock-api-key-")[:n*3/4]),
		"backslash then many blanks":        fill(strings.Repeat("ABSK", 49) + "\\\n" + strings.Repeat(" ", 20000) + "-\n"),
		"a run of prefixes":                 fill("ABSK"),
		"prefixes in literals":              fill(`"ABSKxx" "ABSKyy" `),
		"short-term literals":               fill(`"bedrock-api-key-YmVk" + `),
		"yaml lines":                        "k: |\n" + fill("  "+strings.Repeat("z", 200)+" ABSKxx\n"),
		"yaml alternating indents":          "k: |\n" + fill("  ABSKxx\n    ABSKyy\n"),
		"long line then a piece":            fill(strings.Repeat("z", 20000) + " ABSKxx\n"),
		"deep anchors wrapped":              wrap(fill("YmVkcm9jay5hbWF6"), 64, ""),
		"prefix cut at every line":          fill("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxbedrock-\napi-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249Q2FsbFdpdGhCZWFyZXJU\n"),
		"backslash continuations":           fill("ABSKxx\\\n"),
	}
	inv := New(Options{IncludeInvalid: true})
	for name, in := range inputs {
		st, st2 := newScanState(), newScanState()
		e.scanWith(st, []byte(in), 0, len(in), func(Match) bool { return true })
		inv.scanWith(st2, []byte(in), 0, len(in), func(Match) bool { return true })
		st.work = max(st.work, st2.work)
		perByte := float64(st.work) / float64(len(in))
		t.Logf("%s: %.1f bytes of work per input byte", name, perByte)
		if perByte > 64 {
			t.Errorf("%s: %d bytes of work for %d bytes of input", name, st.work, len(in))
		}
	}
}

// Crafted text before a split key does not stop it being joined (a join
// budget once let 512 KiB of it hide keys whose prefix a line break cuts).
func TestJoinAfterCraftedText(t *testing.T) {
	e := New(Options{Decode: DecodeOptions{Now: testNow}})
	line := "KQmVkcm9ja0FQSUtleS1oNDJ6LWF0LTEyMzQ1Njc4OTAxMjo"
	line += strings.Repeat("a", 61-len(line)) + "ABS\n"
	junk := strings.Repeat(line, (512<<10)/len(line)) + "\n"
	k := keyConsole
	for name, tail := range map[string]string{
		"prefix cut in a 64-column block": wrap(strings.Repeat("x", 62)+k, 64, ""),
		"short first literal":             fmt.Sprintf("k = \"%s\" \"%s\"\n", k[:20], k[20:]),
		"long first literal":              fmt.Sprintf("k = \"%s\" \"%s\"\n", k[:60], k[60:]),
	} {
		var got []Match
		for _, m := range scanAll(t, e, []byte(junk+tail)) {
			if m.Start >= len(junk) {
				got = append(got, m)
			}
		}
		if len(got) != 1 || !isHigh(got[0]) || got[0].Key != k {
			t.Errorf("%s: %d findings after the crafted text, want the whole key", name, len(got))
		}
	}
}

// A long short-term key (a 1,300-character session token) wrapped at the
// narrowest width, plain and in base64, is joined over its 60-80 lines.
func TestJoinNarrowWrapManyLines(t *testing.T) {
	e := New(Options{Decode: DecodeOptions{Now: testNow}})
	long := testkeys.ShortTerm(testkeys.ShortTermOptions{
		AccessKeyID: testkeys.AccessKeyID("ASIA", "609629065308", 3), SecretKey: "fake/secret/key",
		SessionToken: testkeys.SessionToken("609629065308", 1300, 3), Region: "eu-central-1",
		Issued: testNow, Expires: 43200,
	})
	for _, w := range []int{40, 48, 64} {
		for name, text := range map[string]string{
			"plain":  wrap("T="+long, w, ""),
			"base64": wrap(base64.StdEncoding.EncodeToString([]byte("T="+long+"\n")), w, ""),
		} {
			ms := scanAll(t, e, []byte(text))
			if len(ms) != 1 || !isHigh(ms[0]) || ms[0].Key != long {
				t.Errorf("%s wrapped at %d (%d lines): %d findings, want the whole key", name, w, strings.Count(text, "\n"), len(ms))
			}
		}
	}
}
