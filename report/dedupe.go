package report

import "github.com/bks-dev/bks/findings"

// Dedupe folds findings with the same fingerprint into one finding that
// lists every place the key was found in Locations (the first place is also
// the finding's own Location). Findings keep the order in which their key
// was first seen, and places the order in which they came; a place listed
// twice is kept once.
//
// A folded finding is suppressed only if every one of its places was: a key
// ignored in one file but live in another stays active. It then carries the
// first justification.
//
// Dedupe necessarily holds all findings; it is meant for --dedupe.
func Dedupe(fs []findings.Finding) []findings.Finding {
	out := make([]findings.Finding, 0, len(fs))
	index := make(map[string]int, len(fs))
	type seenKey struct {
		path, commit, repo, kind string
		line, col                int
	}
	seen := make([]map[seenKey]bool, 0, len(fs))
	add := func(i int, locs []findings.Location) {
		for _, l := range locs {
			k := seenKey{l.Path, l.Commit, l.Repo, l.Kind, l.Line, l.Column}
			if seen[i][k] {
				continue
			}
			seen[i][k] = true
			out[i].Locations = append(out[i].Locations, l)
		}
	}
	for _, f := range fs {
		locs := places(&f)
		i, ok := index[f.Fingerprint]
		if !ok {
			i = len(out)
			index[f.Fingerprint] = i
			f.Locations = nil
			out = append(out, f)
			seen = append(seen, map[seenKey]bool{})
			add(i, locs)
			continue
		}
		if f.Suppressed == "" {
			out[i].Suppressed = ""
		}
		add(i, locs)
	}
	return out
}
