package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/bks-dev/bks/awsops/verify"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/report"
	"github.com/bks-dev/bks/scan"
)

// handler is runDetect's finding handler: small stages, composed here, in
// the order each finding goes through them.
func (o *detectOptions) handler(ctx context.Context, rep report.Reporter, checker *verify.Checker, sink *detectSink) scan.Handler {
	return chain(sink.add(rep, o.holds(), !o.Dedupe),
		trackInHead(),
		liveCheck(ctx, checker),
	)
}

// holds says whether the handler keeps findings for after the scan:
// --dedupe reports after it; --baseline-out and --triage need every
// finding then too.
func (o *detectOptions) holds() bool {
	return o.Dedupe || o.BaselineOut != "" || o.triage != nil
}

// stage is one step of a finding handler: it does its part and calls next.
// A stage may be called from several goroutines at once.
type stage func(next scan.Handler) scan.Handler

// chain returns last wrapped in stages, the first stage outermost. A nil
// stage is skipped.
func chain(last scan.Handler, stages ...stage) scan.Handler {
	h := last
	for i := len(stages) - 1; i >= 0; i-- {
		if stages[i] != nil {
			h = stages[i](h)
		}
	}
	return h
}

// trackInHead marks every finding of a key as in HEAD once the key was
// seen at HEAD of its repository: in_head is a property of the key, not of
// the blob it was found in (git sources yield HEAD blobs first).
func trackInHead() stage {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(next scan.Handler) scan.Handler {
		return func(f findings.Finding) error {
			if f.InHead != nil {
				k := f.Repo + "\x00" + f.Fingerprint // HEAD of that repository
				mu.Lock()
				if *f.InHead {
					seen[k] = true
				} else if seen[k] {
					t := true
					f.InHead = &t
				}
				mu.Unlock()
			}
			return next(f)
		}
	}
}

// maxLiveChecks bounds the live checks in flight at once during a scan, as
// verify.Options.Concurrency bounds CheckAll.
const maxLiveChecks = 4

// liveCheck live-checks every decoded key (--verify; nil without a
// checker). Checks run outside any lock, so that workers do not wait on one
// another's network calls, at most maxLiveChecks at once. The checker
// caches per key: a key found in many places is checked once.
func liveCheck(ctx context.Context, checker *verify.Checker) stage {
	if checker == nil {
		return nil
	}
	slots := make(chan struct{}, maxLiveChecks)
	return func(next scan.Handler) scan.Handler {
		return func(f findings.Finding) error {
			if f.Confidence == findings.ConfidenceHigh {
				slots <- struct{}{}
				res := checker.Check(ctx, f.RawKey())
				<-slots
				f.Live, f.LiveReason = string(res.Status), res.Reason
			}
			return next(f)
		}
	}
}

// detectSink is where a scan's findings end, one at a time: counted,
// held for what runs after the scan, and reported.
type detectSink struct {
	mu    sync.Mutex
	found int // active (not suppressed) findings
	held  []findings.Finding
	warn  io.Writer // where findings the reporter could not write are named
	lost  int       // findings missing from the report
	// suppressed counts the suppressed findings by why (f.Suppressed).
	suppressed map[string]int
}

// write passes f to rep. A finding the reporter wrote without some fields,
// or could not write at all, is named on s.warn and the scan goes on: one
// crafted finding must not hide the others. Missing ones count in s.lost.
// It takes s.mu for what it records; its caller serializes the calls to
// rep unless report.Concurrent(rep).
func (s *detectSink) write(rep report.Reporter, f findings.Finding) error {
	err := rep.Finding(f)
	if err == nil {
		return nil // before fe, which errors.As puts on the heap
	}
	var fe *report.FindingError
	if !errors.As(err, &fe) {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.warn, "bks: %v\n", fe)
	if !fe.Written {
		s.lost++
	}
	return nil
}

// add returns the last stage: it counts each finding, holds it when hold,
// and passes it to rep when stream (not with --dedupe, which reports
// after the scan). A reporter that takes findings from several goroutines
// at once (JSON Lines) is called outside any lock of the sink's, so that a
// worker whose finding fills the report's buffer and writes it out does
// not stop the others; the calls to any other are serialized.
func (s *detectSink) add(rep report.Reporter, hold, stream bool) scan.Handler {
	var serial sync.Mutex // held around rep.Finding unless rep is Concurrent
	concurrent := report.Concurrent(rep)
	return func(f findings.Finding) error {
		s.mu.Lock()
		if f.Suppressed == "" {
			s.found++
		} else {
			if s.suppressed == nil {
				s.suppressed = map[string]int{}
			}
			s.suppressed[f.Suppressed]++
		}
		if hold {
			s.held = append(s.held, f)
		}
		s.mu.Unlock()
		if !stream {
			return nil
		}
		if !concurrent {
			serial.Lock()
			defer serial.Unlock()
		}
		return s.write(rep, f)
	}
}

// suppressedSummary is the stderr line saying what was suppressed, by
// why, most first (with how to see them unless shown); "" when nothing
// was. It is printed whether or not
// anything else was reported: a scan that reports nothing because an
// allowlist hid everything must say so.
func (s *detectSink) suppressedSummary(shown bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := 0
	whys := make([]string, 0, len(s.suppressed))
	for why, n := range s.suppressed {
		total += n
		whys = append(whys, why)
	}
	if total == 0 {
		return ""
	}
	sort.Slice(whys, func(i, j int) bool {
		if a, b := s.suppressed[whys[i]], s.suppressed[whys[j]]; a != b {
			return a > b
		}
		return whys[i] < whys[j]
	})
	parts := make([]string, len(whys))
	for i, why := range whys {
		parts[i] = fmt.Sprintf("%d %s", s.suppressed[why], why)
	}
	noun := "findings"
	if total == 1 {
		noun = "finding"
	}
	hint := "; --show-suppressed shows them"
	if shown {
		hint = ""
	}
	return fmt.Sprintf("bks: %d %s suppressed (%s)%s\n", total, noun, strings.Join(parts, ", "), hint)
}
