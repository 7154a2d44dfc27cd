// Package fakefault says when a loopback fake's injected fault fires: the
// After-th request (1-based) whose path contains PathContains (every
// request when empty), Times times in a row (1 when 0). The GitLab and
// Hugging Face Hub fakes share it.
package fakefault

import "strings"

// Trigger is one fault's condition and counts. Its methods are not
// synchronized: the fake calls them under its own lock.
type Trigger struct {
	PathContains string
	After, Times int

	seen, fired int
}

// Match counts a request to path and says whether the fault fires on it.
func (t *Trigger) Match(path string) bool {
	if !strings.Contains(path, t.PathContains) {
		return false
	}
	t.seen++
	if t.seen >= t.After && t.seen < t.After+max(t.Times, 1) {
		t.fired++
		return true
	}
	return false
}

// Fired is how many times the fault fired.
func (t *Trigger) Fired() int { return t.fired }
