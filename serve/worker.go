package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/bks-dev/bks/serve/store"
)

// workerName names worker i of this process in the jobs it claims: unique
// across the processes sharing a database, so that a lease is this
// worker's and nobody else's.
func workerName(i int) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%d", host, os.Getpid(), i)
}

// wakeWorker tells an idle worker that a job was queued (it would find it
// at its next poll anyway).
func (s *Server) wakeWorker() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// work claims and runs jobs until stop is cancelled. Jobs run under jobCtx,
// which outlives stop for the shutdown grace period.
func (s *Server) work(stop, jobCtx context.Context, name string) {
	for stop.Err() == nil {
		j, err := s.st.Claim(jobCtx, name, s.cfg.Lease)
		if err != nil {
			s.log.Error("claim", "worker", name, "err", err)
		}
		if j != nil {
			s.runJob(jobCtx, j)
			continue
		}
		select {
		case <-stop.Done():
		case <-s.wake:
		case <-time.After(s.cfg.Poll):
		}
	}
}

// runJob processes j and records the outcome: done; released when the
// service is stopping; retried later after an error; failed for good after
// MaxAttempts (also when a job comes back too often because its workers
// died with it: a job that kills the process must not loop forever).
func (s *Server) runJob(ctx context.Context, j *store.Job) {
	log := s.log.With("job", j.ID, "delivery", j.DeliveryID, "event", j.Kind, "attempt", j.Attempts)
	var err error
	if j.Attempts > s.cfg.MaxAttempts {
		err = fmt.Errorf("gave up after %d attempts", s.cfg.MaxAttempts)
	} else {
		err = s.process(ctx, j)
	}
	// The outcome is recorded even when ctx was cancelled (the stop).
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var outcome string
	var rerr error
	switch {
	case errors.Is(err, store.ErrLeaseLost):
		outcome = "dropped: another worker holds it now"
	case err == nil:
		outcome, rerr = "done", s.st.Complete(rec, j)
	case ctx.Err() != nil:
		outcome, rerr = "released", s.st.Release(rec, j)
	case j.Attempts >= s.cfg.MaxAttempts:
		outcome, rerr = "failed", s.st.Fail(rec, j, err.Error())
	default:
		outcome, rerr = "retry", s.st.Retry(rec, j, time.Now().Add(backoff(j.Attempts)), err.Error())
	}
	s.metrics.Job(outcome)
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
		log = log.With("err", err)
	}
	if rerr != nil {
		level = slog.LevelError
		log = log.With("record_err", rerr)
	}
	log.Log(rec, level, "job "+outcome)
}

// process runs the delivery of j while renewing j's lease every third of
// it; when the lease is lost (this worker stalled longer than a lease and
// another took the job) the processing is cancelled: the other worker has
// it now.
func (s *Server) process(ctx context.Context, j *store.Job) error {
	d, err := s.st.GetDelivery(ctx, j.DeliveryID)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(s.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := s.st.Extend(pctx, j, s.cfg.Lease); errors.Is(err, store.ErrLeaseLost) {
					cancel(err)
					return
				} else if err != nil {
					s.log.Warn("extend lease", "job", j.ID, "err", err)
				}
			}
		}
	}()
	err = s.cfg.Process(pctx, d)
	if cause := context.Cause(pctx); errors.Is(cause, store.ErrLeaseLost) {
		return cause
	}
	return err
}

// backoff is the wait before attempt n+1: 10s, 20s, 40s… up to 10 minutes.
func backoff(n int) time.Duration {
	d := 10 * time.Second << min(max(n-1, 0), 6)
	return min(d, 10*time.Minute)
}
