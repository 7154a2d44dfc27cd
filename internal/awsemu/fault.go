package awsemu

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Fault makes matching calls fail (or wait) instead of being answered.
type Fault struct {
	// Action to match, e.g. "ListAccessKeys"; "*" matches every action.
	Action string `json:"action"`
	// Account, when set, matches only calls acting on that account.
	Account string `json:"account,omitempty"`
	// Region, when set, matches only calls signed for that region.
	Region string `json:"region,omitempty"`
	// Params must all equal the call's parameters (Query parameters or
	// top-level JSON strings), e.g. {"UserName": "BedrockAPIKey-ab12"}.
	Params map[string]string `json:"params,omitempty"`
	// Kind: "throttle" (Throttling / ThrottlingException, retried by the
	// SDK), "5xx" (500 InternalFailure), "unavailable" (503), "denied"
	// (AccessDenied), "nosuchentity" (404 NoSuchEntity), or "" for
	// latency only.
	Kind string `json:"kind,omitempty"`
	// Times is how many matching calls fail; 0 means every one.
	Times int `json:"times,omitempty"`
	// Latency delays matching calls before answering.
	Latency Duration `json:"latency,omitempty"`
}

// Duration is a time.Duration written as "250ms" in JSON.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes "250ms".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "250ms".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

type faultState struct {
	Fault
	left int // remaining failures; -1 = unlimited
}

// Inject adds a fault. Faults are checked in the order added; the first
// that matches and still has failures left applies.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := f.Times
	if left == 0 {
		left = -1
	}
	s.faults = append(s.faults, &faultState{Fault: f, left: left})
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

func (s *Server) matchFault(req *request) *faultState {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.left == 0 {
			continue
		}
		if f.Action != "*" && f.Action != req.action {
			continue
		}
		if f.Account != "" && f.Account != req.account {
			continue
		}
		if f.Region != "" && f.Region != req.region {
			continue
		}
		ok := true
		for k, v := range f.Params {
			if req.params[k] != v {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if f.left > 0 {
			f.left--
		}
		return f
	}
	return nil
}

func (f *faultState) err(req *request) *apiError {
	switch strings.ToLower(f.Kind) {
	case "":
		return nil
	case "throttle":
		switch req.service {
		case "iam", "sts":
			return &apiError{400, "Throttling", "Rate exceeded"}
		case "organizations":
			return &apiError{400, "TooManyRequestsException", "AWS Organizations can't complete your request because another request is already in progress."}
		default:
			return &apiError{400, "ThrottlingException", "Rate exceeded"}
		}
	case "5xx":
		if req.protocol == "json" || req.protocol == "rest" {
			return &apiError{500, "InternalServerException", "We encountered an internal error. Please try again."}
		}
		return &apiError{500, "ServiceFailure", "Request processing has failed due to some unknown error, exception or failure."}
	case "unavailable":
		return &apiError{503, "ServiceUnavailable", "Service is unavailable"}
	case "denied":
		code := "AccessDenied"
		if req.protocol != "query" {
			code = "AccessDeniedException"
		}
		return &apiError{403, code, fmt.Sprintf("User: %s is not authorized to perform: %s:%s because no identity-based policy allows the %s:%s action", req.callerARN, req.service, req.action, req.service, req.action)}
	case "nosuchentity":
		return errNoSuchEntity("The requested entity cannot be found.")
	default:
		return &apiError{500, "InternalFailure", "unknown fault kind " + f.Kind}
	}
}
