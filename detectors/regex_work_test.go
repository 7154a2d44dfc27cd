package detectors

import (
	"regexp"
	"strings"
	"testing"
)

// regexWork scans data with one regex rule and returns how many bytes the
// rule handed to its regex.
func regexWork(t testing.TB, r RegexRule, data []byte) (int64, []Match) {
	t.Helper()
	d := NewRegex(r, DecodeOptions{})
	var ms []Match
	New(Options{Extra: []Detector{d}, IncludeInvalid: true}).Scan(data, len(data), func(m Match) { ms = append(ms, m) })
	return d.(*regexDetector).searched.Load(), ms
}

// workBound is the most bytes a scan of n bytes may hand to the regex of a
// rule whose window is maxLen either side: each byte is searched at most
// 4 times, plus one window at the end.
func workBound(n, maxLen int) int64 { return int64(4*n + 4*(maxLen+1)) }

// TestRegexRuleLinearWork is issue 14's hostile rule: keyword "aa" on a
// run of "a" hits at every position. The regex must not run on a window
// per hit (2,000,000 x 1,026 bytes): overlapping windows are merged, so
// the work stays linear in the input, counted in bytes handed to the
// regex, not timed.
func TestRegexRuleLinearWork(t *testing.T) {
	for _, maxLen := range []int{16, 512, 16384} {
		r := RegexRule{ID: "hostile", Keywords: []string{"aa"}, FoldCase: true,
			Regexp: regexp.MustCompile(`aa(?P<secret>b[a-z]{8})`), MaxLen: maxLen, Decoder: DecoderNone}
		n := 200_000
		work, ms := regexWork(t, r, []byte(strings.Repeat("a", n)))
		if len(ms) != 0 {
			t.Errorf("max_len %d: %d matches in a run of a", maxLen, len(ms))
		}
		t.Logf("max_len %d: %d bytes handed to the regex for %d bytes of input (%.2f per byte)", maxLen, work, n, float64(work)/float64(n))
		if b := workBound(n, maxLen); work > b {
			t.Errorf("max_len %d: %d bytes handed to the regex for %d bytes of input (%.0f per byte), want at most %d",
				maxLen, work, n, float64(work)/float64(n), b)
		}
	}
}

// FuzzRegexRuleWork runs random rules on random input: whatever the rule,
// the bytes handed to its regex stay within workBound, what it reports is
// in order and inside the input, and where keywords are far apart it is
// what one window per hit found.
func FuzzRegexRuleWork(f *testing.F) {
	f.Add(`aa(?P<secret>b[a-z]{8})`, "aa", "a", uint16(16), false, strings.Repeat("a", 5000))
	f.Add(`a+`, "aa", "aaa", uint16(40), true, strings.Repeat("a", 3000))
	f.Add(`(?P<secret>\w+)`, "ab", "b ", uint16(16), true, strings.Repeat("ab ", 2000))
	f.Add(`k(?P<secret>[0-9a-f]{8})\b`, "k0", "kk", uint16(64), false, strings.Repeat("k0123abcd ", 500)+"kk")
	f.Add(`[^x]*x|a`, "aa", "xa", uint16(100), false, strings.Repeat("a", 4000)+"x")
	sparse := strings.Repeat("acme_Zx81fQk2LmP0aT7w "+strings.Repeat(".", 100), 5)
	f.Add(`(?:token\s*=\s*)?acme_(?P<secret>[A-Za-z0-9]{16})\b`, "acme_", "aT", uint16(24), true, sparse)
	f.Add(`\w+`, "mP", "k2", uint16(0), false, sparse)
	f.Fuzz(func(t *testing.T, pattern, kw1, kw2 string, maxLen uint16, fold bool, data string) {
		re, err := regexp.Compile(pattern)
		if err != nil || len(data) > 1<<16 {
			return
		}
		var kws []string
		for _, k := range []string{kw1, kw2} {
			if len(k) >= 2 && len(k) <= 16 {
				kws = append(kws, k)
			}
		}
		if len(kws) == 0 {
			return
		}
		ml := 16 + int(maxLen)%1024
		r := RegexRule{ID: "fuzz", Keywords: kws, FoldCase: fold, Regexp: re, MaxLen: ml, Decoder: DecoderNone}
		work, ms := regexWork(t, r, []byte(data))
		if b := workBound(len(data), ml); work > b {
			t.Fatalf("%d bytes handed to the regex for %d bytes of input, want at most %d", work, len(data), b)
		}
		if len(data) <= 4096 { // one window per hit is slow on dense hits
			sameAsWindows(t, r, []byte(data), ms)
		}
		end := 0
		for _, m := range ms {
			if m.Start < end || m.End <= m.Start || m.End > len(data) || m.End-m.Start > ml+1 {
				t.Fatalf("match %d..%d after %d in %d bytes", m.Start, m.End, end, len(data))
			}
			end = m.End
		}
	})
}

// windowDetector is the regex rule as it was: the regex on MaxLen bytes
// either side of every keyword hit, with no session. It records the hits.
type windowDetector struct {
	*regexDetector
	hits []int
}

func (w *windowDetector) Check(data []byte, pos int, _ int) (Match, bool) {
	w.hits = append(w.hits, pos)
	d, r := w.regexDetector, &w.rule
	lo, hi := max(0, pos-r.MaxLen-1), min(len(data), pos+r.MaxLen+1)
	win := data[lo:hi]
	for _, m := range r.Regexp.FindAllSubmatchIndex(win, -1) {
		s, e := m[2*d.secretIx], m[2*d.secretIx+1]
		if s < 0 || e <= s || lo+s < pos || (e == len(win) && hi < len(data)) {
			continue
		}
		if r.MinEntropy > 0 && Entropy(win[s:e]) < r.MinEntropy {
			continue
		}
		return d.match(data, lo+s, lo+e), true
	}
	return Match{}, false
}

// sameAsWindows checks that where no two keyword hits have overlapping
// windows (ordinary text), the merged windows find what one window per hit
// found.
func sameAsWindows(t *testing.T, r RegexRule, data []byte, got []Match) {
	t.Helper()
	w := &windowDetector{regexDetector: NewRegex(r, DecodeOptions{}).(*regexDetector)}
	var want []Match
	New(Options{Extra: []Detector{w}, IncludeInvalid: true}).Scan(data, len(data), func(m Match) { want = append(want, m) })
	for i := 1; i < len(w.hits); i++ {
		if w.hits[i]-w.hits[i-1] <= 2*r.MaxLen+2 {
			return
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d matches, one window per hit finds %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Start != want[i].Start || got[i].End != want[i].End {
			t.Fatalf("match %d at %d..%d, one window per hit finds %d..%d", i, got[i].Start, got[i].End, want[i].Start, want[i].End)
		}
	}
}
