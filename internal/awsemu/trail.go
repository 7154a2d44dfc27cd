package awsemu

import (
	"strings"
	"time"
)

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
	e.IdentityType, e.Username = identityOf(req.callerARN)
	_ = s.AddEvent(req.account, e)
}

// identityOf is the userIdentity type of a caller ARN and, for an IAM
// user, its name.
func identityOf(arn string) (idType, user string) {
	switch {
	case strings.Contains(arn, ":assumed-role/"):
		return "AssumedRole", ""
	case strings.Contains(arn, ":user/"):
		return "IAMUser", arn[strings.LastIndex(arn, "/")+1:]
	case strings.HasSuffix(arn, ":root"):
		return "Root", ""
	}
	return "", ""
}

// RecordKeyEvents makes the emulator write a CloudTrail event, as AWS
// does, for each successful IAM call that creates, changes or deletes a
// long-term key: Create/Update/DeleteServiceSpecificCredential and
// Create/Update/DeleteAccessKey (eventSource iam.amazonaws.com, region
// us-east-1: IAM is global). The record of CreateServiceSpecificCredential
// carries the new credential, secret included, in responseElements, so
// that a consumer that must not keep it is tested against one that has it;
// CreateAccessKey's carries no secret access key. Off by default.
func (s *Server) RecordKeyEvents(on bool) { s.keyTrail.Store(on) }

// keyEvent is what an IAM handler saw of a key call it answered.
type keyEvent struct{ request, response map[string]any }

func (s *Server) trailKeyEvent(req *request, code string) {
	if !s.keyTrail.Load() || req.keyEvent == nil || code != "" || req.account == "" {
		return
	}
	e := Event{Time: s.now().UTC(), Region: "us-east-1", Name: req.action, Source: "iam.amazonaws.com",
		IdentityARN: req.callerARN, SourceIP: "127.0.0.1", UserAgent: "bks-emulator-client",
		RequestParameters: req.keyEvent.request, ResponseElements: req.keyEvent.response}
	e.IdentityType, e.Username = identityOf(req.callerARN)
	if e.IdentityType == "" {
		e.IdentityType = "AWSAccount"
	}
	_ = s.AddEvent(req.account, e)
}

// trailServiceCred is a service-specific credential as CloudTrail records
// it in CreateServiceSpecificCredential's responseElements.
func trailServiceCred(account string, u *User, c *ServiceCred, now time.Time) map[string]any {
	alias := u.Name + "-at-" + account
	m := map[string]any{"userName": u.Name, "status": credStatus(c, now), "serviceUserName": alias,
		"serviceCredentialAlias": alias, "createDate": trailDate(c.Created),
		"serviceSpecificCredentialId": c.ID, "serviceName": c.Service}
	if c.Expires != nil {
		m["expirationDate"] = trailDate(*c.Expires)
	}
	if c.Service == bedrockService {
		m["serviceCredentialSecret"] = c.Secret
	} else {
		m["servicePassword"] = c.Secret
	}
	return m
}

// trailDate is a date of IAM's responseElements as CloudTrail writes it,
// "Oct 13, 2023, 6:31:03 PM" (seen in published records, not documented).
func trailDate(t time.Time) string { return t.UTC().Format("Jan 2, 2006, 3:04:05 PM") }
