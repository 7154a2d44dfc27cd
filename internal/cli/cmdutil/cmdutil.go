// Package cmdutil holds what every bks command shares, so that each kind of
// knowledge is in one place: the IO streams and the environment (IO), the
// exit codes and the few errors that choose them (exit.go), the AWS, org,
// policy and live-check flags (flags.go), and the Factory that builds AWS,
// GitHub and Bedrock live-check clients (factory.go).
//
// Commands receive a *Factory and read the environment only through it
// (IO.Env): tests and `bks demo` pass another one instead of changing the
// process environment.
package cmdutil

import (
	"context"
	"io"
)

// IO is what commands read and write. Tests pass buffers.
type IO struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	Getenv func(string) string // nil: an empty environment
	// IsTerminal reports whether Out is a terminal (colour, progress).
	IsTerminal bool
	// StdinIsTerminal reports whether In is a terminal (confirmation prompts).
	StdinIsTerminal bool
}

// Env returns the environment variable key, "" when unset. It is the only
// way commands read the environment.
func (io *IO) Env(key string) string {
	if io.Getenv == nil {
		return ""
	}
	return io.Getenv(key)
}

// WithEnv returns a copy of io whose environment is io's with vars on top
// (a value "" hides the variable).
func (io *IO) WithEnv(vars map[string]string) *IO {
	c := *io
	parent := io.Env
	c.Getenv = func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return parent(k)
	}
	return &c
}

// WithContext returns a copy of io whose In gives up with ctx's error once
// ctx is cancelled, even while a read is blocked (a terminal or a pipe
// nobody writes to): Ctrl-C must end `bks decode-key -` too.
func (io *IO) WithContext(ctx context.Context) *IO {
	c := *io
	if c.In != nil && ctx.Done() != nil {
		c.In = &ctxReader{ctx: ctx, r: io.In}
	}
	return &c
}

// ctxReader reads r in a goroutine of its own, one read at a time, so that
// Read can return when ctx is cancelled. After that the reader is dead: the
// pending read, if any, ends when r does and its data is dropped.
type ctxReader struct {
	ctx  context.Context
	r    io.Reader
	req  chan int
	res  chan readResult
	buf  []byte
	dead error
}

type readResult struct {
	n   int
	err error
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if c.dead != nil {
		return 0, c.dead
	}
	if err := c.ctx.Err(); err != nil {
		c.dead = err
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if c.req == nil {
		c.req, c.res, c.buf = make(chan int), make(chan readResult, 1), make([]byte, 64<<10)
		go c.pump()
	}
	c.req <- min(len(p), len(c.buf)) // the pump is idle: the last result was taken
	select {
	case r := <-c.res:
		copy(p, c.buf[:r.n])
		return r.n, r.err
	case <-c.ctx.Done():
		c.dead = c.ctx.Err()
		close(c.req) // the pump exits once its read returns
		return 0, c.dead
	}
}

// pump serves read requests until req is closed.
func (c *ctxReader) pump() {
	for n := range c.req {
		k, err := c.r.Read(c.buf[:n])
		c.res <- readResult{k, err}
	}
}
