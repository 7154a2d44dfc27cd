package rules

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/bks-dev/bks/findings"
)

// Values of findings.Finding.Suppressed set by a Filter. An allowlist's is
// SuppressedAllowlist + ":" + its id.
const (
	SuppressedInline    = "inline"
	SuppressedBaseline  = "baseline"
	SuppressedAllowlist = "allowlist"
)

// InlineMarker on a line suppresses the findings on it; it may be followed
// by a reason: `bks:allow reason="test fixture"`.
const InlineMarker = "bks:allow"

// Filter decides which findings are reported. It is safe for concurrent
// use; it records which baseline and allowlist entries matched, for Unused.
type Filter struct {
	cfg  *Config
	base *Baseline
	// root is the directory findings' relative paths are relative to
	// (RelativeTo); "" leaves them as they are.
	root string
	// noInline: InlineMarker in the scanned text suppresses nothing
	// (NoInline).
	noInline bool

	mu       sync.Mutex
	baseHits []bool
	alHits   map[*Allowlist]map[string][]bool
}

// NewFilter returns a filter applying cfg's rules' path scopes and
// allowlists, inline ignores and baseline (which may be nil).
func NewFilter(cfg *Config, baseline *Baseline) *Filter {
	if cfg == nil {
		cfg = Default()
	}
	return &Filter{cfg: cfg, base: baseline, baseHits: make([]bool, baseline.Len()), alHits: map[*Allowlist]map[string][]bool{}}
}

// RelativeTo says which directory the findings' relative paths are
// relative to: the current directory for files, the working tree's root
// for git. Paths are then matched relative to the config file's directory,
// wherever bks runs. It returns f.
func (f *Filter) RelativeTo(dir string) *Filter {
	if abs, err := filepath.Abs(dir); err == nil && dir != "" {
		dir = abs
	}
	f.root = dir
	return f
}

// NoInline makes InlineMarker suppress nothing: for bks serve, whose
// responses (revocation) must not be switched off by the text of the
// repository being scanned. A key marked bks:allow is still live. It
// returns f.
func (f *Filter) NoInline() *Filter {
	f.noInline = true
	return f
}

// Apply decides one finding; lineText is the line it is on (scan.LineAt), or nil
// when unknown. It returns whether the finding is reported. A finding not
// reported is either suppressed — fnd.Suppressed says why: "inline",
// "baseline" or "allowlist:<id>"; show it with --show-suppressed and emit
// it with a suppression in SARIF — or, with fnd.Suppressed left empty, not
// a finding at all: its rule does not apply to its path (include_paths /
// exclude_paths); drop it.
func (f *Filter) Apply(fnd *findings.Finding, lineText []byte) (keep bool) {
	p := relPath(fnd.Path, f.root, f.cfg.Dir)
	r := f.cfg.Rule(fnd.RuleID)
	if r != nil && !r.inScope(p) {
		return false
	}
	why := ""
	if !f.noInline && bytes.Contains(lineText, []byte(InlineMarker)) {
		why = SuppressedInline
	}
	if i, ok := f.base.lookup(fnd); ok {
		f.mu.Lock()
		f.baseHits[i] = true
		f.mu.Unlock()
		if why == "" {
			why = SuppressedBaseline
		}
	}
	check := func(a *Allowlist) {
		if !a.applies(fnd.RuleID) {
			return
		}
		hits := a.match(fnd, p, lineText)
		if hits == nil {
			return
		}
		f.mu.Lock()
		used := f.alHits[a]
		if used == nil {
			used = map[string][]bool{}
			f.alHits[a] = used
		}
		for kind, items := range hits {
			u := used[kind]
			if u == nil {
				u = make([]bool, len(a.itemLines[kind]))
				used[kind] = u
			}
			for _, i := range items {
				u[i] = true
			}
		}
		f.mu.Unlock()
		if why == "" {
			why = SuppressedAllowlist + ":" + a.ID
		}
	}
	for _, a := range f.cfg.Allowlists {
		check(a)
	}
	if r != nil {
		for _, a := range r.Allowlists {
			check(a)
		}
	}
	if why != "" {
		fnd.Suppressed = why
		return false
	}
	return true
}

