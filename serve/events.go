package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"github.com/bks-dev/bks/awsops"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/bks-dev/bks/awsops/iamscan"
	"github.com/bks-dev/bks/awsops/kpi"
	"github.com/bks-dev/bks/awsops/timeline"
	"github.com/bks-dev/bks/serve/store"
)

// DefaultEventsHeader is the header that carries the shared secret of
// POST /events/aws: the API key name of the EventBridge connection
// ("API key" authorization sends a header name and value of your choice,
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destination-connection-authorization.html).
const DefaultEventsHeader = "X-Bks-Events-Key"

// MaxEventBody is the largest event accepted: EventBridge refuses events
// over 256 KB ("the total entry size must be less than 256KB",
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html).
const MaxEventBody = 256 << 10

// CloudTrailDetailType is the detail-type of the CloudTrail events
// EventBridge receives
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event.html).
const CloudTrailDetailType = "AWS API Call via CloudTrail"

// Results of bks_serve_aws_events_total{result}.
const (
	EventRecorded     = "recorded"     // 200, stored with its effect
	EventDuplicate    = "duplicate"    // 200, an event id seen before
	EventIgnored      = "ignored"      // 204, not an event the inventory or the KPIs use
	EventUnauthorized = "unauthorized" // 401, no or a wrong secret
	EventTooLarge     = "too_large"    // 413
	EventMalformed    = "malformed"    // 400
	EventUnavailable  = "unavailable"  // 503, the database failed
)

var eventResults = []string{EventRecorded, EventDuplicate, EventIgnored, EventUnauthorized, EventTooLarge, EventMalformed, EventUnavailable}

// awsEvents accepts one EventBridge API-destination delivery: an event
// envelope whose detail is a CloudTrail record. In order: a missing or
// wrong secret (401, before the body is read; never logged), too big
// (413), not JSON or without an id, account and time (400), not an event
// the service uses (204, not stored), the database failing (503 +
// Retry-After: EventBridge retries 5xx), an event id seen before (200,
// nothing done), else recorded, key change or Bedrock call included, in
// one transaction and answered 200. Nothing of the body is stored or
// logged but the fields the inventory and the KPIs use: the record of a
// CreateServiceSpecificCredential holds the new key in its
// responseElements, and that field is never even decoded.
func (s *Server) awsEvents(w http.ResponseWriter, r *http.Request) {
	log := s.log.With("remote", r.RemoteAddr)
	refuse := func(code int, result, reason string) {
		s.metrics.AWSEvent(result)
		log.Warn("aws event refused", "status", code, "reason", reason)
		http.Error(w, reason, code)
	}
	if !s.validEventsSecret(r.Header.Get(s.cfg.EventsHeader)) {
		refuse(http.StatusUnauthorized, EventUnauthorized, "missing or wrong "+s.cfg.EventsHeader)
		return
	}
	if r.ContentLength > s.cfg.MaxEventBody {
		refuse(http.StatusRequestEntityTooLarge, EventTooLarge, "event too large")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxEventBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		refuse(http.StatusRequestEntityTooLarge, EventTooLarge, "event too large")
		return
	case err != nil:
		refuse(http.StatusBadRequest, EventMalformed, "could not read the body")
		return
	}
	ev, use, reason := parseAWSEvent(body)
	if reason != "" {
		refuse(http.StatusBadRequest, EventMalformed, reason)
		return
	}
	log = log.With("event", ev.ID, "account", ev.AccountID, "name", logSafe(ev.Name))
	if !use {
		s.metrics.AWSEvent(EventIgnored)
		log.Info("aws event ignored", "status", http.StatusNoContent)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.DBTimeout)
	defer cancel()
	added, err := s.st.RecordAWSEvent(ctx, ev)
	if err != nil {
		s.metrics.AWSEvent(EventUnavailable)
		log.Error("aws event not stored", "status", http.StatusServiceUnavailable, "err", err)
		w.Header().Set("Retry-After", "30")
		http.Error(w, "cannot store the event now", http.StatusServiceUnavailable)
		return
	}
	if !added {
		s.metrics.AWSEvent(EventDuplicate)
		log.Info("aws event redelivered: already recorded, nothing done", "status", http.StatusOK)
		writeStatus(w, http.StatusOK, "duplicate")
		return
	}
	s.metrics.AWSEvent(EventRecorded)
	log.Info("aws event recorded", "status", http.StatusOK, "key", ev.Key != nil, "bedrock_call", ev.Call != nil)
	writeStatus(w, http.StatusOK, "recorded")
}

