package cmdutil

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// StopSignals are the signals that interrupt bks: Ctrl-C and SIGTERM (what
// `timeout`, CI runners and container runtimes send).
var StopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// SignalContext returns a context cancelled by the first of StopSignals:
// the command stops, says what is incomplete and exits ExitInterrupted
// (ExitCode). A second signal calls exit(ExitInterrupted) at once, after a
// line on stderr, for a command that does not stop soon enough. stop
// releases the signals.
func SignalContext(parent context.Context, stderr io.Writer, exit func(code int)) (ctx context.Context, stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, StopSignals...)
	ctx, cancel := context.WithCancel(parent)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			cancel()
		case <-done:
			return
		}
		select {
		case sig := <-ch:
			fmt.Fprintf(stderr, "bks: %v again: exiting at once\n", sig)
			exit(ExitInterrupted)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel()
		})
	}
}
