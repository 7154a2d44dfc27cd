package git

import (
	"io"
	"os"
	"syscall"
)

// growPipe asks for a 1 MiB pipe buffer (Linux's default is 64 KiB):
// gigabytes of blobs come through it, and fewer, larger transfers cost the
// two processes fewer wake-ups. Best effort.
func growPipe(r io.Reader) {
	f, ok := r.(*os.File)
	if !ok {
		return
	}
	const fSetPipeSz = 1031 // F_SETPIPE_SZ
	_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), fSetPipeSz, 1<<20)
}
