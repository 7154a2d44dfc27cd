// Package startgc holds off the garbage collector while bks's packages
// initialize. Their initializers (the AWS SDK's endpoint tables, the
// GitLab and Prometheus clients, bks's own rules) allocate some 2.4 MB,
// close to the runtime's first heap goal of 4 MB, so the collector ran
// once or twice before main. Without those runs, `bks detect files` on an
// empty directory starts in 44.7 ms instead of 46.7 ms, with 48 ms of CPU
// instead of 51-56 (perf stat, 20 runs each, session 25): paid by every
// pre-commit hook and every small scan.
//
// Importing it (cmd/bks does) raises GOGC to startGOGC from its
// initializer. The runtime initializes packages in import-path order as
// their dependencies allow; this one depends on runtime/debug alone, and
// runs about 170th of bks's 290 packages, before the GitLab and Prometheus
// clients and most of the AWS SDK. Done restores the setting the process
// started with (GOGC, or 100); the collection that follows soon after
// frees the initializers' garbage for the scan to reuse.
package startgc

import "runtime/debug"

// startGOGC lets the heap grow to 5 times the live data before a
// collection: past what the initializers allocate.
const startGOGC = 400

var prev = debug.SetGCPercent(startGOGC)

// Done restores the collector's setting; main calls it first.
func Done() { debug.SetGCPercent(prev) }
