package inflate

import "golang.org/x/sys/unix"

// threadCPU is the calling thread's CPU time (user+system) in ns: on a
// loaded machine it counts only this benchmark's work, not its waiting.
func threadCPU() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_THREAD, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
