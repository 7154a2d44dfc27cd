package awsemu

import "time"

// LookupEvents is limited to two calls per second per account per region
// (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html:
// "The rate of lookup requests is limited to two per second, per account,
// per Region. If this limit is exceeded, a throttling error occurs.").
// The emulator keeps a token bucket per account and region: two tokens,
// refilled at two a second, on the wall clock (not Options.Now, which
// tests freeze). Only answered calls spend a token.
const lookupEventsRate = 2.0

type bucket struct {
	tokens float64
	last   time.Time
}

// throttleLookup answers ThrottlingException when the account's quota in
// the request's region is spent. Caller holds s.mu.
func (s *Server) throttleLookup(req *request) *apiError {
	if s.buckets == nil {
		s.buckets = map[string]*bucket{}
	}
	now := time.Now()
	k := req.account + "/" + req.region
	b := s.buckets[k]
	if b == nil {
		b = &bucket{tokens: lookupEventsRate, last: now}
		s.buckets[k] = b
	}
	b.tokens = min(lookupEventsRate, b.tokens+now.Sub(b.last).Seconds()*lookupEventsRate)
	b.last = now
	if b.tokens < 1 {
		return &apiError{400, "ThrottlingException", "Rate exceeded"}
	}
	b.tokens--
	return nil
}
