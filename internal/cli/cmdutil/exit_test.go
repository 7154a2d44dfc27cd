package cmdutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestExitCode(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	live := context.Background()
	sdkCanceled := fmt.Errorf("sts:GetCallerIdentity: operation error STS: GetCallerIdentity, canceled, %w", context.Canceled)
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		err    error
		code   int
		stderr string
	}{
		{"nil", live, nil, ExitOK, ""},
		{"plain error", live, errors.New("boom"), ExitFailure, "bks: boom\n"},
		{"wrapped error", live, fmt.Errorf("scan: %w", errors.New("boom")), ExitFailure, "bks: scan: boom\n"},
		{"found", live, ErrFound, ExitFound, ""},
		{"found, --exit-code 7", live, Found(7), 7, ""},
		{"found, --exit-code 0", live, Found(0), 0, ""},
		{"found with a message", live, &FoundError{Code: ExitFound, Msg: "the key STILL WORKS"}, ExitFound, "bks: the key STILL WORKS\n"},
		{"failed, already said", live, ErrFailed, ExitFailure, ""},
		{"partially revoked", live, Partial(errors.New("revoke: partially revoked: access key X is still active")), ExitPartial, "bks: revoke: partially revoked: access key X is still active\n"},
		{"interrupted", live, fmt.Errorf("%w: the scan is incomplete", ErrInterrupted), ExitInterrupted, "bks: interrupted: the scan is incomplete\n"},
		{"canceled without the context", live, sdkCanceled, ExitInterrupted, "bks: interrupted\n"},
		// Cancellation comes first, whatever the command returned.
		{"SDK error after Ctrl-C", cancelled, sdkCanceled, ExitInterrupted, "bks: interrupted\n"},
		{"failure after Ctrl-C", cancelled, errors.New("2 accounts could not be scanned"), ExitInterrupted, "bks: interrupted\n"},
		{"found after Ctrl-C", cancelled, Found(1), ExitInterrupted, "bks: interrupted\n"},
		{"nil after Ctrl-C", cancelled, nil, ExitInterrupted, "bks: interrupted\n"},
		// A service asked to stop that stopped cleanly (bks serve, SIGTERM).
		{"stopped after SIGTERM", cancelled, fmt.Errorf("serve: %w", ErrStopped), ExitOK, ""},
	} {
		var stderr bytes.Buffer
		code := ExitCode(tc.ctx, tc.err, &stderr)
		if code != tc.code || stderr.String() != tc.stderr {
			t.Errorf("%s: exit %d, stderr %q; want %d, %q", tc.name, code, stderr.String(), tc.code, tc.stderr)
		}
	}
}
