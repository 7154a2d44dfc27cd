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

// Processor is the default work for a delivery. It reads what a push
// names (repository, ref, commits); when the repository is in RepoCache it
// scans the pushed commits and records the findings in Store, else it only
// records the delivery as processed (fetching comes next: docs/SERVE.md).
// Pull requests are only recorded.
type Processor struct {
	Log *slog.Logger
	// Store receives the incidents found.
	Store *store.Store
	// RepoCache holds repositories as RepoCache/owner/name ("": no scan).
	RepoCache string
	// Engine is the detector engine (needed with RepoCache).
	Engine *detectors.Engine
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
	Repository struct {
		FullName      string `json:"full_name"`
		CloneURL      string `json:"clone_url"`
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
}

// Process handles one delivery. A payload that is not valid JSON is an
// error that retrying will not fix, but it was signed by GitHub, so it is
// worth the few attempts and the log lines.
func (p Processor) Process(ctx context.Context, d store.Delivery) error {
	switch d.Event {
	case "push":
		var ev pushEvent
		if err := json.Unmarshal(d.Body, &ev); err != nil {
			return fmt.Errorf("push payload: %w", err)
		}
		attrs := []any{"delivery", d.ID, "repository", ev.Repository.FullName,
			"ref", ev.Ref, "before", ev.Before, "after", ev.After, "commits", len(ev.Commits),
			"created", ev.Created, "deleted", ev.Deleted, "forced", ev.Forced}
		if p.RepoCache == "" {
			p.Log.InfoContext(ctx, "push recorded", attrs...)
			return nil
		}
		n, err := p.scanPush(ctx, d, ev)
		switch {
		case errors.Is(err, errNotCached):
			p.Log.InfoContext(ctx, "push recorded, not scanned: repository not in the cache", attrs...)
		case err != nil:
			return err
		default:
			p.Log.InfoContext(ctx, "push scanned", append(attrs, "findings", n)...)
		}
	default:
		p.Log.InfoContext(ctx, "delivery recorded", "delivery", d.ID, "event", d.Event)
	}
	return nil
}
