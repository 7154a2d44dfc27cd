package git

import (
	"fmt"
	"os"
	"time"
)

// Where a blob-first scan's time goes, for `make bench-git`: reading and
// checking every blob (with the commits beside it), attributing the
// candidates, then reading the candidates again and yielding them (the
// consumer's work on them included) with the messages. BKS_GIT_TIMINGS=1
// prints them to stderr at the end of the scan.

// Phases is the wall time of each step of a blob-first scan.
type Phases struct {
	Scan, Attribution, Output time.Duration
	// CPU is bks's own CPU time (user + system, not its git processes')
	// in each step, where the system reports it.
	CPU [3]time.Duration
}

const (
	phaseScan = iota
	phaseAttribution
	phaseOutput
)

type phaseClock struct {
	last    time.Time
	lastCPU time.Duration
	p       Phases
}

func newPhaseClock() *phaseClock { return &phaseClock{last: time.Now(), lastCPU: selfCPU()} }

// lap ends phase: the time since the last lap is its.
func (c *phaseClock) lap(phase int) {
	now, cpu := time.Now(), selfCPU()
	d := now.Sub(c.last)
	c.p.CPU[phase] += cpu - c.lastCPU
	c.last, c.lastCPU = now, cpu
	switch phase {
	case phaseScan:
		c.p.Scan += d
	case phaseAttribution:
		c.p.Attribution += d
	case phaseOutput:
		c.p.Output += d
	}
}

// done stores the phases in st and prints them when asked to.
func (c *phaseClock) done(st *Stats, repoName string) {
	if st != nil {
		st.Phases = c.p
	}
	if os.Getenv("BKS_GIT_TIMINGS") != "" {
		fmt.Fprintf(os.Stderr, "bks timings %q: blob scan %.2fs, attribution %.2fs, output %.2fs\n",
			repoName, c.p.Scan.Seconds(), c.p.Attribution.Seconds(), c.p.Output.Seconds())
		fmt.Fprintf(os.Stderr, "bks cpu %q: blob scan %.2fs, attribution %.2fs, output %.2fs\n",
			repoName, c.p.CPU[0].Seconds(), c.p.CPU[1].Seconds(), c.p.CPU[2].Seconds())
	}
}
