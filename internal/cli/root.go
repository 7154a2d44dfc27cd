// Package cli wires bks's commands to the packages that do the work. It is
// the only place that parses flags, prints to the terminal and decides exit
// codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes, decided in one place (Run).
const (
	ExitOK       = 0 // nothing found / nothing to act on
	ExitFound    = 1 // keys found (detect), findings over policy (scan)
	ExitFailure  = 2 // the run failed or could not read something
	ExitCanceled = 130
)

// Version is set at build time with -ldflags "-X github.com/bks-dev/bks/internal/cli.Version=…".
var Version = "dev"

// IO is what commands read and write. Tests pass buffers.
type IO struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	Getenv func(string) string
	// IsTerminal reports whether Out is a terminal (colour, progress).
	IsTerminal bool
	// StdinIsTerminal reports whether In is a terminal (confirmation prompts).
	StdinIsTerminal bool
}

// ExitError carries an exit code chosen by a command, e.g. "keys found".
type ExitError struct {
	Code int
	Err  error // may be nil: nothing more to print
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Found returns the error a command returns when it found something; code
// lets --exit-code change the default 1.
func Found(code int) error { return &ExitError{Code: code} }

// NewRoot builds the command tree. Every command is registered here, in one
// explicit list.
func NewRoot(ctx context.Context, io *IO) *cobra.Command {
	root := &cobra.Command{
		Use:           "bks",
		Short:         "Find leaked AWS Bedrock API keys and clean up after them",
		Long:          rootLong,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	root.SetContext(ctx)
	root.AddCommand(
		newCmdDetect(io),
		newCmdDecodeKey(io),
		newCmdDemo(io),
		newCmdSCP(io),
		newCmdVerify(io),
		newCmdHook(io),
		newCmdRevokeKey(io),
		newCmdScan(io),
		newCmdCleanup(io),
		newCmdDev(io),
		newCmdTimeline(io),
		newCmdMerge(io),
		newCmdReport(io),
		newCmdConfig(io),
		newCmdRules(io),
		newCmdTriage(io),
		// Commands from other packages of work register here, one line each.
	)
	return root
}

const rootLong = `bks finds leaked AWS Bedrock API keys (long-term ABSK… and short-term
bedrock-api-key-…) in files, git history and GitHub organizations, decodes
them offline (account, IAM user, region, expiry), and acts on the AWS
accounts they belong to.

Exit codes: 0 nothing found, 1 keys found (or findings over policy),
2 error, 130 interrupted.`

// Run executes bks with args and returns the process exit code.
func Run(ctx context.Context, args []string, io *IO) int {
	root := NewRoot(ctx, io)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return exitCode(ctx, err, io.Err)
}

func exitCode(ctx context.Context, err error, stderr io.Writer) int {
	if err == nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "bks: interrupted")
			return ExitCanceled
		}
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(stderr, "bks: %v\n", ee.Err)
		}
		return ee.Code
	}
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		fmt.Fprintln(stderr, "bks: interrupted")
		return ExitCanceled
	}
	fmt.Fprintf(stderr, "bks: %v\n", err)
	return ExitFailure
}
