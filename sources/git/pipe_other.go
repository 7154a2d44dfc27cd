//go:build !linux

package git

import "io"

func growPipe(io.Reader) {}
