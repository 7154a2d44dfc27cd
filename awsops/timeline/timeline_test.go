package timeline_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/bks-dev/bks/awsops/timeline"
	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

const acct = "111122223333"

func clientsFor(srv *awsemu.Server) func(string) timeline.CloudTrailAPI {
	cfg := srv.AWSConfig("us-east-1")
	return func(region string) timeline.CloudTrailAPI {
		return cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.Region = region })
	}
}

// Must show: a timeline across 3 regions with paging and throttling, at
// no more than 2 calls per second per region.
func TestTimelineThreeRegionsPagingThrottling(t *testing.T) {
	now := time.Now().UTC()
	user := "BedrockAPIKey-t1m3"
	asia := testkeys.AccessKeyID("ASIA", acct, 9)
	var events []*awsemu.Event
	add := func(region string, n int, mod func(i int, e *awsemu.Event)) {
		for i := range n {
			e := &awsemu.Event{Region: region, Time: now.Add(-time.Duration(i+1) * time.Hour), Name: "ListFoundationModels",
				Source: "bedrock.amazonaws.com", Username: user, SourceIP: "198.51.100.7", UserAgent: "python-requests/2.31"}
			mod(i, e)
			events = append(events, e)
		}
	}
	// us-east-1: 120 user events (3 pages), every 10th an invocation by API key.
	add("us-east-1", 120, func(i int, e *awsemu.Event) {
		if i%10 == 0 {
			e.Name = "InvokeModel"
			e.RequestParameters = map[string]any{"modelId": "anthropic.claude-3-5-sonnet-20240620-v1:0"}
			e.AdditionalEventData = map[string]any{"callWithBearerToken": true}
		}
	})
	// eu-west-1: 60 events of a short-term key's session (by AccessKeyId, 2 pages).
	add("eu-west-1", 60, func(i int, e *awsemu.Event) {
		e.Username, e.AccessKeyID, e.IdentityType = "", asia, "AssumedRole"
		e.IdentityARN = "arn:aws:sts::" + acct + ":assumed-role/app/s"
		e.Name, e.SourceIP = "Converse", "203.0.113.99"
		e.RequestParameters = map[string]any{"modelId": "amazon.titan-text-express-v1"}
	})
	// ap-southeast-2: 5 events, one failed; one older than the window.
	add("ap-southeast-2", 5, func(i int, e *awsemu.Event) {
		if i == 0 {
			e.ErrorCode = "AccessDenied"
		}
		if i == 4 {
			e.Time = now.AddDate(0, 0, -100)
		}
	})
	// Not ours: another user.
	add("us-east-1", 3, func(i int, e *awsemu.Event) { e.Username = "someone-else" })
	srv, err := awsemu.New(&awsemu.Seed{
		Accounts: []*awsemu.Account{{ID: acct, Events: events}},
		Faults: []awsemu.Fault{
			{Action: "LookupEvents", Region: "eu-west-1", Kind: "throttle", Times: 2},
			{Action: "LookupEvents", Region: "us-east-1", Kind: "throttle", Times: 1},
		},
	}, awsemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	start := time.Now()
	res, err := timeline.Lookup(context.Background(), clientsFor(srv), timeline.Options{
		Username: user, AccessKeyID: asia, Regions: []string{"us-east-1", "eu-west-1", "ap-southeast-2"}, Days: 200,
	})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if res.Days != 90 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "capped at 90") {
		t.Errorf("days %d warnings %v", res.Days, res.Warnings)
	}
	s := res.Summary
	if s.Events != 120+60+4 || len(res.Failed) != 0 {
		t.Fatalf("%d events (want 184), failed %v", s.Events, res.Failed)
	}
	if s.Invocations != 12+60 || s.BearerTokenCalls != 12 || s.Errors != 1 {
		t.Errorf("invocations %d bearer %d errors %d", s.Invocations, s.BearerTokenCalls, s.Errors)
	}
	if len(s.Regions) != 3 || s.Regions[0].Name != "us-east-1" || len(s.SourceIPs) != 2 {
		t.Errorf("regions %v ips %v", s.Regions, s.SourceIPs)
	}
	if s.InvocationsByModel[0].Name != "amazon.titan-text-express-v1 @ eu-west-1" || s.InvocationsByModel[0].Count != 60 {
		t.Errorf("by model %v", s.InvocationsByModel)
	}
	for i := 1; i < len(res.Events); i++ {
		if res.Events[i].Time.Before(res.Events[i-1].Time) {
			t.Fatal("events not in time order")
		}
	}
	// Pages: us-east-1 3 (Username) + 1 (AccessKeyId); eu-west-1 1 + 2; ap-southeast-2 1 + 1.
	want := map[string]int{"us-east-1": 4, "eu-west-1": 3, "ap-southeast-2": 2}
	for r, n := range want {
		if res.Calls[r] != n {
			t.Errorf("%s: %d calls, want %d", r, res.Calls[r], n)
		}
	}
	// Throttled calls were retried by the SDK.
	throttled := 0
	for _, c := range srv.Calls() {
		if c.Action == "LookupEvents" && c.Code != "" {
			throttled++
		}
	}
	if throttled != 3 {
		t.Errorf("%d throttled calls, want 3", throttled)
	}
	// 2 calls per second per region: us-east-1's 4 calls cannot take less
	// than 1.5 s (a lower bound: a slow machine only makes it longer).
	if elapsed < 1500*time.Millisecond {
		t.Errorf("4 calls in one region took %s: faster than 2 per second", elapsed)
	}
	var buf bytes.Buffer
	res.WriteText(&buf)
	for _, w := range []string{"* InvokeModel [API key] anthropic.claude", "model invocations: 72", "capped at 90", "AccessDenied"} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("text lacks %q", w)
		}
	}
}

