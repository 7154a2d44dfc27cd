package serve

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/serve/store"
	"github.com/bks-dev/bks/triage"
)

// Responder runs the responses of `bks triage` for the incidents a scan
// found: the same classification and action table (triage.Run), the same
// account-side code (Responder: awsops/respond in `bks serve`), with the
// accounts of the configuration's [[accounts]]. The service executes what
// each account is configured to do (revoke, timeline, report, notify): it
// is what it runs for.
//
// Each effect is recorded in the store under "<action>/<fingerprint>", and
// the next run reads it back as triage's state: a key revoked (or an owner
// notified) by an earlier job, or by this job before a crash, is "already
// revoked" and not revoked again; timelines and reports are written once
// per incident. Between an effect and its record a crash may come: the
// revocation itself is idempotent (the AWS responder finds the key already
// cut off and reports it unchanged); a notification may then go twice.
type Responder struct {
	Accounts []triage.Account
	AWS      triage.Responder
	// Store records the effects (the service's own store: New sets it).
	Store *store.Store
	// OutDir receives one directory per incident (timeline, report);
	// "": none.
	OutDir string
	// Notify posts an incident to an account's webhook (nil: planned only).
	Notify func(ctx context.Context, url string, inc *triage.Incident) error
	Now    func() time.Time
}

// effectKinds are the actions whose effects are recorded, and so done
// once per incident.
var effectKinds = []string{triage.ActionRevoke, triage.ActionTimeline, triage.ActionReport, triage.ActionNotify}

func effectKey(action, fingerprint string) string { return action + "/" + fingerprint }

// run triages fs and runs the responses; an action that failed makes the
// job fail (it is retried: what was done is recorded and not done again).
func (r *Responder) run(ctx context.Context, fs []findings.Finding) ([]*triage.Incident, error) {
	incs := triage.Group(fs)
	if len(incs) == 0 {
		return nil, nil
	}
	st := &triage.State{Version: 1, Entries: map[string]*triage.StateEntry{}}
	done := map[string]store.Effect{}
	for _, inc := range incs {
		for _, kind := range effectKinds {
			e, ok, err := r.Store.GetEffect(ctx, effectKey(kind, inc.Fingerprint))
			if err != nil {
				return nil, err
			}
			if ok {
				done[e.Key] = e
			}
		}
		entry := &triage.StateEntry{Fingerprint: inc.Fingerprint, FirstDetected: time.Now().UTC()}
		if e, ok := done[effectKey(triage.ActionRevoke, inc.Fingerprint)]; ok {
			t := e.At.UTC()
			entry.RevokedAt = &t
		}
		_, entry.Notified = done[effectKey(triage.ActionNotify, inc.Fingerprint)]
		st.Entries[inc.Fingerprint] = entry
	}
	err := triage.Run(ctx, incs, r.AWS, st, triage.Options{
		Accounts: r.Accounts, Execute: true, OutDir: r.OutDir, Notify: r.Notify, Now: r.Now,
		Actions: onceEach(done),
	})
	if err != nil {
		return incs, err
	}
	return incs, r.record(ctx, incs)
}

// onceEach is triage's table with timeline and report settled when the
// store has them for the incident (the state file has no field for them).
func onceEach(done map[string]store.Effect) []triage.Action {
	table := triage.Actions()
	for i := range table {
		a := &table[i]
		if a.Name != triage.ActionTimeline && a.Name != triage.ActionReport {
			continue
		}
		name, settled := a.Name, a.Settled
		a.Settled = func(c *triage.Case) (string, string, bool) {
			if e, ok := done[effectKey(name, c.Incident.Fingerprint)]; ok {
				return triage.OutcomeSkipped, "already done at " + e.At.UTC().Format(time.RFC3339), true
			}
			if settled != nil {
				return settled(c)
			}
			return "", "", false
		}
	}
	return table
}

// record stores the effects the run had, and returns the failures.
func (r *Responder) record(ctx context.Context, incs []*triage.Incident) error {
	var errs []error
	for _, inc := range incs {
		for _, a := range inc.Actions {
			switch {
			case !isEffect(a.Action):
			case a.Outcome == triage.OutcomeFailed:
				errs = append(errs, fmt.Errorf("%s %s: %s", a.Action, inc.Redacted, a.Detail))
			case a.Outcome == triage.OutcomeDone || a.Outcome == triage.OutcomeUnchanged:
				_, err := r.Store.RecordEffect(ctx, store.Effect{
					Key: effectKey(a.Action, inc.Fingerprint), Kind: a.Action, Fingerprint: inc.Fingerprint,
					Result: a.Outcome, Detail: a.Detail, At: a.Time,
				})
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func isEffect(action string) bool {
	for _, k := range effectKinds {
		if k == action {
			return true
		}
	}
	return false
}
