// Command bks finds leaked AWS Bedrock API keys and cleans up after them.
package main

import (
	"context"
	"os"

	"golang.org/x/term"

	"github.com/bks-dev/bks/internal/cli"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
)

func main() {
	// Ctrl-C or SIGTERM stops the run (exit 130); a second one exits at once.
	ctx, stop := cmdutil.SignalContext(context.Background(), os.Stderr, os.Exit)
	code := cli.Run(ctx, os.Args[1:], &cli.IO{
		In:              os.Stdin,
		Out:             os.Stdout,
		Err:             os.Stderr,
		Getenv:          os.Getenv,
		IsTerminal:      term.IsTerminal(int(os.Stdout.Fd())),
		StdinIsTerminal: term.IsTerminal(int(os.Stdin.Fd())),
	})
	stop()
	os.Exit(code)
}