func TestTimelineMaxEventsAndFailures(t *testing.T) {
	// The newest event a second back: the lookup's EndTime (its own now)
	// travels in whole milliseconds, so an event stamped in the same
	// millisecond fell after it about a third of the runs.
	now := time.Now().UTC().Add(-time.Second)
	var events []*awsemu.Event
	for i := range 80 {
		events = append(events, &awsemu.Event{Region: "us-west-2", Time: now.Add(-time.Duration(i) * time.Minute), Name: fmt.Sprintf("E%d", i), Username: "u"})
	}
	srv, err := awsemu.New(&awsemu.Seed{
		Accounts: []*awsemu.Account{{ID: acct, Events: events}},
		Faults:   []awsemu.Fault{{Action: "LookupEvents", Region: "eu-north-1", Kind: "denied"}},
	}, awsemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res, err := timeline.Lookup(context.Background(), clientsFor(srv), timeline.Options{
		Username: "u", Regions: []string{"us-west-2", "eu-north-1"}, MaxEvents: 30, Rate: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 30 || !res.Truncated || res.Events[29].Name != "E0" {
		t.Errorf("%d events, truncated %v, newest %s", len(res.Events), res.Truncated, res.Events[len(res.Events)-1].Name)
	}
	if len(res.Failed) != 1 || res.Failed[0].Region != "eu-north-1" || !strings.Contains(res.Failed[0].Error, "cloudtrail:LookupEvents") {
		t.Errorf("failed %v", res.Failed)
	}
	// Every region failing is an error.
	if _, err := timeline.Lookup(context.Background(), clientsFor(srv), timeline.Options{Username: "u", Regions: []string{"eu-north-1"}, Rate: 1000}); err == nil {
		t.Error("no error when nothing could be read")
	}
	if _, err := timeline.Lookup(context.Background(), clientsFor(srv), timeline.Options{Regions: []string{"x"}}); err == nil {
		t.Error("no error without a subject")
	}
}

// CloudTrail refuses LookupEvents beyond 2 calls per second per region
// with ThrottlingException (the emulator does too). Going faster than the
// quota (Rate 1000, as a busy account shared with other lookups would),
// with the SDK's retries spent at once, a multi-page timeline still
// returns every event: bks waits and retries the page. It used to give up
// on the region.
func TestTimelineRidesOutLookupThrottling(t *testing.T) {
	now := time.Now().UTC().Add(-time.Second)
	var events []*awsemu.Event
	for i := range 240 {
		events = append(events, &awsemu.Event{Region: "us-west-2", Time: now.Add(-time.Duration(i) * time.Minute), Name: fmt.Sprintf("E%d", i), Username: "u"})
	}
	srv, err := awsemu.New(&awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Events: events}}}, awsemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res, err := timeline.Lookup(context.Background(), clientsFor(srv), timeline.Options{Username: "u", Regions: []string{"us-west-2"}, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	refused := srv.CountCode("ThrottlingException")
	if refused == 0 {
		t.Fatal("the emulator refused nothing: the test proves nothing")
	}
	if len(res.Events) != 240 || len(res.Failed) != 0 || res.Calls["us-west-2"] != 5 {
		t.Errorf("%d events (want 240), failed %v, %d pages (want 5), %d refusals", len(res.Events), res.Failed, res.Calls["us-west-2"], refused)
	}
	if res.Throttled["us-west-2"] == 0 {
		t.Errorf("throttled %v: the waits are not reported", res.Throttled)
	}
}

// A NextToken that expires between two pages (CloudTrail answers
// InvalidNextTokenException; the emulator after its MarkerTTL): the
// lookup starts over and returns every event, once. It used to report the
// region failed after its first page.
func TestTimelineRestartsOnStaleNextToken(t *testing.T) {
	clock := awsemu.NewClock(time.Now().UTC())
	now := clock.Now().Add(-time.Second)
	var events []*awsemu.Event
	for i := range 120 {
		events = append(events, &awsemu.Event{Region: "us-west-2", Time: now.Add(-time.Duration(i) * time.Minute), Name: fmt.Sprintf("E%d", i), Username: "u"})
	}
	srv, err := awsemu.New(&awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Events: events}}}, awsemu.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg := srv.AWSConfig("us-west-2")
	clock.AdvanceAfterFirstAnswer(&cfg, 20*time.Minute, "LookupEvents") // the emulator's tokens live 15
	clients := func(region string) timeline.CloudTrailAPI {
		return cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.Region = region })
	}
	res, err := timeline.Lookup(context.Background(), clients, timeline.Options{Username: "u", Regions: []string{"us-west-2"}})
	if err != nil {
		t.Fatal(err)
	}
	if stale := srv.CountCode("InvalidNextTokenException"); stale != 1 || len(res.Events) != 120 || len(res.Failed) != 0 {
		t.Errorf("%d stale refusals (want 1), %d events (want 120), failed %v", stale, len(res.Events), res.Failed)
	}
}

