//go:build unix

package git

import (
	"syscall"
	"time"
)

// selfCPU is the process's CPU time so far, user + system (timings.go).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
