package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Job is a unit of work: one delivery to process.
type Job struct {
	ID         int64
	DeliveryID string
	Kind       string // the delivery's event
	State      string // JobQueued, JobRunning, JobDone, JobFailed
	Attempts   int    // claims so far, this one included
	LockedBy   string
	LastError  string
}

// Job states.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// ErrLeaseLost: the job is no longer held by this worker (its lease ran
// out and another worker claimed it). The caller drops its result.
var ErrLeaseLost = errors.New("job lease lost")

// Claim takes the oldest job that is queued and due, or running with a
// lease that ran out, for worker until now+lease. It returns nil, nil when
// there is none. The claim is one statement (an UPDATE of the row a
// subquery picks), so that two workers never hold the same job: on SQLite
// the write lock serialises them; on PostgreSQL the subquery takes FOR
// UPDATE SKIP LOCKED.
func (s *Store) Claim(ctx context.Context, worker string, lease time.Duration) (*Job, error) {
	now := s.now()
	j := &Job{State: JobRunning, LockedBy: worker}
	err := s.db.QueryRowContext(ctx, s.d.claimJob, worker, ms(now.Add(lease)), ms(now), ms(now), ms(now)).
		Scan(&j.ID, &j.DeliveryID, &j.Kind, &j.Attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim job: %w", err)
	}
	return j, nil
}

// Extend renews j's lease until now+lease: a worker calls it while it runs
// a long job, so that nobody takes the job as abandoned. ErrLeaseLost when
// the lease already ran out and another worker took the job.
func (s *Store) Extend(ctx context.Context, j *Job, lease time.Duration) error {
	now := s.now()
	res, err := s.db.ExecContext(ctx, s.d.extendLease, ms(now.Add(lease)), ms(now), j.ID, j.LockedBy)
	if err != nil {
		return fmt.Errorf("extend lease of job %d: %w", j.ID, err)
	}
	return leaseHeld(res, j)
}

// Complete marks j done and its delivery processed (dropping the body),
// in one transaction.
func (s *Store) Complete(ctx context.Context, j *Job) error {
	return s.finish(ctx, j, JobDone, DeliveryProcessed, "")
}

// Fail marks j failed for good, and its delivery too, with why.
func (s *Store) Fail(ctx context.Context, j *Job, why string) error {
	return s.finish(ctx, j, JobFailed, DeliveryFailed, why)
}

// Retry puts j back in the queue, due at retryAt, with why as its last
// error; the attempt counts.
func (s *Store) Retry(ctx context.Context, j *Job, retryAt time.Time, why string) error {
	return s.requeue(ctx, j, retryAt, why, 0)
}

// Release puts j back in the queue at once without counting the attempt:
// the worker is stopping, the job did not fail.
func (s *Store) Release(ctx context.Context, j *Job) error {
	return s.requeue(ctx, j, time.Time{}, "released at shutdown", -1)
}

func (s *Store) requeue(ctx context.Context, j *Job, at time.Time, why string, attempts int) error {
	var due any
	if !at.IsZero() {
		due = ms(at)
	}
	res, err := s.db.ExecContext(ctx, s.d.finishJob, JobQueued, due, why, attempts, ms(s.now()), j.ID, j.LockedBy)
	if err != nil {
		return fmt.Errorf("requeue job %d: %w", j.ID, err)
	}
	return leaseHeld(res, j)
}

// finish ends j in state and its delivery in status, in one transaction.
func (s *Store) finish(ctx context.Context, j *Job, state, status, why string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("finish job %d: %w", j.ID, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit: a no-op
	now := ms(s.now())
	res, err := tx.ExecContext(ctx, s.d.finishJob, state, nil, why, 0, now, j.ID, j.LockedBy)
	if err != nil {
		return fmt.Errorf("finish job %d: %w", j.ID, err)
	}
	if err := leaseHeld(res, j); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.d.finishDelivery, status, now, j.DeliveryID); err != nil {
		return fmt.Errorf("finish delivery %s: %w", j.DeliveryID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("finish job %d: %w", j.ID, err)
	}
	j.State = state
	return nil
}

func leaseHeld(res sql.Result, j *Job) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("job %d: %w", j.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("job %d: %w", j.ID, ErrLeaseLost)
	}
	return nil
}

// JobsFor returns the jobs of the delivery id, oldest first.
func (s *Store) JobsFor(ctx context.Context, deliveryID string) ([]Job, error) {
	rows, err := s.db.QueryContext(ctx, s.d.jobsFor, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("jobs of %s: %w", deliveryID, err)
	}
	defer rows.Close()
	var js []Job
	for rows.Next() {
		var j Job
		if err := rows.Scan(&j.ID, &j.DeliveryID, &j.Kind, &j.State, &j.Attempts, &j.LockedBy, &j.LastError); err != nil {
			return nil, fmt.Errorf("jobs of %s: %w", deliveryID, err)
		}
		js = append(js, j)
	}
	return js, rows.Err()
}