// validEventsSecret compares got with the secret in constant time (over
// digests, so that the length does not show either).
func (s *Server) validEventsSecret(got string) bool {
	if got == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256(s.cfg.EventsSecret)
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// ebEvent is an EventBridge event envelope
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html).
type ebEvent struct {
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Detail     json.RawMessage `json:"detail"`
}

// ctRecord is what the service reads of a CloudTrail record: names and
// ids only. responseElements' secrets (servicePassword,
// serviceCredentialSecret, secretAccessKey) have no field here, so they
// are never decoded.
type ctRecord struct {
	EventName          string `json:"eventName"`
	EventSource        string `json:"eventSource"`
	EventTime          string `json:"eventTime"`
	ErrorCode          string `json:"errorCode"`
	RecipientAccountID string `json:"recipientAccountId"`
	UserIdentity       struct {
		Type     string `json:"type"`
		UserName string `json:"userName"`
	} `json:"userIdentity"`
	RequestParameters struct {
		UserName     string `json:"userName"`
		ServiceName  string `json:"serviceName"`
		CredentialID string `json:"serviceSpecificCredentialId"`
		AccessKeyID  string `json:"accessKeyId"`
		Status       string `json:"status"`
	} `json:"requestParameters"`
	ResponseElements struct {
		Credential struct {
			ID             string `json:"serviceSpecificCredentialId"`
			UserName       string `json:"userName"`
			ServiceName    string `json:"serviceName"`
			Status         string `json:"status"`
			ExpirationDate string `json:"expirationDate"`
		} `json:"serviceSpecificCredential"`
		AccessKey struct {
			ID       string `json:"accessKeyId"`
			UserName string `json:"userName"`
			Status   string `json:"status"`
		} `json:"accessKey"`
	} `json:"responseElements"`
}

// parseAWSEvent reads an EventBridge delivery. reason says why it is
// malformed; use is false for an event the service does not use (another
// detail-type, another event, a failed call, a key of another service or
// an access key of an ordinary user).
func parseAWSEvent(body []byte) (ev store.AWSEvent, use bool, reason string) {
	var env ebEvent
	if err := json.Unmarshal(body, &env); err != nil {
		return ev, false, "not an EventBridge event (JSON)"
	}
	if !validID(env.ID) {
		return ev, false, "missing or malformed event id"
	}
	ev.ID, ev.Region = env.ID, logSafe(env.Region)
	if env.DetailType != CloudTrailDetailType {
		return ev, false, ""
	}
	var rec ctRecord
	if len(env.Detail) == 0 || json.Unmarshal(env.Detail, &rec) != nil {
		return ev, false, "detail is not a CloudTrail record"
	}
	ev.Name = rec.EventName
	ev.AccountID = env.Account
	if !isAccountID(ev.AccountID) {
		ev.AccountID = rec.RecipientAccountID
	}
	t, err := time.Parse(time.RFC3339, rec.EventTime)
	if err != nil {
		t, err = time.Parse(time.RFC3339, env.Time)
	}
	if err != nil || !isAccountID(ev.AccountID) || !validID(ev.Name) {
		return ev, false, "no account, event time or event name"
	}
	ev.Time = t.UTC()
	if rec.ErrorCode != "" {
		return ev, false, "" // a refused call changed nothing
	}
	if kpi.IsBedrockSource(rec.EventSource) {
		var te timeline.Event
		timeline.ParseDocument(string(env.Detail), &te)
		typ := te.BearerTokenType
		if typ != "LONG_TERM" && typ != "SHORT_TERM" {
			typ = ""
		}
		ev.Call = &store.BedrockCall{Caller: kpi.Caller(te), TokenType: typ}
		return ev, true, ""
	}
	if rec.EventSource != "iam.amazonaws.com" {
		return ev, false, ""
	}
	read := keyEvents[rec.EventName]
	if read == nil {
		return ev, false, ""
	}
	k := read(&rec)
	if k == nil || !validID(k.CredentialID) {
		return ev, false, ""
	}
	if !awsops.ValidUserName(k.UserName) { // it is shown on the dashboard
		k.UserName = "(malformed)"
	}
	ev.Key = k
	return ev, true, ""
}

