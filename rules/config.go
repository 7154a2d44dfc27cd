// Package rules holds bks's configuration: the rules (built-in ones as
// embedded TOML, users' own from .bks.toml), the detectors they become, the
// allowlists, inline `bks:allow` ignores and baselines that decide which
// findings are reported.
//
// A finding flows through it in two places: Config.Detectors extends the
// detector engine (same single pass as the Bedrock detectors), and a Filter
// decides per finding whether it is reported or suppressed.
package rules

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/bks-dev/bks/awsops/scp"
	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/triage"
)

// FileName is the configuration file looked for at the root of a scan.
const FileName = ".bks.toml"

// EnvConfig names the environment variable that points to a config file.
const EnvConfig = "BKS_CONFIG"

// Decoders a rule can feed besides a key family's service
// (detectors.Service.Name: bedrock, claude-platform); detectors.Decoders
// lists them all.
const (
	DecoderAccessKey = detectors.DecoderAccessKey
	DecoderNone      = detectors.DecoderNone
)

// Defaults and limits of a rule's search window.
const (
	DefaultMaxLen = 512
	LimitMaxLen   = 16384
)

// Config is a loaded configuration: the built-in rules, the file's own rules
// and allowlists. It is immutable once loaded and safe for concurrent use.
type Config struct {
	// Path is the file the configuration came from; empty for the
	// built-in defaults alone.
	Path string
	// Dir is the absolute directory of Path: relative paths in allowlists
	// and rules are relative to it.
	Dir string
	// Rules lists every enabled rule: built-in ones first, then the file's,
	// in file order.
	Rules []*Rule
	// Allowlists are the global allowlists (each may name the rules it
	// applies to).
	Allowlists []*Allowlist
	// Disabled lists the ids of built-in rules the file turned off.
	Disabled []string
	// Accounts are the known AWS accounts triage acts on.
	Accounts []*triage.Account
	// SCP is the [scp] table: settings of `bks scp show`.
	SCP SCPSettings
	// Archive bounds what an archive may expand to (the [archive] table);
	// a zero field keeps the default, a negative one means no limit.
	Archive ArchiveLimits
	// Warnings are problems that do not stop the file from loading
	// (`bks config check` rejects them): "file:line: key: problem" each.
	Warnings []string
}

// SCPSettings are the [scp] table.
type SCPSettings struct {
	// BreakGlass are the principal ARN patterns the phantom-user SCPs
	// exempt (`bks scp show --break-glass`, which wins over them).
	BreakGlass []string `toml:"break_glass"`
}

// ArchiveLimits are the [archive] table: the limits against archive bombs
// of `bks detect files|stdin` (each also a --archive-… flag, which wins).
// sources/files.ArchiveLimits documents each.
type ArchiveLimits struct {
	MaxDepth      int   `toml:"max_depth"`
	MaxTotalBytes int64 `toml:"max_total_bytes"`
	MaxRatio      int64 `toml:"max_ratio"`
	RatioWindow   int64 `toml:"ratio_window"`
	MaxEntries    int64 `toml:"max_entries"`
}

// Rule is one detection rule.
type Rule struct {
	ID          string   `toml:"id"`
	Description string   `toml:"description"`
	Keywords    []string `toml:"keywords"`
	// FoldCase makes keywords match in any ASCII case (default true).
	FoldCase     *bool    `toml:"fold_case"`
	Regex        string   `toml:"regex"`
	MinEntropy   float64  `toml:"min_entropy"`
	IncludePaths []string `toml:"include_paths"`
	ExcludePaths []string `toml:"exclude_paths"`
	Decoder      string   `toml:"decoder"`
	// MaxLen bounds the regex's window: it runs on MaxLen bytes either side
	// of a keyword, never on a whole chunk.
	MaxLen     int          `toml:"max_len"`
	Examples   []Example    `toml:"examples"`
	Allowlists []*Allowlist `toml:"allowlists"`
	// Engine marks the built-in rules of the key families (bedrock-*,
	// claude-platform-*), which the detector engine runs with hand-written
	// code. They are made from detectors.Families, never from TOML.
	Engine bool `toml:"-"`

	// Builtin is true for rules from the embedded built-in file.
	Builtin bool `toml:"-"`
	// File and Line say where the rule is defined.
	File string `toml:"-"`
	Line int    `toml:"-"`

	re      *regexp.Regexp
	include []glob
	exclude []glob
}

