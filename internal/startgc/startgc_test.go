package startgc

import (
	"runtime/debug"
	"testing"
)

// TestDone: while packages initialize GOGC is startGOGC; Done restores
// what the process started with.
func TestDone(t *testing.T) {
	if got := debug.SetGCPercent(startGOGC); got != startGOGC {
		t.Errorf("GOGC during initialization = %d, want %d", got, startGOGC)
	}
	Done()
	if got := debug.SetGCPercent(prev); got != prev {
		t.Errorf("GOGC after Done = %d, want %d", got, prev)
	}
}
