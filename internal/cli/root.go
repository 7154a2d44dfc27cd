// Package cli wires bks's commands to the packages that do the work. It is
// the only place that parses flags, prints to the terminal and decides exit
// codes. What the commands share (IO, exit codes and their mapping, common
// flags, the factory of AWS and GitHub clients) is in cmdutil; each command
// receives a *cmdutil.Factory.
package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
)

// Exit codes, decided in one place (cmdutil.ExitCode).
const (
	ExitOK       = cmdutil.ExitOK
	ExitFound    = cmdutil.ExitFound
	ExitFailure  = cmdutil.ExitFailure
	ExitCanceled = cmdutil.ExitInterrupted
)

// Version is set at build time with -ldflags "-X github.com/bks-dev/bks/internal/cli.Version=…".
var Version = "dev"

// IO is what commands read and write (cmdutil.IO; named here so that
// callers of Run need not import cmdutil).
type IO = cmdutil.IO

// NewRoot builds the command tree for the factory f. Every command is
// registered here, in one explicit list.
func NewRoot(ctx context.Context, f *cmdutil.Factory) *cobra.Command {
	root := &cobra.Command{
		Use:           "bks",
		Short:         "Find leaked AWS Bedrock API keys and clean up after them",
		Long:          rootLong,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.Err)
	root.SetContext(ctx)
	root.AddCommand(
		newCmdDetect(f),
		newCmdDecodeKey(f),
		newCmdDemo(f),
		newCmdSCP(f),
		newCmdVerify(f),
		newCmdHook(f),
		newCmdRevokeKey(f),
		newCmdScan(f),
		newCmdCleanup(f),
		newCmdDev(f),
		newCmdTimeline(f),
		newCmdMerge(f),
		newCmdReport(f),
		newCmdConfig(f),
		newCmdRules(f),
		newCmdTriage(f),
		newCmdServe(f),
		newCmdKPIs(f),
		// Commands from other packages of work register here, one line each.
	)
	requireSubcommands(root)
	requireKnownHelpTopics(root)
	return root
}

const rootLong = `bks finds leaked AWS Bedrock API keys (long-term ABSK… and short-term
bedrock-api-key-…) in files, git history and GitHub organizations, decodes
them offline (account, IAM user, region, expiry), and acts on the AWS
accounts they belong to.

Exit codes: 0 nothing found, 1 keys found (or findings over policy),
2 error, 3 key partially revoked (revoke-key), 130 interrupted.`

// Run executes bks with args and returns the process exit code.
func Run(ctx context.Context, args []string, io *IO) int {
	return runFactory(ctx, args, cmdutil.New(io.WithContext(ctx)))
}

// runFactory executes bks with the factory f (the demo and tests pass their own).
func runFactory(ctx context.Context, args []string, f *cmdutil.Factory) int {
	root := NewRoot(ctx, f)
	root.SetArgs(args)
	return cmdutil.ExitCode(ctx, root.ExecuteContext(ctx), f.IO.Err)
}
