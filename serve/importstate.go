package serve

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/bks-dev/bks/serve/store"
	"github.com/bks-dev/bks/triage"
)

// credentialStatus is the incident status of a key whose credential was
// last seen in a state: open until revoked, or deleted, inactive or
// expired (resolved), as `bks triage`'s KPIs count it.
var credentialStatus = map[string]string{
	triage.StateRevoked:  "revoked",
	triage.StateDeleted:  "resolved",
	triage.StateInactive: "resolved",
	triage.StateExpired:  "resolved",
}

// ImportTriageState records the incidents of the JSON state file of
// `bks triage --state` in st (`bks serve import-state`): fingerprints,
// redacted forms and what triage learnt, with its revocations and
// notifications as actions, so that the service's KPIs include the
// history from before it ran and it never acts again on a key triage
// revoked. The file holds no secret, and neither does the store after. The
// import is one transaction, and importing the same file again changes
// nothing.
func ImportTriageState(ctx context.Context, st *store.Store, path string) (store.ImportResult, error) {
	if _, err := os.Stat(path); err != nil { // LoadState takes a missing file for an empty state
		return store.ImportResult{}, fmt.Errorf("import-state: %w", err)
	}
	state, err := triage.LoadState(path)
	if err != nil {
		return store.ImportResult{}, fmt.Errorf("import-state: %w", err)
	}
	fps := make([]string, 0, len(state.Entries))
	for fp := range state.Entries {
		fps = append(fps, fp)
	}
	sort.Strings(fps)
	incs := make([]store.Imported, 0, len(fps))
	for _, fp := range fps {
		incs = append(incs, importedOf(fp, state.Entries[fp]))
	}
	res, err := st.Import(ctx, incs)
	if err != nil {
		return res, fmt.Errorf("import-state %s: %w", path, err)
	}
	return res, nil
}

// importedOf is what the store keeps of one state entry (filed under fp).
func importedOf(fp string, e *triage.StateEntry) store.Imported {
	in := store.Imported{Incident: store.Incident{
		Fingerprint: fp, Redacted: e.Redacted, RuleID: e.RuleID, AccountID: e.AccountID,
		ThirdParty: e.ThirdParty, Severity: e.Severity, CredentialState: e.Credential,
		Status: "open", FirstSeen: e.FirstDetected, LastSeen: e.LastSeen,
	}, Notified: e.Notified}
	if s, ok := credentialStatus[e.Credential]; ok {
		in.Status = s
	}
	if e.RevokedAt != nil {
		in.Status, in.RevokedAt = "revoked", *e.RevokedAt
	}
	if in.LastSeen.IsZero() {
		in.LastSeen = in.FirstSeen
	}
	return in
}
