package awsops

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

// RetryThrottled waits out throttling refusals and calls again; any other
// error, or too many refusals, ends it.
func TestRetryThrottled(t *testing.T) {
	defer func(p time.Duration) { throttlePause = p }(throttlePause)
	throttlePause = time.Millisecond
	throttle := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	ctx := context.Background()
	calls := 0
	n, err := RetryThrottled(ctx, nil, func() error {
		calls++
		if calls <= 2 {
			return throttle
		}
		return nil
	})
	if err != nil || n != 2 || calls != 3 {
		t.Errorf("throttled twice: n=%d calls=%d err=%v", n, calls, err)
	}
	denied := &smithy.GenericAPIError{Code: "AccessDenied"}
	calls = 0
	if _, err := RetryThrottled(ctx, nil, func() error { calls++; return denied }); !errors.Is(err, denied) || calls != 1 {
		t.Errorf("AccessDenied retried: calls=%d err=%v", calls, err)
	}
	calls = 0
	n, err = RetryThrottled(ctx, nil, func() error { calls++; return throttle })
	if !IsThrottle(err) || n != ThrottleAttempts || calls != ThrottleAttempts+1 {
		t.Errorf("always throttled: n=%d calls=%d err=%v", n, calls, err)
	}
}
