package image

// SetMaxSeenPaths sets maxSeenPaths until the returned function is called.
func SetMaxSeenPaths(n int) (restore func()) {
	old := maxSeenPaths
	maxSeenPaths = n
	return func() { maxSeenPaths = old }
}