// Unused lists the baseline entries and the allowlist items (of the
// configuration file; built-in ones are not listed) that matched no finding
// so far, one message each, in file order.
func (f *Filter) Unused() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	lists := append([]*Allowlist(nil), f.cfg.Allowlists...)
	for _, r := range f.cfg.Rules {
		lists = append(lists, r.Allowlists...)
	}
	type msg struct {
		line int
		text string
	}
	var ms []msg
	for _, a := range lists {
		if a.Builtin {
			continue
		}
		used := f.alHits[a]
		for _, k := range allowKinds {
			items := a.items(k)
			for i, it := range items {
				if used != nil && i < len(used[k]) && used[k][i] {
					continue
				}
				line := a.Line
				if i < len(a.itemLines[k]) && a.itemLines[k][i] > 0 {
					line = a.itemLines[k][i]
				}
				ms = append(ms, msg{line, fmt.Sprintf("%s:%d: allowlist %q: %s %q matched nothing", a.File, line, a.ID, singular(k), it)})
			}
		}
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].line < ms[j].line })
	for _, m := range ms {
		out = append(out, m.text)
	}
	if f.base != nil {
		name := f.base.Name
		if name == "" {
			name = "baseline"
		}
		for i, e := range f.base.entries {
			if !f.baseHits[i] {
				out = append(out, fmt.Sprintf("%s: entry %s %s (%s) matched nothing", name, e.RuleID, e.Fingerprint, e.Redacted))
			}
		}
	}
	return out
}

var allowKinds = []string{"paths", "fingerprints", "commits", "regexes", "line_regexes", "stopwords"}

func singular(kind string) string {
	switch kind {
	case "paths":
		return "path"
	case "fingerprints":
		return "fingerprint"
	case "commits":
		return "commit"
	case "regexes":
		return "regex"
	case "line_regexes":
		return "line regex"
	}
	return "stopword"
}

func (a *Allowlist) items(kind string) []string {
	switch kind {
	case "paths":
		return a.Paths
	case "fingerprints":
		return a.Fingerprints
	case "commits":
		return a.Commits
	case "regexes":
		return a.Regexes
	case "line_regexes":
		return a.LineRegexes
	}
	return a.Stopwords
}

