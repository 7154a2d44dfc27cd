package awsops

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// dialRetryer is the SDK's standard retryer, except for a call whose
// connection fails (refused, no route, no such host): that is tried
// DialAttempts times at most, each retry said through notify. The SDK
// retries it like throttling, up to MaxAttempts with a backoff of up to
// 20 s, so a wrong --endpoint-url waited silently for over a minute; an
// endpoint that refuses connections does not come back in that time.
// Throttling and 5xx replies keep every attempt.
type dialRetryer struct {
	aws.RetryerV2
	notify func(msg string)
}

// RetryDelay ends the retries of a connection error past DialAttempts (an
// error here ends them: the caller gets opErr), and says what the next
// attempt waits for.
func (r *dialRetryer) RetryDelay(attempt int, opErr error) (time.Duration, error) {
	var oe *net.OpError
	if !errors.As(opErr, &oe) || oe.Op != "dial" {
		return r.RetryerV2.RetryDelay(attempt, opErr)
	}
	if attempt >= DialAttempts {
		return 0, opErr
	}
	d, err := r.RetryerV2.RetryDelay(attempt, opErr)
	if err == nil && r.notify != nil {
		where := "the AWS endpoint"
		if oe.Addr != nil {
			where += " " + oe.Addr.String()
		}
		r.notify(fmt.Sprintf("%s: %v; retrying in %.1fs (attempt %d of %d)", where, oe.Err, d.Seconds(), attempt+1, min(DialAttempts, r.MaxAttempts())))
	}
	return d, err
}
