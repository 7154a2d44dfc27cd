//go:build unix

package files

import (
	"errors"
	"os"
	"syscall"
)

// openFile opens path for reading without blocking (a FIFO swapped in after
// the walk returns at once instead of waiting for a writer) and, below a
// root, without following a symlink swapped in after the walk.
func openFile(path string, root bool) (file, error) {
	flags := os.O_RDONLY | syscall.O_NONBLOCK
	if !root {
		flags |= syscall.O_NOFOLLOW
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		if !root && isSymlinkLoopErr(err) {
			return nil, errSkip // became a symlink: not followed, as in the walk
		}
		return nil, err
	}
	return osFile{f}, nil
}

func isSymlinkLoopErr(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && pe.Err == syscall.ELOOP
}
