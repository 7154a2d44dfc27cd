package awsops

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/smithy-go/middleware"
)

type middlewareStack = middleware.Stack

const rateLimitID = "bksRateLimit"

// Limiter is a token bucket: rate tokens a second, at most burst at once.
// Safe for concurrent use.
type Limiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

// NewLimiter returns a full bucket.
func NewLimiter(rate float64, burst int) *Limiter {
	return &Limiter{rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

// Wait blocks until a token is available or ctx ends.
func (l *Limiter) Wait(ctx context.Context) error {
	for {
		l.mu.Lock()
		now := time.Now()
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
		l.last = now
		if l.tokens >= 1 {
			l.tokens--
			l.mu.Unlock()
			return nil
		}
		wait := time.Duration((1 - l.tokens) / l.rate * float64(time.Second))
		l.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// middleware waits for a token before every attempt (retries included:
// AWS counts them against the quota too).
// A later limiter replaces an earlier one, so a copied aws.Config can be
// given its own.
func (l *Limiter) middleware(stack *middleware.Stack) error {
	_, _ = stack.Finalize.Remove(rateLimitID)
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc(rateLimitID,
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if err := l.Wait(ctx); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("rate limit: %w", err)
			}
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}
