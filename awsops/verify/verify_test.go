package verify

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testkeys"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

const account = "111122223333"

func shortKey(region string, issued time.Time, expires int) string {
	return testkeys.ShortTerm(testkeys.ShortTermOptions{
		AccessKeyID: testkeys.AccessKeyID("ASIA", account, uint64(issued.Unix())), SecretKey: "s",
		SessionToken: testkeys.SessionToken(account, 1000, 7), Region: region,
		Issued: issued, Expires: expires,
	})
}

var (
	liveKey    = testkeys.LongTerm("BedrockAPIKey-live", account, testkeys.Secret(1))
	deniedKey  = testkeys.LongTerm("BedrockAPIKey-deny", account, testkeys.Secret(2))
	limitedKey = testkeys.LongTerm("BedrockAPIKey-limt", account, testkeys.Secret(3))
	deadKey    = testkeys.LongTerm("BedrockAPIKey-dead", account, testkeys.Secret(4))
	brokenKey  = testkeys.LongTerm("BedrockAPIKey-500x", account, testkeys.Secret(5))
	slowKey    = testkeys.LongTerm("BedrockAPIKey-slow", account, testkeys.Secret(6))
	// echoKey's answer quotes the token back, as a proxy or a custom
	// --verify-endpoint may: the result must not carry it.
	echoKey   = testkeys.LongTerm("BedrockAPIKey-echo", account, testkeys.Secret(7))
	shortLive = shortKey("eu-west-1", now.Add(-10*time.Minute), 3600)
	shortOld  = shortKey("eu-west-1", now.Add(-3*time.Hour), 3600)
)

// fakeBedrock answers GET /foundation-models as KEYS.md says AWS does.
type fakeBedrock struct {
	srv   *httptest.Server
	calls atomic.Int64
	mu    sync.Mutex
	auths []string
}

func newFakeBedrock(t *testing.T) *fakeBedrock {
	f := &fakeBedrock{}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		auth := r.Header.Get("Authorization")
		f.mu.Lock()
		f.auths = append(f.auths, auth)
		f.mu.Unlock()
		if r.Method != http.MethodGet || r.URL.Path != "/foundation-models" {
			http.Error(w, "not found", 404)
			return
		}
		token, _ := strings.CutPrefix(auth, "Bearer ")
		deny := func(msg string) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
			w.WriteHeader(403)
			fmt.Fprintf(w, `{"message":%q}`, msg)
		}
		switch token {
		case liveKey, shortLive:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"modelSummaries":[]}`)
		case deniedKey:
			deny("User: arn:aws:iam::111122223333:user/BedrockAPIKey-deny is not authorized to perform: bedrock:ListFoundationModels with an explicit deny in an identity-based policy")
		case limitedKey:
			deny("User: arn:aws:iam::111122223333:user/BedrockAPIKey-limt is not authorized to perform: bedrock:ListFoundationModels because no identity-based policy allows the bedrock:ListFoundationModels action")
		case brokenKey:
			w.Header().Set("X-Amzn-ErrorType", "InternalServerException")
			w.WriteHeader(500)
			io.WriteString(w, `{"message":"internal error"}`)
		case slowKey:
			<-r.Context().Done()
		case echoKey:
			w.Header().Set("X-Amzn-ErrorType", "ValidationException")
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"message":"bad Authorization header: Bearer %s"}`, token)
		default:
			deny("Authentication failed: Please make sure your API Key is valid.")
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func noBackoff() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 2
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

func newChecker(t *testing.T, f *fakeBedrock, mod func(*Options)) *Checker {
	t.Helper()
	return mustChecker(t, Options{EndpointURL: f.srv.URL, HTTPClient: f.srv.Client()}, mod)
}