// Example is a test string of a rule, checked by `bks rules test`.
type Example struct {
	Match   string `toml:"match"`
	NoMatch string `toml:"no_match"`
	// Secret is the secret a Match example must capture (optional).
	Secret string `toml:"secret"`

	Line int `toml:"-"`
}

// Allowlist suppresses findings. Within one kind of criterion (paths,
// fingerprints, …) any entry matching is enough; across kinds, Condition
// decides: "any" (default) or "all".
type Allowlist struct {
	ID          string `toml:"id"`
	Description string `toml:"description"`
	// Rules limits a global allowlist to these rule ids (default: all).
	Rules        []string `toml:"rules"`
	Condition    string   `toml:"condition"`
	Paths        []string `toml:"paths"`
	Fingerprints []string `toml:"fingerprints"`
	Commits      []string `toml:"commits"`
	// Regexes match the secret; LineRegexes match the line it is on.
	Regexes     []string `toml:"regexes"`
	LineRegexes []string `toml:"line_regexes"`
	// Stopwords: a secret containing one (any case) is not a leak.
	Stopwords []string `toml:"stopwords"`

	File    string `toml:"-"`
	Line    int    `toml:"-"`
	Builtin bool   `toml:"-"`

	itemLines map[string][]int // kind -> line of each item
	paths     []glob
	regexes   []*regexp.Regexp
	lineRes   []*regexp.Regexp
	stopwords []string // lower case
	rules     map[string]bool
}

// fileSchema is the shape of a configuration file.
type fileSchema struct {
	DisabledRules []string          `toml:"disabled_rules"`
	Rules         []*Rule           `toml:"rules"`
	Allowlists    []*Allowlist      `toml:"allowlists"`
	Accounts      []*triage.Account `toml:"accounts"`
	Archive       ArchiveLimits     `toml:"archive"`
	SCP           SCPSettings       `toml:"scp"`
}

// FoldsCase reports whether the rule's keywords match in any case.
func (r *Rule) FoldsCase() bool { return r.FoldCase == nil || *r.FoldCase }

// Rule returns the enabled rule with id, or nil.
func (c *Config) Rule(id string) *Rule {
	for _, r := range c.Rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// Detectors returns the detectors to pass as detectors.Options.Extra: the
// built-in AWS access key rule and the file's own rules. The built-in
// Bedrock rules are not among them: the engine runs those itself. decode
// should be the engine's Options.Decode (rules with a bedrock or
// claude-platform decoder decode with it).
func (c *Config) Detectors(decode detectors.DecodeOptions) []detectors.Detector {
	var ds []detectors.Detector
	for _, r := range c.Rules {
		if !r.Engine {
			ds = append(ds, scanDetector(r, decode))
		}
	}
	return ds
}

// NewEngine is the detector engine of a scan under c (nil: the built-in
// rules), for every command that scans (`detect`, `bks serve`): the
// engine's own Bedrock detectors and Detectors(opts.Decode) as Extra,
// after opts.Extra.
func NewEngine(c *Config, opts detectors.Options) *detectors.Engine {
	if c == nil {
		c = Default()
	}
	opts.Extra = append(opts.Extra, c.Detectors(opts.Decode)...)
	return detectors.New(opts)
}

// Default returns the configuration with the built-in rules only.
func Default() *Config {
	c, err := build("", nil)
	if err != nil {
		panic("rules: built-in rules do not load: " + err.Error())
	}
	return c
}

// Load reads and validates the configuration file at path. Every problem is
// reported with the file, the line and what is wrong (a *ConfigError each,
// joined).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse validates configuration text; name is used in errors and is
// reported as Config.Path.
func Parse(name string, data []byte) (*Config, error) {
	return build(name, data)
}

// Discover finds the configuration for a scan of root: the file named by
// $BKS_CONFIG if set, else root/.bks.toml (root's directory when root is a
// file) if it exists, else the built-in defaults (path ""). A --config flag
// takes precedence over all of these: call Load for it instead.
func Discover(root string, getenv func(string) string) (cfg *Config, path string, err error) {
	if cfg, path, err := FromEnv(getenv); cfg != nil || err != nil {
		return cfg, path, err
	}
	if root == "" {
		root = "."
	}
	if st, err := os.Stat(root); err == nil && !st.IsDir() {
		root = filepath.Dir(root)
	}
	p := filepath.Join(root, FileName)
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Default(), "", nil
		}
		return nil, "", fmt.Errorf("find config: %w", err)
	}
	cfg, err = Load(p)
	if err != nil {
		return nil, "", err
	}
	return cfg, p, nil
}

