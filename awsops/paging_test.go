package awsops

import (
	"context"
	"testing"

	"github.com/aws/smithy-go"
)

// A listing whose paging token AWS refuses as stale runs again from the
// start, once; other errors, and a second refusal, are returned.
func TestListFromStart(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		err   error
		stale bool
	}{
		{&smithy.GenericAPIError{Code: "InvalidNextTokenException", Message: "Invalid NextToken"}, true},
		{&smithy.GenericAPIError{Code: "ValidationError", Message: "Invalid Marker"}, true},
		{&smithy.GenericAPIError{Code: "ValidationError", Message: "1 validation error detected: Value at 'userName' failed"}, false},
		{&smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}, false},
	} {
		if got := IsStaleToken(tc.err); got != tc.stale {
			t.Errorf("IsStaleToken(%v) = %v", tc.err, got)
		}
		calls := 0
		got, err := ListFromStart(ctx, func(context.Context) (int, error) {
			calls++
			if calls == 1 {
				return 0, tc.err
			}
			return 42, nil
		})
		if tc.stale && (err != nil || got != 42 || calls != 2) {
			t.Errorf("%v: restarted %d calls, got %d, %v", tc.err, calls, got, err)
		}
		if !tc.stale && (err == nil || calls != 1) {
			t.Errorf("%v: %d calls, err %v", tc.err, calls, err)
		}
	}
	calls := 0
	stale := &smithy.GenericAPIError{Code: "InvalidNextTokenException"}
	if _, err := ListFromStart(ctx, func(context.Context) (int, error) { calls++; return 0, stale }); err == nil || calls != 2 {
		t.Errorf("stale twice: %d calls, %v", calls, err)
	}
}