// mustChecker is New with the tests' clock, retryer and timeout, then mod.
func mustChecker(t *testing.T, opts Options, mod func(*Options)) *Checker {
	t.Helper()
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
	opts.Now, opts.Retryer, opts.Timeout = func() time.Time { return now }, noBackoff, 5*time.Second
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStatuses(t *testing.T) {
	f := newFakeBedrock(t)
	c := newChecker(t, f, nil)
	tests := []struct {
		name     string
		key      string
		want     Status
		explicit bool
		offline  bool
		region   string
		dead     bool
	}{
		{"live long-term", liveKey, Live, false, false, "us-east-1", false},
		{"live short-term", shortLive, Live, false, false, "eu-west-1", false},
		{"explicit deny", deniedKey, LiveDenied, true, false, "us-east-1", true},
		{"limited", limitedKey, LiveDenied, false, false, "us-east-1", false},
		{"unknown key", deadKey, Invalid, false, false, "us-east-1", true},
		{"expired offline", shortOld, Expired, false, true, "eu-west-1", true},
		{"malformed", "ABSK!!!!", Invalid, false, true, "", true},
		{"5xx", brokenKey, Unknown, false, false, "us-east-1", false},
		{"error quoting the key", echoKey, Unknown, false, false, "us-east-1", false},
		{"claude platform", testkeys.ClaudeLongTerm("abcd", account, testkeys.Secret(9)), Unknown, false, true, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.calls.Load()
			r := c.Check(context.Background(), tc.key)
			if r.Status != tc.want || r.ExplicitDeny != tc.explicit || r.Offline != tc.offline || r.Region != tc.region || r.Dead() != tc.dead {
				t.Errorf("got %+v", r)
			}
			if tc.offline && f.calls.Load() != before {
				t.Error("offline result made a call")
			}
			if strings.Contains(fmt.Sprintf("%+v", r), tc.key) && len(tc.key) > 8 {
				t.Error("result holds the key")
			}
		})
	}
	r := c.Check(context.Background(), limitedKey)
	if r.Principal != "arn:aws:iam::111122223333:user/BedrockAPIKey-limt" {
		t.Errorf("principal %q", r.Principal)
	}
}

func TestCacheAndEnvToken(t *testing.T) {
	f := newFakeBedrock(t)
	c := newChecker(t, f, nil)
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", deadKey) // must not replace the key checked
	r1 := c.Check(context.Background(), liveKey)
	r2 := c.Check(context.Background(), "  Bearer "+liveKey+"\n")
	if r1.Status != Live || r2.Status != Live || r1.Cached || !r2.Cached {
		t.Fatalf("r1 %+v r2 %+v", r1, r2)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1 (cache)", n)
	}
	if f.auths[0] != "Bearer "+liveKey {
		t.Error("Authorization header does not carry the checked key")
	}
}

func TestTimeout(t *testing.T) {
	f := newFakeBedrock(t)
	c := newChecker(t, f, func(o *Options) { o.Timeout = 100 * time.Millisecond })
	r := c.Check(context.Background(), slowKey)
	if r.Status != Unknown || !strings.Contains(r.Reason, "no answer within") {
		t.Errorf("got %+v", r)
	}
}

// countingTransport records the hosts called and the highest number of
// requests in flight at once.
type countingTransport struct {
	next           http.RoundTripper
	mu             sync.Mutex
	inFlight, peak int
	hosts          []string
	answer403      bool
	hold           chan struct{}
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.inFlight++
	c.peak = max(c.peak, c.inFlight)
	c.hosts = append(c.hosts, r.URL.Host)
	c.mu.Unlock()
	defer func() { c.mu.Lock(); c.inFlight--; c.mu.Unlock() }()
	if c.hold != nil {
		select {
		case <-c.hold:
		case <-time.After(20 * time.Millisecond):
		}
	}
	if c.answer403 {
		return &http.Response{
			StatusCode: 403, Status: "403 Forbidden", Request: r,
			Header: http.Header{"Content-Type": {"application/json"}, "X-Amzn-Errortype": {"AccessDeniedException"}},
			Body:   io.NopCloser(strings.NewReader(`{"message":"Authentication failed: Please make sure your API Key is valid."}`)),
		}, nil
	}
	return c.next.RoundTrip(r)
}

func TestBoundedConcurrencyAndOrder(t *testing.T) {
	f := newFakeBedrock(t)
	ct := &countingTransport{next: f.srv.Client().Transport, hold: make(chan struct{})}
	c := newChecker(t, f, func(o *Options) {
		o.Concurrency = 3
		o.HTTPClient = &http.Client{Transport: ct}
	})
	var keys []string
	for i := range 12 {
		keys = append(keys, testkeys.LongTerm(fmt.Sprintf("user%02d", i), account, testkeys.Secret(uint64(100+i))))
	}
	keys[5] = liveKey
	res := c.CheckAll(context.Background(), keys)
	for i, r := range res {
		want := Invalid
		if i == 5 {
			want = Live
		}
		if r.Status != want {
			t.Errorf("result %d: %s, want %s", i, r.Status, want)
		}
	}
	if ct.peak > 3 || ct.peak < 1 {
		t.Errorf("peak concurrency %d, want 1..3", ct.peak)
	}
}