func (r *Rule) inScope(p string) bool {
	if len(r.include) > 0 {
		in := false
		for _, g := range r.include {
			if g.match(p) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	for _, g := range r.exclude {
		if g.match(p) {
			return false
		}
	}
	return true
}

func (a *Allowlist) applies(rule string) bool {
	return len(a.rules) == 0 || a.rules[rule]
}

// match returns, per kind, the indexes of the items that matched, or nil
// when the allowlist as a whole does not match the finding.
func (a *Allowlist) match(fnd *findings.Finding, p string, line []byte) map[string][]int {
	// Made at the first hit: most findings match no allowlist.
	var hits map[string][]int
	hit := func(kind string, i int) {
		if hits == nil {
			hits = map[string][]int{}
		}
		hits[kind] = append(hits[kind], i)
	}
	raw := fnd.RawKey()
	for i, g := range a.paths {
		if g.match(p) {
			hit("paths", i)
		}
	}
	for i, fp := range a.Fingerprints {
		if fp == fnd.Fingerprint {
			hit("fingerprints", i)
		}
	}
	if fnd.Commit != "" {
		c := strings.ToLower(fnd.Commit)
		for i, want := range a.Commits {
			if strings.HasPrefix(c, strings.ToLower(want)) {
				hit("commits", i)
			}
		}
	}
	for i, re := range a.regexes {
		if raw != "" && re.MatchString(raw) {
			hit("regexes", i)
		}
	}
	for i, re := range a.lineRes {
		if line != nil && re.Match(line) {
			hit("line_regexes", i)
		}
	}
	if len(a.stopwords) > 0 && raw != "" {
		var key loweredKey
		key.set(raw)
		for i, sw := range a.stopwords {
			if key.contains(sw) {
				hit("stopwords", i)
			}
		}
	}
	if len(hits) == 0 {
		return nil
	}
	if a.Condition == "all" {
		for _, k := range allowKinds {
			if len(a.items(k)) > 0 && len(hits[k]) == 0 {
				return nil
			}
		}
	}
	return hits
}

// loweredKey is a key lowered once for the stopword checks, whether
// strings.ToLower(key) holds each (lower-case) word. For ASCII keys, the
// usual case, it lowers no copy on the heap: lowering cost an allocation
// per finding, a quarter of the filter's time on AWS text (upper-case key
// ids). A key of up to lowerBuf bytes (an access key and its secret) is
// lowered into a buffer 8 bytes at a time and searched with bytes.Index:
// comparing byte by byte at every offset was then most of the filter's
// cost on AWS-dense text. Longer ASCII keys are compared byte by byte,
// others lowered by strings.ToLower.
type loweredKey struct {
	buf [lowerBuf]byte
	// n is the length of the lowered key in buf, when it fits and is
	// ASCII; -1 otherwise. A length, not a slice of buf: a pointer into
	// itself would put every loweredKey on the heap, an allocation of
	// its 300 bytes per finding.
	n     int
	ascii string // else the key, when it is ASCII
	fold  string // else strings.ToLower(key)
}

// set lowers key.
func (k *loweredKey) set(key string) {
	k.n, k.ascii, k.fold = -1, "", ""
	if len(key) > lowerBuf {
		for i := 0; i < len(key); i++ {
			if key[i] >= utf8.RuneSelf {
				k.fold = strings.ToLower(key)
				return
			}
		}
		k.ascii = key
		return
	}
	const high = 0x8080808080808080
	n := 0
	for ; n+8 <= len(key); n += 8 {
		x := binary.LittleEndian.Uint64([]byte(key[n : n+8]))
		if x&high != 0 {
			k.fold = strings.ToLower(key)
			return
		}
		binary.LittleEndian.PutUint64(k.buf[n:], lowerASCII8(x))
	}
	for ; n < len(key); n++ {
		if key[n] >= utf8.RuneSelf {
			k.fold = strings.ToLower(key)
			return
		}
		k.buf[n] = lowerASCII(key[n])
	}
	k.n = len(key)
}

// contains says whether the lowered key holds the lower-case word w.
func (k *loweredKey) contains(w string) bool {
	switch {
	case k.n >= 0:
		return bytes.Contains(k.buf[:k.n], []byte(w))
	case k.ascii != "":
		return asciiLowerContains(k.ascii, w)
	default:
		return strings.Contains(k.fold, w)
	}
}

// asciiLowerContains says whether the ASCII string s, lowered, holds w.
func asciiLowerContains(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		k := 0
		for k < len(w) && lowerASCII(s[i+k]) == w[k] {
			k++
		}
		if k == len(w) {
			return true
		}
	}
	return false
}

// lowerBuf is the longest key loweredKey lowers into a buffer.
const lowerBuf = 256

// lowerASCII8 lowers the 8 ASCII bytes of x. For a byte b below 0x80,
// b+0x3f has its high bit set from 'A' on and b+0x25 from 'Z'+1 on, with
// no carry into the next byte; that bit, moved to 0x20, lowers b.
func lowerASCII8(x uint64) uint64 {
	const high, fromA, pastZ = 0x8080808080808080, 0x3f3f3f3f3f3f3f3f, 0x2525252525252525
	return x | ((x+fromA)&^(x+pastZ)&high)>>2
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