func FuzzParseDocument(f *testing.F) {
	f.Add(`{"awsRegion":"eu-west-1","sourceIPAddress":"1.2.3.4","additionalEventData":{"callWithBearerToken":"true"},"requestParameters":{"modelId":"m"}}`)
	f.Add(`{"requestParameters":null,"additionalEventData":{"callWithBearerToken":true}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var ev timeline.Event
		timeline.ParseDocument(doc, &ev)
	})
}

// Mantle (bedrock-mantle.amazonaws.com) events carry callWithBearerToken
// and bearerTokenType in requestParameters, not additionalEventData; a
// call with an API key there is flagged too.
func TestParseDocumentMantleBearerToken(t *testing.T) {
	for _, tc := range []struct {
		doc       string
		bearer    bool
		tokenType string
	}{
		{`{"eventSource":"bedrock-mantle.amazonaws.com","requestParameters":{"callWithBearerToken":true,"bearerTokenType":"LONG_TERM","model":"m"}}`, true, "LONG_TERM"},
		{`{"eventSource":"bedrock-mantle.amazonaws.com","requestParameters":{"callWithBearerToken":"true","bearerTokenType":"SHORT_TERM"}}`, true, "SHORT_TERM"},
		{`{"eventSource":"bedrock-mantle.amazonaws.com","requestParameters":{"callWithBearerToken":false}}`, false, ""},
		{`{"eventSource":"bedrock.amazonaws.com","additionalEventData":{"callWithBearerToken":true}}`, true, ""},
	} {
		var ev timeline.Event
		timeline.ParseDocument(tc.doc, &ev)
		if ev.BearerToken != tc.bearer || ev.BearerTokenType != tc.tokenType {
			t.Errorf("%s: bearer %v type %q", tc.doc, ev.BearerToken, ev.BearerTokenType)
		}
	}
}
