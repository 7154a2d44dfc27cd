package files

import "golang.org/x/sys/unix"

// zfsSuperMagic is ZFS's f_type (ZFS_SUPER_MAGIC in OpenZFS's
// zfs_vfsops.h; x/sys/unix lists the kernel's own filesystems only).
const zfsSuperMagic = 0x2fc12fc1

// localFS says whether the filesystem holding dir keeps its files on this
// machine's disks or memory (statfs(2) f_type), so that their system calls
// never wait on a network, and if so which device dir is on (stat(2)
// st_dev): ext2-4, XFS, Btrfs, F2FS, ZFS, tmpfs, ramfs, overlayfs
// (container images) and the read-only SquashFS and EROFS. Any other, or
// a statfs or stat that fails, is not: NFS, SMB, 9p, FUSE (sshfs,
// virtiofs), autofs.
func localFS(dir string) (local bool, dev uint64) {
	var fs unix.Statfs_t
	var st unix.Stat_t
	for {
		err := unix.Statfs(dir, &fs)
		if err == nil {
			err = unix.Stat(dir, &st)
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, 0
		}
		break
	}
	switch uint32(fs.Type) {
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
		return true, uint64(st.Dev) // Dev is uint32 on some architectures
	}
	return false, 0
}
