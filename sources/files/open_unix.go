//go:build unix

package files

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// openFile opens path for reading without blocking (a FIFO swapped in after
// the walk returns at once instead of waiting for a writer) and, below a
// root, without following a symlink swapped in after the walk.
//
// The file is a bare descriptor (fdFile), not an *os.File: an os.File
// registers every descriptor with the runtime's poller (an epoll_ctl that
// fails for regular files) and carries a finalizer, per-file costs that
// weigh on trees of small files. Reads of regular files never wait on the
// poller anyway.
//
// A file of a local filesystem (job.local) is opened and its Stat made
// with raw system calls, and it is read and closed with raw ones once
// Stat has found it on its directory's device (rawsys_fast.go).
func openFile(j job) (file, error) {
	path, root := j.path, j.root
	flags := syscall.O_RDONLY | syscall.O_NONBLOCK | syscall.O_CLOEXEC
	if !root {
		flags |= syscall.O_NOFOLLOW
	}
	f := &fdFile{name: path, local: j.local && rawCalls, dev: j.dev}
	var err error
	for {
		if f.local {
			f.fd, err = rawOpen(path, flags)
		} else {
			f.fd, err = syscall.Open(path, flags, 0)
		}
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		if !root && err == syscall.ELOOP {
			return nil, errSkip // became a symlink: not followed, as in the walk
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return f, nil
}

// fdFile is an open descriptor with the errors os.File gives: a
// *os.PathError naming the file, io.EOF at the end.
type fdFile struct {
	fd   int
	name string
	// local: the walk found the file's directory on a local filesystem,
	// device dev; open and fstat are raw system calls. raw: Stat found
	// the file there too, and reads and close are raw ones.
	local, raw bool
	dev        uint64
}

func (f *fdFile) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := f.read(p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, &os.PathError{Op: "read", Path: f.name, Err: err}
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *fdFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, &os.PathError{Op: "readat", Path: f.name, Err: errors.New("negative offset")}
	}
	done := 0
	for done < len(p) {
		n, err := f.pread(p[done:], off+int64(done))
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return done, &os.PathError{Op: "read", Path: f.name, Err: err}
		case n == 0:
			return done, io.EOF
		}
		done += n
	}
	return done, nil
}

func (f *fdFile) Close() error {
	if f.fd < 0 {
		return os.ErrClosed
	}
	err := f.close()
	f.fd = -1
	if err != nil {
		return &os.PathError{Op: "close", Path: f.name, Err: err}
	}
	return nil
}

func (f *fdFile) Stat() (fileInfo, error) {
	var st syscall.Stat_t
	for {
		var err error
		if f.local {
			err = rawFstat(f.fd, &st)
		} else {
			err = syscall.Fstat(f.fd, &st)
		}
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fileInfo{}, &os.PathError{Op: "stat", Path: f.name, Err: err}
		}
		break
	}
	regular := st.Mode&syscall.S_IFMT == syscall.S_IFREG
	f.raw = f.local && regular && uint64(st.Dev) == f.dev // Dev is uint32 on some architectures
	return fileInfo{size: int64(st.Size), regular: regular}, nil
}

func (f *fdFile) read(p []byte) (int, error) {
	if f.raw {
		return rawRead(f.fd, p)
	}
	return syscall.Read(f.fd, p)
}

func (f *fdFile) pread(p []byte, off int64) (int, error) {
	if f.raw {
		return rawPread(f.fd, p, off)
	}
	return syscall.Pread(f.fd, p, off)
}

func (f *fdFile) close() error {
	if f.raw {
		return rawClose(f.fd)
	}
	return syscall.Close(f.fd)
}
