package awsops

import (
	"errors"
	"strings"

	"github.com/aws/smithy-go"
)

// ErrorCode returns the AWS error code of err ("" when it is not an AWS
// API error).
func ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// IsNotFound reports NoSuchEntity (and the other services' not-found codes).
func IsNotFound(err error) bool {
	switch ErrorCode(err) {
	case "NoSuchEntity", "NoSuchEntityException", "ResourceNotFoundException", "AccountNotFoundException":
		return true
	}
	return false
}

// IsAccessDenied reports an authorization failure.
func IsAccessDenied(err error) bool {
	switch ErrorCode(err) {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError":
		return true
	}
	return false
}

// IsThrottle reports a throttling error (after the SDK's retries).
func IsThrottle(err error) bool {
	switch ErrorCode(err) {
	case "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown":
		return true
	}
	return false
}

// Describe says what went wrong with operation (service:Action) in one
// line, naming the permission when access was denied, e.g.
// "ListAccessKeys: AccessDenied — needs iam:ListAccessKeys".
func Describe(service, action string, err error) string {
	code := ErrorCode(err)
	switch {
	case IsAccessDenied(err):
		return action + ": " + code + " — needs " + service + ":" + action
	case IsThrottle(err):
		return action + ": " + code + " (still throttled after retries)"
	case code != "":
		var ae smithy.APIError
		errors.As(err, &ae)
		return action + ": " + code + ": " + firstLine(ae.ErrorMessage())
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && len(msg)-i < 120 {
		msg = msg[i+2:]
	}
	return action + ": " + firstLine(msg)
}
