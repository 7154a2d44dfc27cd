package awsops

import (
	"context"
	"time"
)

// ThrottleAttempts is how many times RetryThrottled calls again after AWS
// refused with a throttling error that the SDK's own retries did not ride
// out.
const ThrottleAttempts = 6

// throttlePause is the first pause after a throttling refusal; it grows by
// as much each time.
var throttlePause = 500 * time.Millisecond

// RetryThrottled calls fn, waiting for lim (if any) before every call.
// While fn fails with a throttling error (IsThrottle), it pauses — longer
// each time — and calls again, ThrottleAttempts times at most; any other
// error ends it. It returns how many calls were throttled. APIs with a
// per-second quota that other callers in the account share (CloudTrail
// LookupEvents: 2 per second per region) refuse even a client that keeps
// its own pace, and a page given up on is a timeline silently shorter.
func RetryThrottled(ctx context.Context, lim *Limiter, fn func() error) (throttled int, err error) {
	for attempt := 0; ; attempt++ {
		if lim != nil {
			if err := lim.Wait(ctx); err != nil {
				return throttled, err
			}
		}
		err = fn()
		if err == nil || !IsThrottle(err) || attempt >= ThrottleAttempts || ctx.Err() != nil {
			return throttled, err
		}
		throttled++
		t := time.NewTimer(time.Duration(attempt+1) * throttlePause)
		select {
		case <-ctx.Done():
			t.Stop()
			return throttled, ctx.Err()
		case <-t.C:
		}
	}
}
