//go:build linux && (amd64 || arm64)

package files

import (
	"syscall"
	"unsafe"
)

// rawCalls says that rawRead and the others are raw system calls here:
// on 64-bit Linux, where they take the arguments syscall.Read and the
// others pass (32-bit systems split pread's offset in two registers and
// have fstat64).
//
// A file of a local filesystem (localFS) is read and closed with raw
// system calls, which the Go scheduler does not see: a worker keeps its P
// through them. With syscall.Read and the others, the runtime's
// monitor thread wakes every 20 µs to take the P of a worker in a system
// call and start another thread, hundreds of thousands of wakeups and
// thousands of thread switches on a tree of small files. Raw calls took 5 %
// off bks detect files on the AWS-dense bench corpus (session 25).
//
// What a raw call costs is that its goroutine cannot be stopped while it
// runs: the garbage collector and signal delivery wait for it, and a read
// waiting on the disk (a cold cache) keeps its P, where the runtime would
// have run the walk meanwhile. On a local filesystem that is the time of
// a disk read, and a read that never ends
// (a failing disk) would leave bks unable to exit anyway, as a thread in
// uninterruptible sleep. Files of network and FUSE filesystems, whose
// reads can wait on a server indefinitely, use the ordinary calls, and so
// does every FIFO or device, opened without blocking or read by openStream.
// A file is read with raw calls only when fstat finds it on the device of
// its directory as the walk found it. Its open and fstat are raw calls
// too (made ordinary, they brought the monitor's wakeups back and the 5 %
// with them): a mount on the file itself, or on a directory of its path
// after the walk, which takes privileges a scanned repository does not
// have, could make those two wait.
const rawCalls = true

func errno(e syscall.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

func rawOpen(path string, flags int) (int, error) {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	dirfd := atFDCWD // a variable: the constant, negative, does not convert
	fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags), 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// atFDCWD is AT_FDCWD: openat's path is relative to the working directory.
const atFDCWD = -100

func rawFstat(fd int, st *syscall.Stat_t) error {
	_, _, e := syscall.RawSyscall(syscall.SYS_FSTAT, uintptr(fd), uintptr(unsafe.Pointer(st)), 0)
	return errno(e)
}

func rawRead(fd int, b []byte) (int, error) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(p), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawPread(fd int, b []byte, off int64) (int, error) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	n, _, e := syscall.RawSyscall6(syscall.SYS_PREAD64, uintptr(fd), uintptr(p), uintptr(len(b)), uintptr(off), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawClose(fd int) error {
	_, _, e := syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0)
	return errno(e)
}
