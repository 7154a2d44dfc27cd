package serve

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bks-dev/bks/awsops/kpi"
	"github.com/bks-dev/bks/serve/store"
)

// kpiCollector exports the three KPIs of Bedrock keys (store.KPIs) at each
// scrape, so that every replica reports what the shared database holds. A
// database that does not answer leaves them out of the scrape.
type kpiCollector struct{ st *store.Store }

var (
	kpiLiveKeysDesc = prometheus.NewDesc("bks_kpi_live_long_term_keys",
		"Live long-term keys (Bedrock API keys, access keys of BedrockAPIKey-* users) per account, from the EventBridge key inventory. The goal is 0.",
		[]string{"account"}, nil)
	kpiCallsDesc = prometheus.NewDesc("bks_kpi_bedrock_calls",
		"Bedrock calls of the last 30 days per account, by caller (role, api_key, iam_user, other), from the CloudTrail events EventBridge delivered.",
		[]string{"account", "caller"}, nil)
	kpiRoleShareDesc = prometheus.NewDesc("bks_kpi_role_call_share",
		"Share of the last 30 days' Bedrock calls made with IAM roles rather than API keys, per account (role / (role + api_key)); absent without such calls.",
		[]string{"account"}, nil)
	kpiMTTRDesc = prometheus.NewDesc("bks_kpi_mean_time_to_remediate_seconds",
		"Mean time from a key's detection to its revocation or removal, over the remediated incidents; absent before the first.", nil, nil)
	kpiIncidentsDesc = prometheus.NewDesc("bks_kpi_incidents",
		"Incidents of one's own keys, by remediation state (remediated, open).", []string{"state"}, nil)
)

func (c kpiCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{kpiLiveKeysDesc, kpiCallsDesc, kpiRoleShareDesc, kpiMTTRDesc, kpiIncidentsDesc} {
		ch <- d
	}
}

func (c kpiCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rep, err := c.st.KPIs(ctx, time.Now())
	if err != nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, a := range rep.Accounts {
		if a.KeysKnown {
			gauge(kpiLiveKeysDesc, float64(a.LiveKeys), a.Account)
		}
		for caller, n := range map[string]int{kpi.CallerRole: a.Calls.Role, kpi.CallerAPIKey: a.Calls.APIKey,
			kpi.CallerUser: a.Calls.User, kpi.CallerOther: a.Calls.Other} {
			gauge(kpiCallsDesc, float64(n), a.Account, caller)
		}
		if a.RoleShare != nil {
			gauge(kpiRoleShareDesc, *a.RoleShare, a.Account)
		}
	}
	if m := rep.MTTR.MeanSeconds; m != nil {
		gauge(kpiMTTRDesc, *m)
	}
	gauge(kpiIncidentsDesc, float64(rep.MTTR.Remediated), "remediated")
	gauge(kpiIncidentsDesc, float64(rep.MTTR.Open), "open")
}
