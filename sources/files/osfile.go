package files

import (
	"context"
	"errors"
	"io"
	"os"
)

// errSkip from an open function means: skip the file silently.
var errSkip = errors.New("skip")

// openStream opens a FIFO or character device named by the user. Opening a
// FIFO waits for a writer, so the open runs in a goroutine of its own that
// is abandoned when ctx ends first (it ends with a writer, or with the
// process). The stream is closed when ctx ends, which ends a read waiting
// for data: its error is then ctx's.
func openStream(ctx context.Context, path string) (io.ReadCloser, error) {
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		ch <- opened{f, err}
	}()
	select {
	case o := <-ch:
		if o.err != nil {
			return nil, o.err
		}
		c := &ctxStream{ctx: ctx, f: o.f}
		c.stop = context.AfterFunc(ctx, func() { o.f.Close() })
		return c, nil
	case <-ctx.Done():
		go func() {
			if o := <-ch; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// ctxStream is a stream closed when its context ends.
type ctxStream struct {
	ctx  context.Context
	f    *os.File
	stop func() bool
}

func (c *ctxStream) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	if err != nil && c.ctx.Err() != nil {
		return n, c.ctx.Err() // not "file already closed"
	}
	return n, err
}

func (c *ctxStream) Close() error {
	if c.stop() {
		return c.f.Close()
	}
	return nil // closed when ctx ended
}
