package reposweep

import (
	"context"
	"fmt"
	"time"

	"github.com/bks-dev/bks/sources"
)

// ListErrors tracks the items of a listing (a group, an author, a named
// repository): each that fails is reported and the listing goes on; it
// fails as a whole only when every item did.
type ListErrors struct {
	OnError sources.ErrorHandler

	items, failed int
	last          error
}

// Do lists one item, reporting its error under the item's name.
func (l *ListErrors) Do(item string, list func() error) {
	l.items++
	if err := list(); err != nil {
		l.failed++
		l.last = err
		if l.OnError != nil {
			l.OnError(item, err)
		}
	}
}

// Err is ctx's error, or an error when every item failed.
func (l *ListErrors) Err(ctx context.Context, host string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.items > 0 && l.failed == l.items {
		return fmt.Errorf("%s: nothing could be listed: %w", host, l.last)
	}
	return nil
}

// Sleep waits d, or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