// Without an explicit endpoint, a short-term key goes to its own region's
// Bedrock endpoint and a long-term key to the configured region's; the
// environment cannot redirect either.
func TestKeyGoesOnlyToAWSBedrockForItsRegion(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "https://elsewhere.example")
	t.Setenv("AWS_ENDPOINT_URL_BEDROCK", "https://elsewhere.example")
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
	ct := &countingTransport{answer403: true}
	for _, tc := range []struct {
		key, ltRegion, host string
	}{
		{shortKey("ap-southeast-2", now.Add(-time.Minute), 900), "us-east-1", "bedrock.ap-southeast-2.amazonaws.com"},
		{shortKey("cn-north-1", now.Add(-time.Minute), 900), "us-east-1", "bedrock.cn-north-1.amazonaws.com.cn"},
		{shortKey("eusc-de-east-1", now.Add(-time.Minute), 900), "us-east-1", "bedrock.eusc-de-east-1.amazonaws.eu"},
		{shortKey("us-iso-east-1", now.Add(-time.Minute), 900), "us-east-1", "bedrock.us-iso-east-1.c2s.ic.gov"},
		{liveKey, "us-east-1", "bedrock.us-east-1.amazonaws.com"},
		{deniedKey, "us-gov-west-1", "bedrock.us-gov-west-1.amazonaws.com"},
	} {
		c, err := New(Options{LongTermRegion: tc.ltRegion, HTTPClient: &http.Client{Transport: ct}, Now: func() time.Time { return now }, Retryer: noBackoff})
		if err != nil {
			t.Fatal(err)
		}
		r := c.Check(context.Background(), tc.key)
		ct.mu.Lock()
		got := ct.hosts[len(ct.hosts)-1]
		ct.mu.Unlock()
		if got != tc.host || r.Endpoint != tc.host || r.Status != Invalid {
			t.Errorf("sent to %s (result %+v), want %s", got, r, tc.host)
		}
	}
}

func TestOptionsRefused(t *testing.T) {
	for _, o := range []Options{
		{EndpointURL: "http://127.0.0.1:1"},
		{EndpointURL: "::"},
		{LongTermRegion: "us-east-1.evil.example/"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// TestFingerprintMatchesDetect: a key checked by verify has the fingerprint
// detect gives it, for every family, so results join with findings,
// baselines and triage. (Claude Platform keys used to get the
// bedrock-long-term one.)
func TestFingerprintMatchesDetect(t *testing.T) {
	f := newFakeBedrock(t)
	c := newChecker(t, f, nil)
	keys := map[string]string{
		detectors.RuleLongTerm:       liveKey,
		detectors.RuleShortTerm:      shortLive,
		detectors.RuleClaudeLongTerm: testkeys.ClaudeLongTerm("abcd", account, testkeys.Secret(9)),
		detectors.RuleClaudeShortTerm: testkeys.ShortTerm(testkeys.ShortTermOptions{
			Host: "aws-external-anthropic.amazonaws.com", AccessKeyID: testkeys.AccessKeyID("ASIA", account, 3), SecretKey: "s",
			Region: "us-west-2", Issued: now.Add(-time.Minute), Expires: 900,
		}),
	}
	eng := detectors.New(detectors.Options{Decode: detectors.DecodeOptions{Now: now}})
	for rule, key := range keys {
		t.Run(rule, func(t *testing.T) {
			var ms []detectors.Match
			eng.Scan([]byte(key), 0, func(m detectors.Match) { ms = append(ms, m) })
			if len(ms) != 1 || ms[0].Rule != rule {
				t.Fatalf("detect found %d matches (%v)", len(ms), ms)
			}
			want := findings.New(ms[0], findings.Location{})
			r := c.Check(context.Background(), key)
			if r.Fingerprint != want.Fingerprint || r.Key != want.Redacted {
				t.Errorf("verify: fingerprint %s key %s; detect: %s %s", r.Fingerprint, r.Key, want.Fingerprint, want.Redacted)
			}
		})
	}
}
