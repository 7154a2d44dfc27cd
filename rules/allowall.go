package rules

import (
	"fmt"
	"regexp"
)

// An allowlist that matches every finding turns bks off. Whether a pattern
// does is judged by what it matches, not by its spelling: one that matches
// each of these unrelated probes (secrets and lines of different shapes,
// paths at different depths) is taken to match everything.
var (
	probeTexts = []string{"ABSK0000", "bedrock-api-key-", "AKIA0000", "acme_Zx81", "0", "-", "not a secret at all", "\u00ff"}
	probePaths = []string{"a", ".env", "src/main.go", "deep/er/still/x.txt", "x.zip!in/y"}
)

// matchesAll reports whether re matches every probe text.
func matchesAll(re *regexp.Regexp) bool {
	for _, p := range probeTexts {
		if !re.MatchString(p) {
			return false
		}
	}
	return true
}

// matchesAllPaths reports whether g matches every probe path.
func (g glob) matchesAllPaths() bool {
	for _, p := range probePaths {
		if !g.match(p) {
			return false
		}
	}
	return true
}

// allowAll returns, for each kind of criterion of a, the first item that
// matches everything ("" when none does).
func (a *Allowlist) allowAll() map[string]string {
	out := map[string]string{}
	for i, g := range a.paths {
		if g.matchesAllPaths() && i < len(a.Paths) {
			out["paths"] = fmt.Sprintf("paths[%d] %q", i, a.Paths[i])
			break
		}
	}
	for kind, res := range map[string][]*regexp.Regexp{"regexes": a.regexes, "line_regexes": a.lineRes} {
		src := a.items(kind)
		for i, re := range res {
			if matchesAll(re) && i < len(src) {
				out[kind] = fmt.Sprintf("%s[%d] %q", kind, i, src[i])
				break
			}
		}
	}
	return out
}

// allowAllProblem says why a matches every finding (of the rules it
// applies to), or "" when it does not: with condition "any" one item that
// matches everything is enough; with "all" every kind it uses needs one.
func (a *Allowlist) allowAllProblem() string {
	all := a.allowAll()
	if len(all) == 0 {
		return ""
	}
	var first string
	for _, k := range allowKinds {
		n := len(a.items(k))
		if n == 0 {
			continue
		}
		why, ok := all[k]
		if !ok && a.Condition == "all" {
			return ""
		}
		if ok && first == "" {
			first = why
		}
	}
	if first == "" {
		return ""
	}
	return fmt.Sprintf("allowlist %q matches everything (%s): it would hide every key; name fixtures by path or fingerprint", a.ID, first)
}
