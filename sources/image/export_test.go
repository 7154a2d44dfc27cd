package image

// SetMaxSeenPaths sets maxSeenPaths until the returned function is called.
func SetMaxSeenPaths(n int) (restore func()) {
	old := maxSeenPaths
	maxSeenPaths = n
	return func() { maxSeenPaths = old }
}

// Spilled is how many layers were inflated ahead of the scan so far.
func Spilled() int64 { return spilled.Load() }

// SetHandoffMax sets handoffMax until the returned function is called.
func SetHandoffMax(n int64) (restore func()) {
	old := handoffMax
	handoffMax = n
	return func() { handoffMax = old }
}

// OnFail has f called once a sweep records the error that stops it (a
// failing yield), until the returned function is called.
func OnFail(f func()) (restore func()) {
	failHook = f
	return func() { failHook = nil }
}