// keyEvents are the IAM events of the key inventory, each with what it
// says of a key (nil: not a key the inventory keeps). The request and
// response fields are IAM's (API_CreateServiceSpecificCredential,
// API_UpdateServiceSpecificCredential, API_CreateAccessKey… in
// https://docs.aws.amazon.com/IAM/latest/APIReference/), as CloudTrail
// records them.
var keyEvents = map[string]func(*ctRecord) *store.KeyChange{
	"CreateServiceSpecificCredential": func(r *ctRecord) *store.KeyChange {
		c := r.ResponseElements.Credential
		svc := firstOf(c.ServiceName, r.RequestParameters.ServiceName)
		if svc != iamscan.BedrockService {
			return nil
		}
		return &store.KeyChange{CredentialID: c.ID, Kind: store.KeyServiceSpecific,
			UserName: firstOf(c.UserName, r.RequestParameters.UserName), ServiceName: svc,
			Status: keyStatus(firstOf(c.Status, "Active")), Created: eventTime(r), Expires: iamDate(c.ExpirationDate)}
	},
	"UpdateServiceSpecificCredential": func(r *ctRecord) *store.KeyChange {
		p := r.RequestParameters
		return &store.KeyChange{CredentialID: p.CredentialID, Kind: store.KeyServiceSpecific,
			UserName: firstOf(p.UserName, callerUser(r)), Status: keyStatus(p.Status)}
	},
	"DeleteServiceSpecificCredential": func(r *ctRecord) *store.KeyChange {
		p := r.RequestParameters
		return &store.KeyChange{CredentialID: p.CredentialID, Kind: store.KeyServiceSpecific,
			UserName: firstOf(p.UserName, callerUser(r)), Status: store.KeyDeleted}
	},
	"CreateAccessKey": func(r *ctRecord) *store.KeyChange {
		k := r.ResponseElements.AccessKey
		c := phantomKey(k.ID, firstOf(k.UserName, r.RequestParameters.UserName, callerUser(r)), keyStatus(firstOf(k.Status, "Active")))
		if c != nil {
			c.Created = eventTime(r)
		}
		return c
	},
	"UpdateAccessKey": func(r *ctRecord) *store.KeyChange {
		p := r.RequestParameters
		return phantomKey(p.AccessKeyID, firstOf(p.UserName, callerUser(r)), keyStatus(p.Status))
	},
	"DeleteAccessKey": func(r *ctRecord) *store.KeyChange {
		p := r.RequestParameters
		return phantomKey(p.AccessKeyID, firstOf(p.UserName, callerUser(r)), store.KeyDeleted)
	},
}

// KeyEventNames are the IAM events the inventory reads (keyEvents'),
// sorted, for the EventBridge rule.
func KeyEventNames() []string {
	names := make([]string, 0, len(keyEvents))
	for n := range keyEvents {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// phantomKey is an access key change of a BedrockAPIKey-* user (IAM user
// names are case-insensitive), nil for another user's.
func phantomKey(id, user, status string) *store.KeyChange {
	if !strings.HasPrefix(strings.ToLower(user), strings.ToLower(iamscan.PhantomPrefix)) {
		return nil
	}
	return &store.KeyChange{CredentialID: id, Kind: store.KeyAccessKey, UserName: user, Status: status}
}

// eventTime is the record's eventTime (zero when unreadable: parseAWSEvent
// has refused the event before).
func eventTime(r *ctRecord) time.Time {
	t, _ := time.Parse(time.RFC3339, r.EventTime)
	return t.UTC()
}

// callerUser is the IAM user who made the call: when a request names no
// user, IAM acts on the caller's own credentials.
func callerUser(r *ctRecord) string {
	if r.UserIdentity.Type == "IAMUser" {
		return r.UserIdentity.UserName
	}
	return ""
}

// keyStatus maps IAM's Active/Inactive (and Expired) to the inventory's.
func keyStatus(s string) string {
	switch strings.ToLower(s) {
	case "active":
		return store.KeyActive
	case "inactive", "expired":
		return store.KeyInactive
	}
	return store.KeyActive // unknown: counted live rather than missed
}

// iamDate reads a date of IAM's responseElements, which CloudTrail writes
// either as ISO 8601 or as "Jul 8, 2025, 10:00:00 AM"; zero when neither.
func iamDate(s string) time.Time {
	for _, layout := range []string{time.RFC3339, "Jan 2, 2006, 3:04:05 PM", "Jan 2, 2006 3:04:05 PM"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
