package awsemu

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
)

// Clock is a clock a test moves, for Options.Now. Safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// AdvanceAfterFirstAnswer makes the clients built from cfg move the clock
// on by d once per operation named in ops, right after its first answer:
// a paging token that call returned is then d old when the next page is
// asked for (Seed.MarkerTTL).
func (c *Clock) AdvanceAfterFirstAnswer(cfg *aws.Config, d time.Duration, ops ...string) {
	seen := map[string]bool{}
	var mu sync.Mutex
	cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
		return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("awsemuAdvanceClock", func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			op := middleware.GetOperationName(ctx)
			mu.Lock()
			first := !seen[op]
			seen[op] = true
			mu.Unlock()
			if first && contains(ops, op) {
				c.Advance(d)
			}
			return out, md, err
		}), middleware.After)
	})
}
