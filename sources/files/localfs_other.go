//go:build !linux

package files

// localFS says whether the filesystem holding dir is local; outside Linux
// it is not asked, and every file uses ordinary system calls
// (rawsys_linux.go says what a local one gets).
func localFS(string) bool { return false }
