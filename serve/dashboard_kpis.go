package serve

import (
	"context"
	"time"

	"github.com/bks-dev/bks/serve/store"
)

// storeKPIs is the service's own KPISource: the key inventory and the
// KPIs its store keeps from the AWS events (POST /events/aws), the same
// figures as /metrics and bks kpis --db.
type storeKPIs struct{ st *store.Store }

// inventoryKinds names the inventory's kinds of credential on the page.
var inventoryKinds = map[string]string{
	store.KeyServiceSpecific: "bedrock-api-key",
	store.KeyAccessKey:       "access-key",
}

func (k storeKPIs) DashboardKPIs(ctx context.Context, now time.Time) (KPISnapshot, error) {
	var snap KPISnapshot
	rep, err := k.st.AccountKPIs(ctx, now)
	if err != nil {
		return snap, err
	}
	keys, err := k.st.LiveKeyList(ctx, now, dashboardLimit)
	if err != nil {
		return snap, err
	}
	for _, key := range keys {
		kind := inventoryKinds[key.Kind]
		if kind == "" {
			kind = key.Kind
		}
		snap.LiveKeys = append(snap.LiveKeys, LiveKey{AccountID: key.AccountID, User: key.User,
			KeyID: key.CredentialID, Kind: kind, Created: key.Created})
	}
	for _, a := range rep.Accounts {
		if a.KeysKnown {
			snap.ActiveKeys = append(snap.ActiveKeys, AccountSeries{AccountID: a.Account, Now: float64(a.LiveKeys)})
		}
		if a.RoleShare != nil {
			snap.RoleShare = append(snap.RoleShare, AccountSeries{AccountID: a.Account, Now: *a.RoleShare})
		}
	}
	return snap, nil
}
