package rules

import (
	"fmt"
	"slices"
	"strings"
)

// In CI the configuration and the baseline of a pull request's head are
// written by whoever opened it. `bks detect git --range` uses the base
// commit's, and Widening and BaselineWidening say what the head would
// suppress that the base does not, so that such a change is shown and
// fails the run instead of silencing it.

// Widening lists, one message each, how head suppresses more than base:
// built-in rules it disables, rules of base it removes or changes, and
// allowlist items base does not have (or has for fewer rules, or with
// condition "all"). Nil when head suppresses nothing base would report.
// An allowlist item is covered by an equal one of base, or one that
// obviously contains it: a path under a base path, a stopword containing
// a base stopword, a commit a base commit prefix names.
func Widening(base, head *Config) []string {
	var out []string
	for _, id := range head.Disabled {
		if !slices.Contains(base.Disabled, id) {
			out = append(out, fmt.Sprintf("disabled_rules adds %q", id))
		}
	}
	for _, br := range base.Rules {
		if br.Builtin {
			continue
		}
		hr := head.Rule(br.ID)
		switch {
		case hr == nil || hr.Builtin:
			out = append(out, fmt.Sprintf("rule %q is removed", br.ID))
		case ruleKey(hr) != ruleKey(br):
			out = append(out, fmt.Sprintf("rule %q (line %d) is changed", br.ID, hr.Line))
		}
	}
	baseLists := base.allAllowlists()
	for _, h := range head.allAllowlists() {
		if h.Builtin || !h.appliesToAny(base) || slices.ContainsFunc(baseLists, h.coveredBy) {
			continue
		}
		out = append(out, h.wideningMsg(baseLists))
	}
	return out
}

// BaselineWidening lists the entries head has and base has not, one
// message each (rule and fingerprint; not the entry's "redacted" text,
// which the head's author wrote and which may hold anything).
func BaselineWidening(base, head *Baseline) []string {
	if head == nil {
		return nil
	}
	var out []string
	for _, e := range head.entries {
		if _, ok := base.lookupID(e.RuleID, e.Fingerprint); !ok {
			out = append(out, fmt.Sprintf("adds %s %s", e.RuleID, e.Fingerprint))
		}
	}
	return out
}

// ruleKey is what decides a rule's findings (not its description,
// examples or own allowlists, compared as allowlists).
func ruleKey(r *Rule) string {
	return fmt.Sprintf("%q|%v|%q|%g|%q|%q|%s|%d", r.Keywords, r.FoldsCase(), r.Regex, r.MinEntropy, r.IncludePaths, r.ExcludePaths, r.Decoder, r.MaxLen)
}

// allAllowlists is every allowlist of c: global ones, then each rule's.
func (c *Config) allAllowlists() []*Allowlist {
	out := append([]*Allowlist(nil), c.Allowlists...)
	for _, r := range c.Rules {
		out = append(out, r.Allowlists...)
	}
	return out
}

// appliesToAny reports whether a can suppress a finding of one of c's
// rules (an allowlist of a rule c does not have cannot).
func (a *Allowlist) appliesToAny(c *Config) bool {
	if len(a.rules) == 0 {
		return true
	}
	for id := range a.rules {
		if c.Rule(id) != nil {
			return true
		}
	}
	return false
}

// kinds are the kinds of criteria a uses.
func (a *Allowlist) kinds() []string {
	var ks []string
	for _, k := range allowKinds {
		if len(a.items(k)) > 0 {
			ks = append(ks, k)
		}
	}
	return ks
}

// coveredBy reports whether b suppresses everything a does.
func (a *Allowlist) coveredBy(b *Allowlist) bool {
	if len(b.rules) > 0 {
		if len(a.rules) == 0 {
			return false
		}
		for id := range a.rules {
			if !b.rules[id] {
				return false
			}
		}
	}
	within := func(k string) bool { // every item of a's kind k is one of b's
		for _, it := range a.items(k) {
			if !itemCovered(k, it, b.items(k)) {
				return false
			}
		}
		return true
	}
	ak, bk := a.kinds(), b.kinds()
	if b.Condition == "any" || len(bk) == 1 {
		if a.Condition == "all" && len(ak) > 1 {
			// One kind of a within b's is enough: a asks for more.
			return slices.ContainsFunc(ak, func(k string) bool { return slices.Contains(bk, k) && within(k) })
		}
		return !slices.ContainsFunc(ak, func(k string) bool { return !within(k) })
	}
	// b needs all of its kinds: so must a, each within b's.
	if a.Condition != "all" && len(ak) > 1 {
		return false
	}
	return !slices.ContainsFunc(bk, func(k string) bool { return !slices.Contains(ak, k) || !within(k) })
}

// itemCovered reports whether an allowlist item of kind matches nothing
// that one of base's items does not.
func itemCovered(kind, item string, base []string) bool {
	for _, b := range base {
		switch {
		case b == item:
			return true
		case kind == "stopwords" && strings.Contains(strings.ToLower(item), strings.ToLower(b)):
			return true
		case kind == "commits" && strings.HasPrefix(strings.ToLower(item), strings.ToLower(b)):
			return true
		case kind == "paths" && !strings.ContainsAny(item, "*?[\\"):
			g, err := compileGlob(b)
			if ig, ierr := compileGlob(item); err == nil && ierr == nil && g.match(strings.Join(ig.segs, "/")) && !slices.Contains(ig.segs, "**") {
				return true
			}
		}
	}
	return false
}

// wideningMsg names what a adds over base's allowlists: its items that no
// base item covers, else its scope or condition.
func (a *Allowlist) wideningMsg(base []*Allowlist) string {
	var added []string
	for _, k := range a.kinds() {
		var pool []string
		for _, b := range base {
			pool = append(pool, b.items(k)...)
		}
		for i, it := range a.items(k) {
			if !itemCovered(k, it, pool) {
				added = append(added, fmt.Sprintf("%s[%d] %q", k, i, it))
			}
		}
	}
	what := "applies to more rules or with a looser condition than the base's"
	if len(added) > 0 {
		what = "adds " + strings.Join(added, ", ")
	}
	return fmt.Sprintf("allowlist %q (line %d) %s", a.ID, a.Line, what)
}
