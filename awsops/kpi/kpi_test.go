package kpi

import (
	"testing"
	"time"

	"github.com/bks-dev/bks/awsops/timeline"
)

// Caller reads who made a Bedrock call from its CloudTrail record: the
// runtime marks an API-key call in additionalEventData, Mantle in
// requestParameters (with the key's type); a SigV4 call carries neither.
func TestCaller(t *testing.T) {
	for _, c := range []struct {
		name, doc, want, typ string
	}{
		{"runtime, long-term key", `{"eventSource":"bedrock.amazonaws.com","eventName":"InvokeModel","userIdentity":{"type":"IAMUser","userName":"BedrockAPIKey-ab12"},"additionalEventData":{"callWithBearerToken":true}}`, CallerAPIKey, ""},
		{"mantle, short-term key", `{"eventSource":"bedrock-mantle.amazonaws.com","eventName":"CreateResponse","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/app/s"},"requestParameters":{"callWithBearerToken":"true","bearerTokenType":"SHORT_TERM"}}`, CallerAPIKey, "SHORT_TERM"},
		{"role session, SigV4", `{"eventSource":"bedrock.amazonaws.com","eventName":"Converse","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/app/s"}}`, CallerRole, ""},
		{"mantle, SigV4 role", `{"eventSource":"bedrock-mantle.amazonaws.com","eventName":"CreateResponse","userIdentity":{"type":"AssumedRole"},"requestParameters":{"callWithBearerToken":false}}`, CallerRole, ""},
		{"IAM user, SigV4", `{"eventSource":"bedrock.amazonaws.com","eventName":"InvokeModel","userIdentity":{"type":"IAMUser","userName":"dev"},"additionalEventData":{"callWithBearerToken":false}}`, CallerUser, ""},
		{"root", `{"eventSource":"bedrock.amazonaws.com","eventName":"InvokeModel","userIdentity":{"type":"Root"}}`, CallerOther, ""},
	} {
		var e timeline.Event
		timeline.ParseDocument(c.doc, &e)
		if got := Caller(e); got != c.want || e.BearerTokenType != c.typ || !IsBedrockSource(e.Source) {
			t.Errorf("%s: %s (type %q, source %q), want %s (%q)", c.name, got, e.BearerTokenType, e.Source, c.want, c.typ)
		}
	}
}

func TestMeanTimeToRemediate(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	m := MeanTimeToRemediate([]Remediation{
		{Detected: t0, Remediated: t0.Add(time.Minute)},
		{Detected: t0, Remediated: t0.Add(3 * time.Minute)},
		{Detected: t0, Remediated: t0.Add(-time.Hour)}, // removed before it was found: 0
		{Detected: t0},
		{Detected: t0, Resolved: true},
	})
	if m.Remediated != 3 || m.Open != 1 || m.Untimed != 1 || m.MeanSeconds == nil || *m.MeanSeconds != 80 {
		t.Errorf("%+v, want 3 remediated in 80 s on average, 1 open, 1 untimed", m)
	}
	if m := MeanTimeToRemediate(nil); m.MeanSeconds != nil {
		t.Error("a mean of nothing")
	}
	if s, ok := (Calls{}).RoleShare(); ok || s != 0 {
		t.Error("a share of no calls")
	}
}
