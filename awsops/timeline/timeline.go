// Package timeline reads what a user or an access key did from CloudTrail's
// 90-day event history, which exists in every region whether or not a
// trail does: LookupEvents by Username and/or AccessKeyId, in every region
// asked for, page by page, at no more than the API's 2 calls per second per
// region; a page CloudTrail still refuses for its quota (other callers
// share it) is waited out and asked again, never dropped. It returns the events in time order and a summary; it prints
// nothing.
package timeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"golang.org/x/sync/errgroup"

	"github.com/bks-dev/bks/awsops"
)

// CloudTrailAPI is the part of the CloudTrail client the timeline uses.
type CloudTrailAPI interface {
	LookupEvents(context.Context, *cloudtrail.LookupEventsInput, ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

var _ CloudTrailAPI = (*cloudtrail.Client)(nil)

// MaxDays is how far back CloudTrail's event history goes.
const MaxDays = 90

// DefaultRate is LookupEvents' quota: 2 calls per second per region per
// account.
const DefaultRate = 2.0

// Options say what to look up and where.
type Options struct {
	// Username and AccessKeyID: one or both (one lookup each; CloudTrail
	// takes one attribute per call). Events found by both are kept once.
	Username    string
	AccessKeyID string
	// EventSources: one lookup each, by EventSource (e.g.
	// bedrock.amazonaws.com), for every call to a service whoever made it.
	EventSources []string
	// Regions to search (all of them, in parallel).
	Regions []string
	// Days back from Now (default and maximum 90; more is capped with a
	// warning).
	Days int
	// MaxEvents caps the events kept, newest first (0: no cap).
	MaxEvents int
	// Rate is calls per second per region (default 2; bks never exceeds
	// the API's quota unless told to, e.g. in tests).
	Rate float64
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Event is one CloudTrail event, flattened.
type Event struct {
	Time        time.Time `json:"time"`
	Region      string    `json:"region"`
	Name        string    `json:"event_name"`
	Source      string    `json:"event_source"`
	SourceIP    string    `json:"source_ip,omitempty"`
	UserAgent   string    `json:"user_agent,omitempty"`
	ErrorCode   string    `json:"error_code,omitempty"`
	ErrorMsg    string    `json:"error_message,omitempty"`
	Username    string    `json:"username,omitempty"`
	AccessKeyID string    `json:"access_key_id,omitempty"`
	Identity    string    `json:"identity_arn,omitempty"`
	// IdentityType is userIdentity.type: IAMUser, AssumedRole, Root…
	IdentityType string `json:"identity_type,omitempty"`
	// BearerToken: the call was made with a Bedrock API key
	// (additionalEventData.callWithBearerToken, or requestParameters'
	// on Mantle, bedrock-mantle.amazonaws.com).
	BearerToken bool `json:"bearer_token"`
	// BearerTokenType is SHORT_TERM or LONG_TERM when the event says
	// (Mantle's requestParameters.bearerTokenType).
	BearerTokenType string `json:"bearer_token_type,omitempty"`
	ReadOnly        bool   `json:"read_only"`
	ModelID         string `json:"model_id,omitempty"`
	EventID         string `json:"event_id"`
}

// IsInvocation reports whether the event ran a model.
func (e Event) IsInvocation() bool { return IsInvocation(e.Name) }

// IsInvocation reports whether an event name is a model invocation.
func IsInvocation(name string) bool {
	switch name {
	case "InvokeModel", "InvokeModelWithResponseStream", "Converse", "ConverseStream",
		"InvokeModelWithBidirectionalStream", "StartAsyncInvoke", "CreateModelInvocationJob", "ApplyGuardrail":
		return true
	}
	return false
}

// Count is a name and how often it occurred.
type Count struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Summary condenses the events.
type Summary struct {
	Events      int        `json:"events"`
	FirstSeen   *time.Time `json:"first_seen,omitempty"`
	LastSeen    *time.Time `json:"last_seen,omitempty"`
	Regions     []Count    `json:"regions"`
	SourceIPs   []Count    `json:"source_ips"`
	UserAgents  []Count    `json:"user_agents"`
	EventNames  []Count    `json:"event_names"`
	Invocations int        `json:"model_invocations"`
	// InvocationsByModel counts invocations per "model @ region".
	InvocationsByModel []Count `json:"invocations_by_model"`
	BearerTokenCalls   int     `json:"bearer_token_calls"`
	Errors             int     `json:"errors"`
}

// RegionError is a region whose history could not be (fully) read.
type RegionError struct {
	Region string `json:"region"`
	Error  string `json:"error"`
}

// Result is a timeline.
type Result struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Days    int       `json:"days"`
	Regions []string  `json:"regions"`
	// Lookups says what was looked up, e.g. "Username=alice".
	Lookups   []string      `json:"lookups"`
	Events    []Event       `json:"events"` // oldest first
	Summary   Summary       `json:"summary"`
	Truncated bool          `json:"truncated"`
	Warnings  []string      `json:"warnings,omitempty"`
	Failed    []RegionError `json:"failed_regions,omitempty"`
	// Calls made per region (pages, not retries).
	Calls map[string]int `json:"calls"`
	// Throttled counts, per region, the pages CloudTrail refused for its
	// quota even after the SDK's retries, each waited out and asked
	// again (awsops.RetryThrottled).
	Throttled map[string]int `json:"throttled,omitempty"`
}

// Lookup builds the timeline. clients returns the CloudTrail client for a
// region. A region that fails is reported in Result.Failed and does not
// stop the others; the error is non-nil only when ctx ends or nothing
// could be read at all.
func Lookup(ctx context.Context, clients func(region string) CloudTrailAPI, o Options) (*Result, error) {
	if o.Username == "" && o.AccessKeyID == "" && len(o.EventSources) == 0 {
		return nil, errors.New("timeline: give a user name, an access key id or an event source")
	}
	if len(o.Regions) == 0 {
		return nil, errors.New("timeline: no region to search")
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	res := &Result{End: now().UTC(), Regions: o.Regions, Events: []Event{}, Calls: map[string]int{}, Throttled: map[string]int{}}
	res.Days = o.Days
	switch {
	case o.Days <= 0:
		res.Days = MaxDays
	case o.Days > MaxDays:
		res.Days = MaxDays
		res.Warnings = append(res.Warnings, fmt.Sprintf("CloudTrail event history keeps %d days: --days %d capped at %d", MaxDays, o.Days, MaxDays))
	}
	res.Start = res.End.Add(-time.Duration(res.Days) * 24 * time.Hour)
	rate := o.Rate
	if rate <= 0 {
		rate = DefaultRate
	}
	var attrs []cttypes.LookupAttribute
	if o.Username != "" {
		attrs = append(attrs, cttypes.LookupAttribute{AttributeKey: cttypes.LookupAttributeKeyUsername, AttributeValue: aws.String(o.Username)})
		res.Lookups = append(res.Lookups, "Username="+o.Username)
	}
	if o.AccessKeyID != "" {
		attrs = append(attrs, cttypes.LookupAttribute{AttributeKey: cttypes.LookupAttributeKeyAccessKeyId, AttributeValue: aws.String(o.AccessKeyID)})
		res.Lookups = append(res.Lookups, "AccessKeyId="+o.AccessKeyID)
	}
	for _, src := range o.EventSources {
		attrs = append(attrs, cttypes.LookupAttribute{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String(src)})
		res.Lookups = append(res.Lookups, "EventSource="+src)
	}

	c := &collector{res: res, seen: map[string]bool{}, attrs: attrs, rate: rate, max: o.MaxEvents}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, region := range o.Regions {
		g.Go(func() error { return c.region(gctx, region, clients(region)) })
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	sort.Slice(res.Failed, func(i, j int) bool { return res.Failed[i].Region < res.Failed[j].Region })
	if len(res.Failed) == len(o.Regions) {
		return res, fmt.Errorf("timeline: CloudTrail could not be read in any region (%s)", res.Failed[0].Error)
	}
	// Newest first to cap, then oldest first to read.
	sort.Slice(res.Events, func(i, j int) bool {
		if !res.Events[i].Time.Equal(res.Events[j].Time) {
			return res.Events[i].Time.After(res.Events[j].Time)
		}
		return res.Events[i].EventID < res.Events[j].EventID
	})
	if o.MaxEvents > 0 && len(res.Events) >= o.MaxEvents {
		if len(res.Events) > o.MaxEvents {
			res.Events = res.Events[:o.MaxEvents]
		}
		res.Truncated = true
		res.Warnings = append(res.Warnings, fmt.Sprintf("stopped at --max-events %d: older events not read", o.MaxEvents))
	}
	sort.SliceStable(res.Events, func(i, j int) bool { return res.Events[i].Time.Before(res.Events[j].Time) })
	res.Summary = Summarize(res.Events)
	return res, nil
}

// collector gathers the events of every region into one Result.
type collector struct {
	mu    sync.Mutex
	res   *Result
	seen  map[string]bool
	attrs []cttypes.LookupAttribute
	rate  float64
	max   int
}

// region reads one region's events, attribute by attribute, page by page,
// at the quota (one limiter per region: the quota is per region). A page
// refused for the quota is waited out (awsops.RetryThrottled); a NextToken
// refused as stale starts that attribute over, once (events already kept
// are not kept twice). A region that fails otherwise is recorded in Failed
// with what it gave; the error is ctx's only.
func (c *collector) region(ctx context.Context, region string, api CloudTrailAPI) error {
	lim := awsops.NewLimiter(c.rate, 1)
	calls, throttled := 0, 0
	var rerr error
attrLoop:
	for _, attr := range c.attrs {
		in := &cloudtrail.LookupEventsInput{
			LookupAttributes: []cttypes.LookupAttribute{attr},
			StartTime:        aws.Time(c.res.Start), EndTime: aws.Time(c.res.End),
			MaxResults: aws.Int32(50),
		}
		restarted := false
		for {
			calls++
			var out *cloudtrail.LookupEventsOutput
			n, err := awsops.RetryThrottled(ctx, lim, func() (err error) {
				out, err = api.LookupEvents(ctx, in)
				return err
			})
			throttled += n
			switch {
			case err != nil && ctx.Err() != nil:
				return ctx.Err()
			case err != nil && in.NextToken != nil && !restarted && awsops.IsStaleToken(err):
				restarted, in.NextToken = true, nil
				continue
			case err != nil:
				rerr = err
				break attrLoop
			}
			if c.add(out.Events, region) {
				break attrLoop
			}
			if aws.ToString(out.NextToken) == "" {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res.Calls[region] = calls
	if throttled > 0 {
		c.res.Throttled[region] = throttled
	}
	if rerr != nil {
		c.res.Failed = append(c.res.Failed, RegionError{Region: region, Error: awsops.Describe("cloudtrail", "LookupEvents", rerr)})
	}
	return nil
}

// add keeps the events not seen yet and reports whether MaxEvents is
// reached.
func (c *collector) add(events []cttypes.Event, region string) (full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range events {
		id := aws.ToString(e.EventId)
		if c.seen[id] {
			continue
		}
		c.seen[id] = true
		c.res.Events = append(c.res.Events, flatten(e, region))
	}
	return c.max > 0 && len(c.res.Events) >= c.max
}

// flatten reads the fields of interest from the event and its JSON document.
func flatten(e cttypes.Event, region string) Event {
	ev := Event{
		Time: aws.ToTime(e.EventTime).UTC(), Region: region, Name: aws.ToString(e.EventName),
		Source: aws.ToString(e.EventSource), Username: aws.ToString(e.Username),
		AccessKeyID: aws.ToString(e.AccessKeyId), EventID: aws.ToString(e.EventId),
		ReadOnly: aws.ToString(e.ReadOnly) == "true",
	}
	ParseDocument(aws.ToString(e.CloudTrailEvent), &ev)
	return ev
}

// ParseDocument fills ev from a CloudTrailEvent JSON document (a
// LookupEvents answer's, or the detail of an EventBridge event). Fields
// the document lacks are left as they are, and the name, source, time and
// id are taken only when ev has none; a malformed document changes
// nothing.
func ParseDocument(doc string, ev *Event) {
	var d struct {
		EventName           string          `json:"eventName"`
		EventSource         string          `json:"eventSource"`
		EventTime           string          `json:"eventTime"`
		EventID             string          `json:"eventID"`
		ReadOnly            bool            `json:"readOnly"`
		AwsRegion           string          `json:"awsRegion"`
		SourceIPAddress     string          `json:"sourceIPAddress"`
		UserAgent           string          `json:"userAgent"`
		ErrorCode           string          `json:"errorCode"`
		ErrorMessage        string          `json:"errorMessage"`
		AdditionalEventData map[string]any  `json:"additionalEventData"`
		RequestParameters   json.RawMessage `json:"requestParameters"`
		UserIdentity        struct {
			Type        string `json:"type"`
			ARN         string `json:"arn"`
			AccessKeyID string `json:"accessKeyId"`
			UserName    string `json:"userName"`
		} `json:"userIdentity"`
	}
	if doc == "" || json.Unmarshal([]byte(doc), &d) != nil {
		return
	}
	if ev.Name == "" && ev.Source == "" && ev.EventID == "" {
		ev.Name, ev.Source, ev.EventID, ev.ReadOnly = d.EventName, d.EventSource, d.EventID, d.ReadOnly
		if t, err := time.Parse(time.RFC3339, d.EventTime); err == nil {
			ev.Time = t.UTC()
		}
		if ev.Username == "" && d.UserIdentity.Type == "IAMUser" {
			ev.Username = d.UserIdentity.UserName
		}
	}
	ev.IdentityType = d.UserIdentity.Type
	if d.AwsRegion != "" {
		ev.Region = d.AwsRegion
	}
	ev.SourceIP, ev.UserAgent = d.SourceIPAddress, d.UserAgent
	ev.ErrorCode, ev.ErrorMsg = d.ErrorCode, d.ErrorMessage
	ev.Identity = d.UserIdentity.ARN
	if ev.AccessKeyID == "" {
		ev.AccessKeyID = d.UserIdentity.AccessKeyID
	}
	ev.BearerToken = isTrue(d.AdditionalEventData["callWithBearerToken"])
	var rp struct {
		ModelID string `json:"modelId"`
		// Mantle records these here, not in additionalEventData.
		CallWithBearerToken any    `json:"callWithBearerToken"`
		BearerTokenType     string `json:"bearerTokenType"`
	}
	if t, ok := d.AdditionalEventData["bearerTokenType"].(string); ok {
		ev.BearerTokenType = t
	}
	if len(d.RequestParameters) > 0 && json.Unmarshal(d.RequestParameters, &rp) == nil {
		ev.ModelID = rp.ModelID
		ev.BearerToken = ev.BearerToken || isTrue(rp.CallWithBearerToken)
		if rp.BearerTokenType != "" {
			ev.BearerTokenType = rp.BearerTokenType
		}
	}
}

// isTrue reads a CloudTrail flag recorded as a JSON boolean or a string.
func isTrue(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

// Summarize condenses events.
func Summarize(events []Event) Summary {
	s := Summary{Events: len(events), Regions: []Count{}, SourceIPs: []Count{}, UserAgents: []Count{}, EventNames: []Count{}, InvocationsByModel: []Count{}}
	regions, ips, uas, names, models := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	for i := range events {
		e := &events[i]
		if s.FirstSeen == nil || e.Time.Before(*s.FirstSeen) {
			s.FirstSeen = &e.Time
		}
		if s.LastSeen == nil || e.Time.After(*s.LastSeen) {
			s.LastSeen = &e.Time
		}
		regions[e.Region]++
		if e.SourceIP != "" {
			ips[e.SourceIP]++
		}
		if e.UserAgent != "" {
			uas[e.UserAgent]++
		}
		names[e.Name]++
		if e.IsInvocation() {
			s.Invocations++
			m := e.ModelID
			if m == "" {
				m = "(model not recorded)"
			}
			models[m+" @ "+e.Region]++
		}
		if e.BearerToken {
			s.BearerTokenCalls++
		}
		if e.ErrorCode != "" {
			s.Errors++
		}
	}
	s.Regions, s.SourceIPs, s.UserAgents, s.EventNames, s.InvocationsByModel = counts(regions), counts(ips), counts(uas), counts(names), counts(models)
	return s
}

func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}
