package serve

import (
	"context"
	"errors"
	"time"

	"github.com/bks-dev/bks/awsops/kpi"
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

// cachedKPIs is a KPISource read through a kpiCache: the dashboard's own
// (storeKPIs) reads all of key_changes, which a page load every 30 s on
// every open browser would do again and again.
type cachedKPIs struct{ c *kpiCache[KPISnapshot] }

// errKPIsPending: the first computation has not ended within the wait.
var errKPIsPending = errors.New("still being computed (the database is slow to answer)")

// DashboardKPIs returns the last snapshot computed (older than now when
// the database is slow or failed: the cache's policy), or why there is
// none yet.
func (k cachedKPIs) DashboardKPIs(ctx context.Context, now time.Time) (KPISnapshot, error) {
	snap, at, err := k.c.get(ctx, now)
	if at.IsZero() {
		if err == nil {
			err = errKPIsPending
		}
		return KPISnapshot{}, err
	}
	return snap, nil
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
	bounds := weekBounds(now)
	live, err := k.st.LiveKeysAt(ctx, bounds[1:])
	if err != nil {
		return snap, err
	}
	calls, err := k.st.CallsByPeriod(ctx, bounds)
	if err != nil {
		return snap, err
	}
	for _, a := range rep.Accounts {
		if a.KeysKnown {
			snap.ActiveKeys = append(snap.ActiveKeys, AccountSeries{AccountID: a.Account, Now: float64(a.LiveKeys),
				Trend: liveKeyTrend(bounds[1:], live[a.Account])})
		}
		if a.RoleShare != nil {
			snap.RoleShare = append(snap.RoleShare, AccountSeries{AccountID: a.Account, Now: *a.RoleShare,
				Trend: roleShareTrend(bounds[1:], calls[a.Account])})
		}
	}
	return snap, nil
}

// liveKeyTrend is an account's live keys at the end of each week (-1:
// nothing known of its keys yet).
func liveKeyTrend(ends []time.Time, counts []int) []Point {
	ps := make([]Point, len(ends))
	for i, at := range ends {
		ps[i] = Point{At: at, Value: -1}
		if i < len(counts) {
			ps[i].Value = float64(counts[i])
		}
	}
	return ps
}

// roleShareTrend is an account's role share of each week's calls (-1: no
// role or API-key call that week).
func roleShareTrend(ends []time.Time, weeks []kpi.Calls) []Point {
	ps := make([]Point, len(ends))
	for i, at := range ends {
		ps[i] = Point{At: at, Value: -1}
		if i < len(weeks) {
			if s, ok := weeks[i].RoleShare(); ok {
				ps[i].Value = s
			}
		}
	}
	return ps
}
