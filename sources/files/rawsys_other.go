//go:build unix && !(linux && (amd64 || arm64))

package files

import "syscall"

// rawCalls says that rawRead and the others are raw system calls: not
// here, where they are the ordinary ones (rawsys_fast.go says why 64-bit
// Linux has raw ones).
const rawCalls = false

func rawOpen(path string, flags int) (int, error)       { return syscall.Open(path, flags, 0) }
func rawFstat(fd int, st *syscall.Stat_t) error         { return syscall.Fstat(fd, st) }
func rawRead(fd int, b []byte) (int, error)             { return syscall.Read(fd, b) }
func rawPread(fd int, b []byte, off int64) (int, error) { return syscall.Pread(fd, b, off) }
func rawClose(fd int) error                             { return syscall.Close(fd) }