// FromEnv loads the file $BKS_CONFIG names; nil (and no error) when the
// variable is not set.
func FromEnv(getenv func(string) string) (cfg *Config, path string, err error) {
	if getenv == nil {
		return nil, "", nil
	}
	p := getenv(EnvConfig)
	if p == "" {
		return nil, "", nil
	}
	if cfg, err = Load(p); err != nil {
		return nil, "", fmt.Errorf("%s: %w", EnvConfig, err)
	}
	return cfg, p, nil
}

var ruleIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

func build(name string, data []byte) (*Config, error) {
	builtin, err := builtinRules()
	if err != nil {
		return nil, err
	}
	c := &Config{Path: name}
	if name != "" {
		if abs, err := filepath.Abs(name); err == nil {
			c.Dir = filepath.Dir(abs)
		}
	}
	var user fileSchema
	var loc *locator
	var errs []error
	if data != nil {
		loc, err = decodeTOML(name, data, &user)
		if err != nil {
			// Structural errors make later checks meaningless when the
			// text did not parse at all.
			if loc == nil {
				return nil, err
			}
			errs = append(errs, err)
		}
	}
	v := &validator{file: name, loc: loc}
	known := map[string]*Rule{}
	for _, r := range builtin {
		known[r.ID] = r
	}
	disabled := map[string]bool{}
	for i, id := range user.DisabledRules {
		p := fmt.Sprintf("disabled_rules[%d]", i)
		r, ok := known[id]
		switch {
		case !ok:
			v.fail(p, "no built-in rule %q (see `bks rules list`)", id)
		case r.Engine:
			v.fail(p, "built-in Bedrock rule %q cannot be disabled; allowlist its findings instead", id)
		default:
			disabled[id] = true
			c.Disabled = append(c.Disabled, id)
		}
	}
	for _, r := range builtin {
		if !disabled[r.ID] {
			c.Rules = append(c.Rules, r)
		}
	}
	for i, r := range user.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		r.File, r.Line = name, loc.line(p)
		if prev, ok := known[r.ID]; ok && r.ID != "" {
			if prev.Builtin {
				v.fail(p+".id", "rule id %q is a built-in rule's; choose another", r.ID)
			} else {
				v.fail(p+".id", "rule id %q is already defined on line %d", r.ID, prev.Line)
			}
			continue
		}
		v.rule(p, r)
		if r.ID != "" {
			known[r.ID] = r
		}
		c.Rules = append(c.Rules, r)
	}
	for i, a := range user.Allowlists {
		p := fmt.Sprintf("allowlists[%d]", i)
		if a.ID == "" {
			a.ID = fmt.Sprintf("allowlist-%d", i+1)
		}
		v.allowlist(p, a, known, "")
		c.Allowlists = append(c.Allowlists, a)
	}
	v.accounts(user.Accounts)
	c.Accounts = user.Accounts
	c.Archive = user.Archive
	for i, a := range user.SCP.BreakGlass {
		if err := scp.ValidBreakGlass(a); err != nil {
			v.fail(fmt.Sprintf("scp.break_glass[%d]", i), "%v", err)
		}
	}
	c.SCP = user.SCP
	c.Warnings = v.warns
	errs = append(errs, v.errs...)
	if len(errs) > 0 {
		return nil, sortErrors(errs)
	}
	return c, nil
}

