package serve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/scan"
	"github.com/bks-dev/bks/serve/store"
	gitsrc "github.com/bks-dev/bks/sources/git"
)

// zeroSHA is the before (new branch) or after (deleted branch) of a push.
var zeroSHA = regexp.MustCompile(`^0+$`)

// repoName is what a repository's full_name must look like to name a
// directory in the cache: owner/name, neither "." nor "..".
var repoName = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// errNotCached: the pushed repository is not in the cache (fetching it is
// the next step of the service).
var errNotCached = errors.New("not in the repository cache")

// cachedRepo is the directory of the repository fullName in cache
// (cache/owner/name: a bare repository or a clone).
func cachedRepo(cache, fullName string) (string, error) {
	if !repoName.MatchString(fullName) || strings.Contains("/"+fullName+"/", "/../") || strings.Contains("/"+fullName+"/", "/./") {
		return "", fmt.Errorf("repository %q: not owner/name", fullName)
	}
	dir := filepath.Join(cache, filepath.FromSlash(fullName))
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("repository %s: %w", fullName, errNotCached)
	}
	return dir, nil
}

// pushScope is what of the repository a push asks to scan, as the options
// of `detect git`: the commits after has and before had not (--range
// before..after: on a force push, the new commits); on a new branch, the
// commits not on the default branch (--range default..after), or the
// whole branch when it is the default one (--branch after). A deleted
// branch has nothing to scan (ok false).
func pushScope(ev pushEvent) (rng, branch string, ok bool) {
	switch {
	case ev.Deleted || zeroSHA.MatchString(ev.After):
		return "", "", false
	case !zeroSHA.MatchString(ev.Before) && ev.Before != "":
		return ev.Before + ".." + ev.After, "", true
	case ev.Repository.DefaultBranch != "" && ev.Ref != "refs/heads/"+ev.Repository.DefaultBranch:
		return "refs/heads/" + ev.Repository.DefaultBranch + ".." + ev.After, "", true
	default:
		return "", ev.After, true
	}
}

// scanTarget scans tg in its repository in the cache with the engine and
// git source of `detect git --range`, and records each finding
// (fingerprint, redacted form, decoded fields) as an incident sighting. It
// returns the number of findings.
func (p Processor) scanTarget(ctx context.Context, d store.Delivery, tg target) (int, error) {
	dir, err := cachedRepo(p.RepoCache, tg.repo)
	if err != nil {
		return 0, err
	}
	src := gitsrc.New(gitsrc.Options{
		Path:    dir,
		Repo:    tg.repo,
		Range:   tg.rng,
		Branch:  tg.branch,
		Matcher: p.Engine,
		Warn:    func(msg string) { p.Log.WarnContext(ctx, "git", "delivery", d.ID, "note", msg) },
	})
	var n atomic.Int64
	err = scan.Run(ctx, src, p.Engine, func(f findings.Finding) error {
		n.Add(1)
		_, err := p.Store.RecordFinding(ctx, incidentOf(f), store.Sighting{
			DeliveryID: d.ID, Repository: tg.repo, Commit: f.Commit, Path: f.Path, Line: f.Line,
		})
		return err
	})
	p.Metrics.Scanned(err, int(n.Load()), time.Since(d.ReceivedAt))
	if err != nil {
		return int(n.Load()), fmt.Errorf("scan %s %s: %w", tg.repo, tg.rng+tg.branch, err)
	}
	return int(n.Load()), nil
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
