package serve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/rules"
	"github.com/bks-dev/bks/scan"
	"github.com/bks-dev/bks/serve/store"
	gitsrc "github.com/bks-dev/bks/sources/git"
)

// zeroSHA is the before (new branch) or after (deleted branch) of a push.
var zeroSHA = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^0+$`) })

// errNotCached: the pushed repository is not in the cache and no Fetcher
// brings it.
var errNotCached = errors.New("not in the repository cache")

// cachedRepo is the directory of the repository fullName in cache
// (cache/owner/name: a bare repository or a clone), which must exist.
func cachedRepo(cache, fullName string) (string, error) {
	dir, err := repoDir(cache, fullName)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("repository %s: %w", fullName, errNotCached)
	}
	return dir, nil
}

// pushScope is what of the repository a push asks to scan, as the options
// of `detect git`: the commits after has and before had not (--range
// before..after: on a force push, the new commits); on a new branch (or
// when the cache lacks before), the commits of the branch that no other
// ref of the cache has (--branch after --not others).
func pushScope(ev pushEvent, has func(id string) bool, others []string) scope {
	if ev.Before != "" && !zeroSHA().MatchString(ev.Before) && has(ev.Before) {
		return scope{rng: ev.Before + ".." + ev.After, own: ev.Ref}
	}
	return scope{branch: ev.After, exclude: others, own: ev.Ref}
}

// prepare brings tg's commits into the cache (or finds the repository
// there) and returns its directory and what to scan. A push larger than
// the limits is scanned as its whole branch.
func (p Processor) prepare(ctx context.Context, d store.Delivery, tg target) (string, scope, error) {
	var dir string
	var err error
	var known map[string]bool // the fetch's check of wants and maybe (nil: none)
	before := int64(0)
	if p.Fetcher == nil {
		dir, err = cachedRepo(p.RepoCache, tg.repo)
	} else {
		if dir, err = repoDir(p.RepoCache, tg.repo); err == nil {
			before = packBytes(dir)
			dir, known, err = p.Fetcher.fetchChecked(ctx, tg.repo, tg.installation, tg.refs, tg.wants, tg.maybe)
		}
	}
	if err != nil {
		return "", scope{}, err
	}
	if !tg.scan {
		return dir, scope{}, deleteRef(ctx, dir, tg.deleteRef)
	}
	// One git process checks the commits needed and those the plan may
	// ask about, the fetch's unless it fetched a commit by id after it; an
	// id outside them is checked on its own.
	if known == nil {
		if known, err = commitsIn(ctx, dir, append(append([]string(nil), tg.wants...), tg.maybe...)); err != nil {
			return "", scope{}, err
		}
	}
	has := func(id string) bool {
		if in, asked := known[id]; asked {
			return in
		}
		return hasCommit(ctx, dir, id)
	}
	var sc scope
	for _, w := range tg.wants {
		if !has(w) {
			return "", sc, fmt.Errorf("commit %s of %s: not in the cache", w, tg.repo)
		}
	}
	// The other refs are listed only for a plan that excludes them (a
	// branch, not a range): a push onto a known branch runs no for-each-ref.
	if sc = tg.plan(has, nil); sc.rng == "" {
		others, err := otherRefs(ctx, dir, tg.refs[0])
		if err != nil {
			return "", sc, err
		}
		sc = tg.plan(has, others)
	}
	return dir, p.bounded(ctx, d, dir, sc, packBytes(dir)-before), nil
}

// bounded is sc, or the whole branch when sc has more commits than
// MaxPushCommits or the fetch brought more than MaxPushBytes.
func (p Processor) bounded(ctx context.Context, d store.Delivery, dir string, sc scope, fetched int64) scope {
	maxCommits, maxBytes := p.MaxPushCommits, p.MaxPushBytes
	if maxCommits <= 0 {
		maxCommits = 10000
	}
	if maxBytes <= 0 {
		maxBytes = 512 << 20
	}
	spec := []string{sc.branch}
	if sc.rng != "" {
		base, head, _ := strings.Cut(sc.rng, "..")
		spec = []string{head, "^" + base}
	}
	for _, x := range sc.exclude {
		spec = append(spec, "^"+x)
	}
	n, err := countCommits(ctx, dir, spec...)
	if err == nil && n <= maxCommits && fetched <= maxBytes {
		return sc
	}
	head := sc.branch
	if sc.rng != "" {
		_, head, _ = strings.Cut(sc.rng, "..")
	}
	p.Log.WarnContext(ctx, "push over the size limit: its whole branch is scanned", "delivery", d.ID,
		"commits", n, "fetched_bytes", fetched, "max_commits", maxCommits, "max_bytes", maxBytes, "count_err", err)
	return scope{branch: head, own: sc.own}
}

// packBytes is the size of the objects of the repository at dir: its
// loose objects and its packs with their indexes (0 when it is not there
// yet), read from the files rather than from git count-objects, a process
// of its own. Only the difference across a fetch matters (MaxPushBytes).
func packBytes(dir string) int64 {
	objects := filepath.Join(dir, "objects")
	ents, err := os.ReadDir(objects)
	if err != nil {
		return 0
	}
	var total int64
	add := func(sub string, keep func(name string) bool) {
		files, _ := os.ReadDir(filepath.Join(objects, sub))
		for _, f := range files {
			if info, err := f.Info(); err == nil && info.Mode().IsRegular() && keep(f.Name()) {
				total += info.Size()
			}
		}
	}
	for _, e := range ents {
		if n := e.Name(); e.IsDir() && len(n) == 2 && isHex(n) {
			add(n, func(string) bool { return true }) // loose objects
		}
	}
	add("pack", func(name string) bool { return strings.HasSuffix(name, ".pack") || strings.HasSuffix(name, ".idx") })
	return total
}

// isHex reports whether s is lower-case hexadecimal.
func isHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// scanTarget brings tg into the cache and scans it with the engine, the
// filter and the git source of `detect git --range` under the service's
// configuration (Rules: its own rules, path scopes and allowlists, inline
// ignores; Baseline), and records each finding it keeps (fingerprint,
// redacted form, decoded fields) as an incident sighting. It returns those
// findings, which carry the key in memory only; suppressed ones are
// counted in the log, not recorded nor reported.
func (p Processor) scanTarget(ctx context.Context, d store.Delivery, tg target) ([]findings.Finding, error) {
	dir, sc, err := p.prepare(ctx, d, tg)
	if err != nil || !tg.scan {
		return nil, err
	}
	src := gitsrc.New(gitsrc.Options{
		Path:    dir,
		Repo:    tg.repo,
		Range:   sc.rng,
		Branch:  sc.branch,
		Exclude: sc.exclude,
		Matcher: p.Engine,
		Warn:    func(msg string) { p.Log.WarnContext(ctx, "git", "delivery", d.ID, "note", msg) },
	})
	var mu sync.Mutex
	var out []findings.Finding
	suppressed := 0
	// The pushed text cannot suppress its own keys (bks:allow): the
	// service's config and baseline can.
	filter := rules.NewFilter(p.Rules, p.Baseline).NoInline()
	err = scan.Scanner{Engine: p.Engine, Filter: filter.Apply}.Run(ctx, src, func(f findings.Finding) error {
		mu.Lock()
		if f.Suppressed != "" {
			suppressed++
			mu.Unlock()
			return nil
		}
		out = append(out, f)
		mu.Unlock()
		_, err := p.Store.RecordFinding(ctx, incidentOf(f), store.Sighting{
			DeliveryID: d.ID, Repository: tg.repo, Commit: f.Commit, Path: f.Path, Line: f.Line,
		})
		return err
	})
	p.Metrics.Scanned(err, len(out), time.Since(d.ReceivedAt))
	if suppressed > 0 {
		p.Log.InfoContext(ctx, "findings suppressed by the configuration", "delivery", d.ID, "suppressed", suppressed)
	}
	if err != nil {
		return out, fmt.Errorf("scan %s %s: %w", tg.repo, sc.rng+sc.branch, err)
	}
	return out, nil
}

// incidentOf is what of f the store keeps: never the key.
func incidentOf(f findings.Finding) store.Incident {
	inc := store.Incident{Fingerprint: f.Fingerprint, Redacted: f.Redacted, Severity: f.Confidence}
	if k := f.Key; k != nil {
		inc.KeyKind, inc.AccountID, inc.Region = k.Type, k.AccountID, k.Region
		inc.Principal = k.Username
		if inc.Principal == "" {
			inc.Principal = k.AccessKeyID
		}
		if k.ExpiresAt != nil {
			inc.ExpiresAt = *k.ExpiresAt
		}
	}
	return inc
}
