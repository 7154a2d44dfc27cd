package files

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawCalls says that rawOpen and the others are raw system calls here.
//
// A file of a local filesystem (localFS) is opened, read and closed with
// raw system calls, which the Go scheduler does not see: a worker keeps
// its P through them. With syscall.Read and the others, the runtime's
// monitor thread wakes every 20 µs to take the P of a worker in a system
// call and start another thread, hundreds of thousands of wakeups and
// thousands of thread switches on a tree of small files. Raw calls took 5 %
// off bks detect files on the AWS-dense bench corpus (0.436 → 0.415 s,
// median of 15, session 25).
//
// What a raw call costs is that its goroutine cannot be stopped while it
// runs: the garbage collector and signal delivery wait for it, and a read
// waiting on the disk (a cold cache) keeps its P, where the runtime would
// have run the walk meanwhile. On a local
// filesystem that is the time of a disk read, and a read that never ends
// (a failing disk) would leave bks unable to exit anyway, as a thread in
// uninterruptible sleep. Files of network and FUSE filesystems, whose
// reads can wait on a server indefinitely, use the ordinary calls, and so
// does every FIFO or device, opened without blocking or read by openStream.
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
	dirfd := unix.AT_FDCWD // a variable: the constant, negative, does not convert
	fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags), 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
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

func rawFstat(fd int, st *syscall.Stat_t) error {
	_, _, e := syscall.RawSyscall(syscall.SYS_FSTAT, uintptr(fd), uintptr(unsafe.Pointer(st)), 0)
	return errno(e)
}

func rawClose(fd int) error {
	_, _, e := syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0)
	return errno(e)
}

// zfsSuperMagic is ZFS's f_type (ZFS_SUPER_MAGIC in OpenZFS's
// zfs_vfsops.h; x/sys/unix lists the kernel's own filesystems only).
const zfsSuperMagic = 0x2fc12fc1

// localFS says whether the filesystem holding dir keeps its files on this
// machine's disks or memory (statfs(2) f_type), so that their system calls
// never wait on a network: ext2-4, XFS, Btrfs, F2FS, ZFS, tmpfs, ramfs,
// overlayfs (container images) and the read-only SquashFS and EROFS. Any
// other, or a statfs that fails, is not: NFS, SMB, 9p, FUSE (sshfs,
// virtiofs), autofs.
func localFS(dir string) bool {
	var st unix.Statfs_t
	for {
		err := unix.Statfs(dir, &st)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false
		}
		break
	}
	switch uint32(st.Type) {
	case unix.EXT4_SUPER_MAGIC, // also ext2 and ext3
		unix.XFS_SUPER_MAGIC,
		unix.BTRFS_SUPER_MAGIC,
		unix.F2FS_SUPER_MAGIC,
		zfsSuperMagic,
		unix.TMPFS_MAGIC,
		unix.RAMFS_MAGIC,
		unix.OVERLAYFS_SUPER_MAGIC,
		unix.SQUASHFS_MAGIC,
		unix.EROFS_SUPER_MAGIC_V1:
		return true
	}
	return false
}
