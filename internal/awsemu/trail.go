package awsemu

import "strings"

// RecordBearerCalls makes the emulator write a CloudTrail event for every
// Bedrock call, as AWS does (eventSource bedrock.amazonaws.com; the user,
// or the role session, that made it; errorCode when refused), so that a
// timeline after using a key shows the calls and the share of calls made
// with API keys can be measured. Off by default: seeded histories stay
// exactly as seeded.
//
// A call made with an API key carries additionalEventData.callWithBearerToken
// = true (https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html);
// a SigV4-signed call carries no such field. Next to it the emulator writes
// bearerTokenType, LONG_TERM or SHORT_TERM: Bedrock's Mantle endpoint
// documents both fields for every event, in requestParameters
// (https://docs.aws.amazon.com/bedrock/latest/userguide/logging-cloudtrail-mantle.html),
// with the values of the bedrock:BearerTokenType condition key; where the
// runtime endpoint puts the type is not documented, so bks never depends
// on it (it reads the type from either place and counts calls by
// callWithBearerToken alone).
func (s *Server) RecordBearerCalls(on bool) { s.trail.Store(on) }

func (s *Server) trailBearerCall(req *request, code string) {
	if !s.trail.Load() || req.service != "bedrock" || req.account == "" || req.callerARN == "" {
		return
	}
	e := Event{Time: s.now().UTC(), Region: req.region, Name: req.action, Source: "bedrock.amazonaws.com", ReadOnly: true,
		IdentityARN: req.callerARN, ErrorCode: code, SourceIP: "127.0.0.1", UserAgent: "bks-emulator-client"}
	if req.bearerType != "" {
		e.AdditionalEventData = map[string]any{"callWithBearerToken": true, "bearerTokenType": req.bearerType}
	}
	switch {
	case strings.Contains(req.callerARN, ":assumed-role/"):
		e.IdentityType = "AssumedRole"
	case strings.Contains(req.callerARN, ":user/"):
		e.Username = req.callerARN[strings.LastIndex(req.callerARN, "/")+1:]
	case strings.HasSuffix(req.callerARN, ":root"):
		e.IdentityType = "Root"
	}
	_ = s.AddEvent(req.account, e)
}
