package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Exit codes: what the README promises.
const (
	ExitOK          = 0   // nothing found, nothing to act on
	ExitFound       = 1   // keys found (detect), findings over policy (scan), a live key, open incidents
	ExitFailure     = 2   // the run failed or could not read something
	ExitPartial     = 3   // revoke-key: some write calls were made, others failed (the output says what still stands)
	ExitInterrupted = 130 // Ctrl-C or SIGTERM: the run is incomplete
)

// The errors that choose an exit code other than ExitFailure. Any other
// error, wrapped or not, exits ExitFailure with "bks: <error>".
var (
	// ErrFound: the command found what it looks for. Exit ExitFound,
	// nothing printed; a *FoundError sets another code or a message.
	ErrFound = errors.New("found")
	// ErrFailed: the run failed and its output already says why (a table
	// of results): exit ExitFailure with nothing more printed.
	ErrFailed = errors.New("failed")
	// ErrPartial: the run changed some of what it meant to and failed on
	// the rest (revoke-key): exit ExitPartial with the error printed.
	ErrPartial = errors.New("partially done")
	// ErrInterrupted: the run was cancelled. Wrap it to say what is
	// incomplete: fmt.Errorf("%w: the scan is incomplete", ErrInterrupted).
	ErrInterrupted = errors.New("interrupted")
	// ErrStopped: a long-running command (bks serve) was asked to stop
	// (Ctrl-C, SIGTERM) and stopped cleanly: nothing is incomplete, exit
	// ExitOK, nothing printed.
	ErrStopped = errors.New("stopped")
)

// FoundError is ErrFound with the exit code the user chose (--exit-code)
// and, when Msg is set, a message to print.
type FoundError struct {
	Code int
	Msg  string
}

func (e *FoundError) Error() string {
	if e.Msg == "" {
		return ErrFound.Error()
	}
	return e.Msg
}

// Is makes errors.Is(err, ErrFound) hold.
func (e *FoundError) Is(target error) bool { return target == ErrFound }

// Partial marks err (which says what was and was not done) as a partial
// run: it exits ExitPartial and prints err as it is.
func Partial(err error) error { return partialError{err} }

type partialError struct{ err error }

func (e partialError) Error() string   { return e.err.Error() }
func (e partialError) Unwrap() []error { return []error{e.err, ErrPartial} }

// Found is the error of a command that found something, exiting code.
func Found(code int) error { return &FoundError{Code: code} }

// ExitCode maps what a command returned to the process exit code and
// prints the error on stderr. It is the only place that does: a clean stop
// of a service first, then cancellation (a cancelled run is incomplete
// whatever else it returned, and the SDK's "context canceled" is never
// shown), then the sentinels, then any other error.
func ExitCode(ctx context.Context, err error, stderr io.Writer) int {
	switch {
	case errors.Is(err, ErrStopped):
		return ExitOK
	case ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrInterrupted):
		msg := ErrInterrupted.Error()
		if errors.Is(err, ErrInterrupted) {
			msg = err.Error()
		}
		fmt.Fprintf(stderr, "bks: %s\n", msg)
		return ExitInterrupted
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrFound):
		var fe *FoundError
		if !errors.As(err, &fe) {
			return ExitFound
		}
		if fe.Msg != "" {
			fmt.Fprintf(stderr, "bks: %s\n", fe.Msg)
		}
		return fe.Code
	case errors.Is(err, ErrFailed):
		return ExitFailure
	case errors.Is(err, ErrPartial):
		fmt.Fprintf(stderr, "bks: %v\n", err)
		return ExitPartial
	}
	fmt.Fprintf(stderr, "bks: %v\n", err)
	return ExitFailure
}
