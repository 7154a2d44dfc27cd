// Command bks finds leaked AWS Bedrock API keys and cleans up after them.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"

	"golang.org/x/term"

	"github.com/bks-dev/bks/internal/cli"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/internal/startgc"
)

func main() {
	startgc.Done()
	// Ctrl-C or SIGTERM stops the run (exit 130); a second one exits at once.
	ctx, stop := cmdutil.SignalContext(context.Background(), os.Stderr, os.Exit)
	stopProfile := startProfile(os.Getenv("BKS_CPUPROFILE"))
	code := cli.Run(ctx, os.Args[1:], &cli.IO{
		In:              os.Stdin,
		Out:             os.Stdout,
		Err:             os.Stderr,
		Getenv:          os.Getenv,
		IsTerminal:      term.IsTerminal(int(os.Stdout.Fd())),
		StdinIsTerminal: term.IsTerminal(int(os.Stdin.Fd())),
	})
	stop()
	stopProfile()
	os.Exit(code)
}

// startProfile writes a CPU profile to path when it is set (the
// BKS_CPUPROFILE variable, for `go tool pprof`; docs/BENCH.md), and
// returns what stops it.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bks: BKS_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
