package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/serve/store"
)

// Processor is the default work for a delivery. It reads what a push or a
// pull request names (repository, commits); when the repository is in
// RepoCache it scans those commits and records the findings in Store, else
// it only records the delivery as processed (fetching comes next:
// docs/SERVE.md).
type Processor struct {
	Log *slog.Logger
	// Store receives the incidents found.
	Store *store.Store
	// RepoCache holds repositories as RepoCache/owner/name ("": no scan).
	RepoCache string
	// Engine is the detector engine (needed with RepoCache).
	Engine *detectors.Engine
	// Metrics records scans and findings (nil: not recorded).
	Metrics *Metrics
}

// target is what a delivery asks to scan, in the terms of `detect git`:
// the commits of rng (BASE..HEAD) or the history of branch, in repo. scan
// is false when there is nothing to scan (a deleted branch, a closed pull
// request). attrs describe the delivery in the log.
type target struct {
	repo, rng, branch string
	scan              bool
	attrs             []any
}

// targets reads each event's payload; events without one are recorded
// only.
var targets = map[string]func(body []byte) (target, error){
	"push":         pushTarget,
	"pull_request": pullRequestTarget,
}

// Process handles one delivery. A payload that is not valid JSON is an
// error that retrying will not fix, but it was signed by GitHub, so it is
// worth the few attempts and the log lines.
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
	if p.RepoCache == "" || !tg.scan {
		p.Log.InfoContext(ctx, "delivery recorded", attrs...)
		return nil
	}
	n, err := p.scanTarget(ctx, d, tg)
	switch {
	case errors.Is(err, errNotCached):
		p.Log.InfoContext(ctx, "delivery recorded, not scanned: repository not in the cache", attrs...)
	case err != nil:
		return err
	default:
		p.Log.InfoContext(ctx, "delivery scanned", append(attrs, "findings", n)...)
	}
	return nil
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
	Repository repository `json:"repository"`
}

func pushTarget(body []byte) (target, error) {
	var ev pushEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return target{}, err
	}
	rng, branch, ok := pushScope(ev)
	return target{repo: ev.Repository.FullName, rng: rng, branch: branch, scan: ok, attrs: []any{
		"ref", ev.Ref, "before", ev.Before, "after", ev.After, "commits", len(ev.Commits),
		"created", ev.Created, "deleted", ev.Deleted, "forced", ev.Forced,
	}}, nil
}

// pullRequestEvent is the part of a pull_request payload the service reads.
type pullRequestEvent struct {
	Action      string `json:"action"`
	Number      int    `json:"number"`
	PullRequest struct {
		Base struct {
			SHA string `json:"sha"`
		} `json:"base"`
		Head struct {
			SHA string `json:"sha"`
		} `json:"head"`
	} `json:"pull_request"`
	Repository repository `json:"repository"`
}

// prScanned are the pull request actions that bring new commits.
var prScanned = map[string]bool{"opened": true, "synchronize": true, "reopened": true}

// pullRequestTarget scans what the head has that the base has not
// (base.sha..head.sha), for the actions that bring commits. The head's
// commits must be in the cache (refs/pull/N/head for a fork).
func pullRequestTarget(body []byte) (target, error) {
	var ev pullRequestEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return target{}, err
	}
	base, head := ev.PullRequest.Base.SHA, ev.PullRequest.Head.SHA
	return target{
		repo: ev.Repository.FullName, rng: base + ".." + head,
		scan:  prScanned[ev.Action] && base != "" && head != "",
		attrs: []any{"action", ev.Action, "number", ev.Number, "base", base, "head", head},
	}, nil
}