type validator struct {
	file    string
	loc     *locator
	builtin bool
	errs    []error
	// warns are problems that do not stop the file from loading
	// (Config.Warnings).
	warns []string
}

// warn is fail for a problem the file still loads with.
func (v *validator) warn(path, format string, args ...any) {
	e := &ConfigError{File: v.file, Line: v.loc.line(path), Key: path, Msg: fmt.Sprintf(format, args...)}
	v.warns = append(v.warns, e.Error())
}

// missing reports a required key missing from the table at path, unless
// the table has an unknown key (then that key was the misspelt one).
func (v *validator) missing(path, format string, args ...any) {
	if v.loc != nil && v.loc.typos[path] {
		return
	}
	v.fail(path, format, args...)
}

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, &ConfigError{File: v.file, Line: v.loc.line(path), Key: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) rule(p string, r *Rule) {
	switch {
	case r.ID == "":
		v.missing(p, "rule has no id")
	case !ruleIDRe.MatchString(r.ID):
		v.fail(p+".id", "rule id %q must be lower case letters, digits, '.', '_' or '-' (at most 64)", r.ID)
	}
	if r.Decoder == "" {
		r.Decoder = DecoderNone
	}
	if ds := detectors.Decoders(); !slices.Contains(ds, r.Decoder) {
		v.fail(p+".decoder", "unknown decoder %q (want %s or %s)", r.Decoder,
			strings.Join(ds[:len(ds)-1], ", "), ds[len(ds)-1])
	}
	if r.Engine {
		// Built-in Bedrock rules: described, run by the engine.
		return
	}
	usable := 0
	for i, k := range r.Keywords {
		if len(k) < 2 {
			v.fail(fmt.Sprintf("%s.keywords[%d]", p, i), "keyword %q is shorter than 2 bytes", k)
			continue
		}
		usable++
	}
	if usable == 0 && len(r.Keywords) == 0 {
		v.missing(p, "a rule needs at least one keyword: its regex runs only where a keyword occurs")
	}
	if r.MaxLen == 0 {
		r.MaxLen = DefaultMaxLen
	}
	if r.MaxLen < 16 || r.MaxLen > LimitMaxLen {
		v.fail(p+".max_len", "max_len %d out of range [16, %d]", r.MaxLen, LimitMaxLen)
	}
	if r.MinEntropy < 0 || r.MinEntropy > 8 {
		v.fail(p+".min_entropy", "min_entropy %g out of range [0, 8] (bits per byte)", r.MinEntropy)
	}
	if r.Regex == "" {
		v.missing(p, "rule %q has no regex", r.ID)
	} else {
		re, err := regexp.Compile(r.Regex)
		if err != nil {
			v.fail(p+".regex", "bad regex: %v", regexErr(err))
		} else {
			r.re = re
			if re.MatchString("") {
				v.fail(p+".regex", "regex matches the empty string")
			}
		}
	}
	r.include = v.globs(p+".include_paths", r.IncludePaths)
	r.exclude = v.globs(p+".exclude_paths", r.ExcludePaths)
	for i := range r.Examples {
		ex := &r.Examples[i]
		ep := fmt.Sprintf("%s.examples[%d]", p, i)
		ex.Line = v.loc.line(ep)
		switch {
		case ex.Match != "" && ex.NoMatch != "":
			v.fail(ep, "an example has either match or no_match, not both")
		case ex.Match == "" && ex.NoMatch == "":
			v.missing(ep, "an example needs match or no_match")
		case ex.Secret != "" && ex.Match == "":
			v.fail(ep+".secret", "secret is only meaningful with match")
		}
	}
	for i, a := range r.Allowlists {
		ap := fmt.Sprintf("%s.allowlists[%d]", p, i)
		if a.ID == "" {
			a.ID = fmt.Sprintf("%s/allowlist-%d", r.ID, i+1)
		}
		if len(a.Rules) > 0 {
			v.fail(ap+".rules", "a rule's own allowlist applies to that rule only; move it to [[allowlists]] to name rules")
		}
		v.allowlist(ap, a, nil, r.ID)
	}
}

