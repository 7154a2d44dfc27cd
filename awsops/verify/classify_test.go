package verify

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// hostTransport answers per Bedrock host: a status and a JSON error body,
// or 200 with no models.
type hostTransport struct {
	mu      sync.Mutex
	hosts   []string
	answers map[string][2]string // host -> {error type, message}; absent: 200
}

func (h *hostTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.hosts = append(h.hosts, r.URL.Host)
	h.mu.Unlock()
	a, ok := h.answers[r.URL.Host]
	if !ok {
		return &http.Response{StatusCode: 200, Status: "200 OK", Request: r, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"modelSummaries":[]}`))}, nil
	}
	status := 403
	if a[0] == "ValidationException" {
		status = 400
	}
	return &http.Response{StatusCode: status, Status: fmt.Sprint(status), Request: r,
		Header: http.Header{"Content-Type": {"application/json"}, "X-Amzn-Errortype": {a[0]}},
		Body:   io.NopCloser(strings.NewReader(fmt.Sprintf(`{"message":%q}`, a[1])))}, nil
}

const (
	east = "bedrock.us-east-1.amazonaws.com"
	gov  = "bedrock.us-gov-west-1.amazonaws.com"
)

var authFailed = [2]string{"AccessDeniedException", "Authentication failed: Please make sure your API Key is valid."}

// A long-term key carries no region: with none given, a key AWS rejects in
// the commercial partition is tried in GovCloud before it is called
// invalid, and a GovCloud key is found live there; with a region given,
// only that region is asked.
func TestLongTermKeyPartitions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		region   string
		answers  map[string][2]string
		want     Status
		hosts    []string
		inReason string
	}{
		{"GovCloud key", "", map[string][2]string{east: authFailed}, Live, []string{east, gov}, "us-gov-west-1"},
		{"dead everywhere", "", map[string][2]string{east: authFailed, gov: authFailed}, Invalid, []string{east, gov}, "aws-us-gov"},
		{"commercial key", "", nil, Live, []string{east}, "us-east-1"},
		{"region given", "us-gov-west-1", map[string][2]string{gov: authFailed}, Invalid, []string{gov}, "aws-us-gov"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ht := &hostTransport{answers: tc.answers}
			c, err := New(Options{LongTermRegion: tc.region, HTTPClient: &http.Client{Transport: ht}, Now: func() time.Time { return now }, Retryer: noBackoff})
			if err != nil {
				t.Fatal(err)
			}
			r := c.Check(context.Background(), liveKey)
			if r.Status != tc.want || fmt.Sprint(ht.hosts) != fmt.Sprint(tc.hosts) || !strings.Contains(r.Reason, tc.inReason) {
				t.Errorf("%s (%s) after asking %v; want %s after %v, reason with %q", r.Status, r.Reason, ht.hosts, tc.want, tc.hosts, tc.inReason)
			}
		})
	}
}

// Every deny answer AWS documents for a Bedrock API key is classified;
// none of these is "unknown".
func TestClassifyDenyAnswers(t *testing.T) {
	for _, tc := range []struct {
		answer [2]string
		want   Status
		dead   bool
	}{
		{authFailed, Invalid, true},
		{[2]string{"AccessDeniedException", "Invalid API Key format: Must start with pre-defined prefix"}, LiveDenied, true},
		{[2]string{"AccessDeniedException", "User: arn:aws:iam::111122223333:user/BedrockAPIKey-x is not authorized to perform: bedrock:ListFoundationModels with an explicit deny in an identity-based policy"}, LiveDenied, true},
		{[2]string{"AccessDeniedException", "User: arn:aws:iam::111122223333:user/BedrockAPIKey-x is not authorized to perform: bedrock:ListFoundationModels"}, LiveDenied, false},
		{[2]string{"ExpiredTokenException", "The security token included in the request is expired"}, Expired, true},
		{[2]string{"AccessDeniedException", "Bearer Token has expired"}, Expired, true},
		{[2]string{"UnrecognizedClientException", "The security token included in the request is invalid."}, Invalid, true},
		{[2]string{"InvalidSignatureException", "The request signature we calculated does not match the signature you provided."}, Invalid, true},
	} {
		ht := &hostTransport{answers: map[string][2]string{east: tc.answer}}
		c, err := New(Options{LongTermRegion: "us-east-1", HTTPClient: &http.Client{Transport: ht}, Now: func() time.Time { return now }, Retryer: noBackoff})
		if err != nil {
			t.Fatal(err)
		}
		r := c.Check(context.Background(), liveKey)
		if r.Status != tc.want || r.Dead() != tc.dead {
			t.Errorf("%v: %s dead=%v (%s), want %s dead=%v", tc.answer, r.Status, r.Dead(), r.Reason, tc.want, tc.dead)
		}
	}
}
