package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/rules"
	"github.com/bks-dev/bks/serve/store"
	"github.com/bks-dev/bks/triage"
)

// Processor is the default work for a delivery. It reads what a push or a
// pull request names (repository, commits); with a Fetcher it brings those
// commits into the repository cache (else it uses what RepoCache holds),
// scans them, records the findings in Store and, with Respond and Report
// set, runs the accounts' responses and reports back to GitHub. Without a
// cache it only records the delivery as processed.
type Processor struct {
	Log *slog.Logger
	// Store receives the incidents found.
	Store *store.Store
	// RepoCache holds repositories as RepoCache/owner/name ("": no scan).
	RepoCache string
	// Fetcher fills RepoCache (nil: the repositories are put there by
	// someone else).
	Fetcher *Fetcher
	// MaxPushCommits and MaxPushBytes bound a push scanned commit by
	// commit (0: 10000 commits, 512 MiB fetched); a larger push is scanned
	// as its whole branch (`detect git --branch`).
	MaxPushCommits int
	MaxPushBytes   int64
	// Engine is the detector engine (needed with RepoCache), built from
	// Rules (rules.NewEngine).
	Engine *detectors.Engine
	// Rules and Baseline decide about each finding as in `detect git`
	// (path scopes, allowlists, inline ignores, the baseline; nil: the
	// built-in rules, no baseline).
	Rules    *rules.Config
	Baseline *rules.Baseline
	// Metrics records scans and findings (nil: not recorded).
	Metrics *Metrics
	// Respond runs triage's responses for the incidents found (nil: none).
	Respond *Responder
	// Report posts the check run and the pull request comment (nil: none).
	Report *Reporter
}

// target is what a delivery asks to scan: in repo, the refs to fetch and
// the commits it needs, and plan, which says from what the cache holds
// what to scan in the terms of `detect git`. scan is false when there is
// nothing to scan (a deleted branch, a closed pull request); deleteRef is
// the ref a deletion removes from the cache. head is the commit reported
// on, pr the pull request's number (0: none), installation the GitHub App
// installation the delivery came from (0: none). attrs describe the
// delivery in the log.
type target struct {
	repo         string
	installation int64
	refs         []string
	wants        []string
	// maybe are commits plan may ask has about (a push's before), checked
	// with the wants in one git process.
	maybe     []string
	deleteRef string
	scan      bool
	plan      func(has func(id string) bool, others []string) scope
	head      string
	pr        int
	attrs     []any
}

// scope is what `detect git` scans: --range rng, or --branch branch, with
// the history of exclude left out.
type scope struct {
	rng, branch string
	exclude     []string
	own         string // the pushed ref, not in exclude
}

// targets reads each event's payload; events without one are recorded
// only.
var targets = map[string]func(body []byte) (target, error){
	"push":         pushTarget,
	"pull_request": pullRequestTarget,
}

// Process handles one delivery. A payload that is not valid JSON, or names
// a repository, ref or commit the cache cannot take, is an error that
// retrying will not fix, but it was signed by GitHub, so it is worth the
// few attempts and the log lines.
func (p Processor) Process(ctx context.Context, d store.Delivery) error {
	parse := targets[d.Event]
	if parse == nil {
		p.Log.InfoContext(ctx, "delivery recorded", "delivery", d.ID, "event", d.Event)
		return nil
	}
	tg, err := parse(d.Body)
	if err != nil {
		return fmt.Errorf("%s payload: %w", d.Event, err)
	}
	attrs := append([]any{"delivery", d.ID, "event", d.Event, "repository", tg.repo}, tg.attrs...)
	if p.RepoCache == "" || (!tg.scan && tg.deleteRef == "") {
		p.Log.InfoContext(ctx, "delivery recorded", attrs...)
		return nil
	}
	fs, err := p.scanTarget(ctx, d, tg)
	switch {
	case errors.Is(err, errNotCached):
		p.Log.InfoContext(ctx, "delivery recorded, not scanned: repository not in the cache", attrs...)
		return nil
	case err != nil:
		return err
	case !tg.scan:
		p.Log.InfoContext(ctx, "delivery recorded, ref removed from the cache", attrs...)
		return nil
	}
	p.Log.InfoContext(ctx, "delivery scanned", append(attrs, "findings", len(fs))...)
	return p.afterScan(ctx, d, tg, fs)
}

// installation is the App installation a delivery of a GitHub App's
// webhook names (installation.id): the service acts on the repository with
// that installation's token.
type installation struct {
	ID int64 `json:"id"`
}

// repository is the part of a payload's repository the service reads.
type repository struct {
	FullName      string `json:"full_name"`
	DefaultBranch string `json:"default_branch"`
}

// pushEvent is the part of a push payload the service reads.
type pushEvent struct {
	Ref     string `json:"ref"`
	Before  string `json:"before"`
	After   string `json:"after"`
	Created bool   `json:"created"`
	Deleted bool   `json:"deleted"`
	Forced  bool   `json:"forced"`
	Commits []struct {
		ID string `json:"id"`
	} `json:"commits"`
	Repository   repository   `json:"repository"`
	Installation installation `json:"installation"`
}

