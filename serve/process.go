package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/bks-dev/bks/serve/store"
)

// Processor is the default work for a delivery. For now it reads what a
// push or pull request names (repository, ref, commits) and records the
// delivery as processed; fetching and scanning the commits come next
// (docs/SERVE.md).
type Processor struct {
	Log *slog.Logger
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
		FullName string `json:"full_name"`
		CloneURL string `json:"clone_url"`
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
		p.Log.InfoContext(ctx, "push recorded", "delivery", d.ID, "repository", ev.Repository.FullName,
			"ref", ev.Ref, "before", ev.Before, "after", ev.After, "commits", len(ev.Commits),
			"created", ev.Created, "deleted", ev.Deleted, "forced", ev.Forced)
	default:
		p.Log.InfoContext(ctx, "delivery recorded", "delivery", d.ID, "event", d.Event)
	}
	return nil
}
