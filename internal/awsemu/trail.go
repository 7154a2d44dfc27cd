package awsemu

import "strings"

// RecordBearerCalls makes the emulator write a CloudTrail event for every
// Bedrock call made with an API key, as AWS does (eventSource
// bedrock.amazonaws.com, additionalEventData.callWithBearerToken, the
// user or the access key id of the session, errorCode when refused), so a
// timeline after using a key shows the calls. Off by default: seeded
// histories stay exactly as seeded.
func (s *Server) RecordBearerCalls(on bool) { s.trail.Store(on) }

func (s *Server) trailBearerCall(req *request, code string) {
	if !s.trail.Load() || req.service != "bedrock" || req.account == "" || req.callerARN == "" {
		return
	}
	e := Event{Time: s.now().UTC(), Region: req.region, Name: req.action, Source: "bedrock.amazonaws.com", ReadOnly: true,
		IdentityARN: req.callerARN, ErrorCode: code, SourceIP: "127.0.0.1", UserAgent: "bks-emulator-client",
		AdditionalEventData: map[string]any{"callWithBearerToken": true}}
	if i := strings.Index(req.callerARN, ":user/"); i >= 0 {
		e.Username = req.callerARN[strings.LastIndex(req.callerARN, "/")+1:]
	}
	_ = s.AddEvent(req.account, e)
}
