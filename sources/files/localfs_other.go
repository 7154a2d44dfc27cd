//go:build !linux

package files

// localFS says whether the filesystem holding dir is local, and its
// device; outside Linux it is not asked, and every file uses ordinary
// system calls (rawsys_fast.go says what a local one gets).
func localFS(string) (bool, uint64) { return false, 0 }
