package awsops

import (
	"context"
	"strings"
)

// IsStaleToken reports AWS's refusal of a paging token (Marker,
// NextToken) that expired or belongs to another request: CloudTrail's
// InvalidNextTokenException
// (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html),
// IAM's ValidationError "Invalid Marker", Organizations' InvalidInputException
// about the token.
func IsStaleToken(err error) bool {
	switch ErrorCode(err) {
	case "InvalidNextTokenException", "InvalidNextToken", "ExpiredNextTokenException":
		return true
	case "ValidationError", "ValidationException", "InvalidInputException":
		msg := strings.ToLower(err.Error())
		return strings.Contains(msg, "marker") || strings.Contains(msg, "next_token") || strings.Contains(msg, "nexttoken")
	}
	return false
}

// ListFromStart runs list, a whole paginated listing, and runs it again
// from its first page when AWS refuses one of its paging tokens as stale
// (IsStaleToken), once: the pages read before are not kept, so a listing
// is complete or an error, never its first pages passed off as the whole.
func ListFromStart[T any](ctx context.Context, list func(context.Context) (T, error)) (T, error) {
	out, err := list(ctx)
	if err != nil && IsStaleToken(err) && ctx.Err() == nil {
		return list(ctx)
	}
	return out, err
}
