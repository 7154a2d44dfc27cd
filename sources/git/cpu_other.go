//go:build !unix

package git

import "time"

// selfCPU: unknown here (timings.go prints 0).
func selfCPU() time.Duration { return 0 }