// regexErr is a regexp error without its "error parsing regexp: " lead.
func regexErr(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

func (v *validator) globs(p string, pats []string) []glob {
	var gs []glob
	for i, s := range pats {
		g, err := compileGlob(s)
		if err != nil {
			v.fail(fmt.Sprintf("%s[%d]", p, i), "bad glob %q: %v", s, err)
			continue
		}
		gs = append(gs, g)
	}
	return gs
}

var hexRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]+$`) })

func (v *validator) allowlist(p string, a *Allowlist, known map[string]*Rule, rule string) {
	a.File, a.Line = v.file, v.loc.line(p)
	a.Builtin = v.builtin
	a.itemLines = map[string][]int{}
	item := func(kind string, i int) string { return fmt.Sprintf("%s.%s[%d]", p, kind, i) }
	lines := func(kind string, n int) {
		for i := range n {
			a.itemLines[kind] = append(a.itemLines[kind], v.loc.line(item(kind, i)))
		}
	}
	switch a.Condition {
	case "":
		a.Condition = "any"
	case "any", "all":
	default:
		v.fail(p+".condition", "condition must be \"any\" or \"all\", not %q", a.Condition)
	}
	if len(a.Paths)+len(a.Fingerprints)+len(a.Commits)+len(a.Regexes)+len(a.LineRegexes)+len(a.Stopwords) == 0 {
		v.missing(p, "allowlist %q has no criteria (paths, fingerprints, commits, regexes, line_regexes or stopwords)", a.ID)
	}
	if rule == "" {
		a.rules = map[string]bool{}
		for i, id := range a.Rules {
			if _, ok := known[id]; !ok {
				v.fail(item("rules", i), "no rule %q (see `bks rules list`)", id)
			}
			a.rules[id] = true
		}
	} else {
		a.rules = map[string]bool{rule: true}
	}
	a.paths = v.globs(p+".paths", a.Paths)
	for i, f := range a.Fingerprints {
		if len(f) != 32 || !hexRe().MatchString(f) {
			v.fail(item("fingerprints", i), "fingerprint must be 32 lower-case hex digits (a finding's \"fingerprint\")")
		}
	}
	for i, c := range a.Commits {
		if len(c) < 7 || len(c) > 64 || !hexRe().MatchString(strings.ToLower(c)) {
			v.fail(item("commits", i), "commit must be 7 to 64 hex digits, not %q", c)
		}
	}
	for i, s := range a.Regexes {
		re, err := regexp.Compile(s)
		if err != nil {
			v.fail(item("regexes", i), "bad regex: %v", regexErr(err))
			continue
		}
		a.regexes = append(a.regexes, re)
	}
	for i, s := range a.LineRegexes {
		re, err := regexp.Compile(s)
		if err != nil {
			v.fail(item("line_regexes", i), "bad regex: %v", regexErr(err))
			continue
		}
		a.lineRes = append(a.lineRes, re)
	}
	for i, s := range a.Stopwords {
		if len(s) < 3 {
			v.fail(item("stopwords", i), "stopword %q is shorter than 3 bytes: it would hide almost everything", s)
		}
		a.stopwords = append(a.stopwords, strings.ToLower(s))
	}
	if msg := a.allowAllProblem(); msg != "" {
		v.warn(p, "%s", msg)
	}
	lines("paths", len(a.Paths))
	lines("fingerprints", len(a.Fingerprints))
	lines("commits", len(a.Commits))
	lines("regexes", len(a.Regexes))
	lines("line_regexes", len(a.LineRegexes))
	lines("stopwords", len(a.Stopwords))
}

// sortErrors flattens joined errors and orders ConfigErrors by line.
func sortErrors(errs []error) error {
	var flat []error
	for _, e := range errs {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			flat = append(flat, j.Unwrap()...)
		} else {
			flat = append(flat, e)
		}
	}
	line := func(e error) int {
		var ce *ConfigError
		if errors.As(e, &ce) {
			return ce.Line
		}
		return 0
	}
	sort.SliceStable(flat, func(i, j int) bool { return line(flat[i]) < line(flat[j]) })
	return errors.Join(flat...)
}