// pushTarget fetches the pushed ref and its new tip. A deleted branch
// removes the ref from the cache and scans nothing.
func pushTarget(body []byte) (target, error) {
	var ev pushEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return target{}, err
	}
	if err := validRef(ev.Ref); err != nil {
		return target{}, fmt.Errorf("ref %q: %w", ev.Ref, err)
	}
	for _, id := range []string{ev.Before, ev.After} {
		if id != "" && !commitID().MatchString(id) {
			return target{}, fmt.Errorf("commit id %q: not hexadecimal", id)
		}
	}
	tg := target{repo: ev.Repository.FullName, installation: ev.Installation.ID, head: ev.After, attrs: []any{
		"ref", ev.Ref, "before", ev.Before, "after", ev.After, "commits", len(ev.Commits),
		"created", ev.Created, "deleted", ev.Deleted, "forced", ev.Forced,
	}}
	if ev.Deleted || ev.After == "" || zeroSHA().MatchString(ev.After) {
		tg.deleteRef = ev.Ref
		return tg, nil
	}
	tg.scan, tg.refs, tg.wants = true, []string{ev.Ref}, []string{ev.After}
	if ev.Before != "" && !zeroSHA().MatchString(ev.Before) {
		tg.maybe = []string{ev.Before}
	}
	tg.plan = func(has func(string) bool, others []string) scope {
		return pushScope(ev, has, others)
	}
	return tg, nil
}

// pullRequestEvent is the part of a pull_request payload the service reads.
type pullRequestEvent struct {
	Action      string `json:"action"`
	Number      int    `json:"number"`
	PullRequest struct {
		Base struct {
			SHA string `json:"sha"`
			Ref string `json:"ref"`
		} `json:"base"`
		Head struct {
			SHA string `json:"sha"`
		} `json:"head"`
	} `json:"pull_request"`
	Repository   repository   `json:"repository"`
	Installation installation `json:"installation"`
}

// prScanned are the pull request actions that bring new commits.
var prScanned = map[string]bool{"opened": true, "synchronize": true, "reopened": true}

// pullRequestTarget scans what the head has that the base has not
// (base.sha..head.sha), for the actions that bring commits. The head comes
// from refs/pull/N/head, which GitHub keeps for forks too.
func pullRequestTarget(body []byte) (target, error) {
	var ev pullRequestEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return target{}, err
	}
	base, head := ev.PullRequest.Base.SHA, ev.PullRequest.Head.SHA
	tg := target{
		repo: ev.Repository.FullName, installation: ev.Installation.ID, head: head, pr: ev.Number,
		scan:  prScanned[ev.Action] && base != "" && head != "" && ev.Number > 0,
		attrs: []any{"action", ev.Action, "number", ev.Number, "base", base, "head", head},
	}
	if !tg.scan {
		return tg, nil
	}
	for _, id := range []string{base, head} {
		if !commitID().MatchString(id) {
			return target{}, fmt.Errorf("commit id %q: not hexadecimal", id)
		}
	}
	own := fmt.Sprintf("refs/pull/%d/head", ev.Number)
	tg.refs, tg.wants = []string{own}, []string{head, base}
	if br := "refs/heads/" + ev.PullRequest.Base.Ref; validRef(br) == nil {
		tg.refs = append(tg.refs, br)
	}
	tg.plan = func(has func(string) bool, others []string) scope {
		if has(base) {
			return scope{rng: base + ".." + head, own: own}
		}
		return scope{branch: head, exclude: others, own: own}
	}
	return tg, nil
}

// afterScan runs the responses to the incidents found and reports back to
// GitHub. The report goes out even when a response failed (the job is then
// retried, and both are idempotent).
func (p Processor) afterScan(ctx context.Context, d store.Delivery, tg target, fs []findings.Finding) error {
	var incs []*triage.Incident
	var rerr, perr error
	if p.Respond != nil {
		incs, rerr = p.Respond.run(ctx, fs)
		if rerr != nil {
			rerr = fmt.Errorf("responses: %w", rerr)
		}
		p.countActions(d, incs)
	}
	if p.Report != nil && tg.head != "" {
		perr = p.Report.report(ctx, tg, fs, incs)
	}
	return errors.Join(rerr, perr)
}

// countActions puts the responses triage ran for incs in the metrics: each
// action by kind and outcome, and for each key revoked now (not one found
// already revoked by an earlier run) the time since its push arrived.
func (p Processor) countActions(d store.Delivery, incs []*triage.Incident) {
	for _, inc := range incs {
		for _, a := range inc.Actions {
			p.Metrics.Action(a.Action, a.Outcome)
			if a.Action == triage.ActionRevoke && a.Outcome == triage.OutcomeDone {
				p.Metrics.Revoked(time.Since(d.ReceivedAt))
			}
		}
	}
}
