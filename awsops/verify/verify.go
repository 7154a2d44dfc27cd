// Package verify checks, on request only, whether a Bedrock API key is live:
// it calls Bedrock's read-only, free ListFoundationModels
// (GET https://bedrock.<region>.amazonaws.com/foundation-models) with the key
// as a bearer token and classifies the answer.
//
// Where the key goes: a short-term key only to the Bedrock endpoint of its
// own region (the only one where it works), a long-term key to the Bedrock
// endpoint of a region chosen by the caller (default: us-east-1, then
// GovCloud's us-gov-west-1 when the first rejects it, so that a key is never
// called dead by a partition it does not belong to). Endpoints
// come from the AWS SDK's resolver for that region and are never derived
// from the key's contents; the only other destination is an endpoint the
// caller names explicitly (Options.EndpointURL, for tests and demos), and
// it must be HTTPS. Expired and malformed keys are classified offline,
// without any call.
package verify

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/auth/bearer"
	"golang.org/x/sync/errgroup"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
)

// Status is the outcome of a live check.
type Status string

const (
	// Live: AWS accepted the key (200).
	Live Status = "live"
	// LiveDenied: AWS authenticated the key but a policy denied the call
	// (403 "not authorized to perform"): the key works, with fewer rights —
	// or, when Explicit is set, an explicit deny (such as bks revoke-key's)
	// blocks it.
	LiveDenied Status = "live-denied"
	// Invalid: AWS rejected the key (403 "Authentication failed"): deleted,
	// wrong region, or never valid; or it is malformed (offline).
	Invalid Status = "invalid"
	// Expired: a short-term key past X-Amz-Date + X-Amz-Expires (offline).
	Expired Status = "expired"
	// Unknown: the check could not tell (timeout, network, throttling,
	// another error, or a key kind bks cannot check).
	Unknown Status = "unknown"
)

// Dead reports whether a result shows the key can no longer be used:
// invalid, expired, or denied by an explicit deny on every Bedrock call.
func (r Result) Dead() bool {
	return r.Status == Invalid || r.Status == Expired || (r.Status == LiveDenied && r.ExplicitDeny)
}

// Result is one key's check. It never holds the key.
type Result struct {
	Key          string    `json:"key"`         // redacted (findings.Redact)
	Fingerprint  string    `json:"fingerprint"` // as in findings
	Type         string    `json:"type,omitempty"`
	AccountID    string    `json:"account_id,omitempty"`
	Principal    string    `json:"principal,omitempty"` // ARN AWS named, when it did
	Region       string    `json:"region,omitempty"`
	Endpoint     string    `json:"endpoint,omitempty"` // host called; empty when offline
	Status       Status    `json:"status"`
	HTTPStatus   int       `json:"http_status,omitempty"`
	ExplicitDeny bool      `json:"explicit_deny,omitempty"`
	Reason       string    `json:"reason"`
	Offline      bool      `json:"offline,omitempty"` // decided without a call
	Cached       bool      `json:"cached,omitempty"`
	CheckedAt    time.Time `json:"checked_at"`
}

// Options tune a Checker.
type Options struct {
	// LongTermRegion is where long-term keys, which carry no region, are
	// checked. Empty: us-east-1, then GovCloud's us-gov-west-1 when the
	// first rejects the key (longTermProbes). Name the region for China
	// (cn-north-1) and other partitions' keys.
	LongTermRegion string
	// EndpointURL, when set, replaces AWS's Bedrock endpoint for every
	// check (tests and demos). It must be https://. It is an explicit
	// choice of the caller and never comes from a key.
	EndpointURL string
	// HTTPClient for the calls (default: a client with Timeout).
	HTTPClient *http.Client
	// Timeout per check, retries included (default 10s).
	Timeout time.Duration
	// Concurrency bounds CheckAll (default 4).
	Concurrency int
	// MaxAttempts per call, retries of throttling and 5xx included (default 3).
	MaxAttempts int
	// Now is the clock for expiry (default time.Now).
	Now func() time.Time
	// Retryer, when set, replaces the SDK's standard retryer (tests use
	// one without backoff).
	Retryer func() aws.Retryer
}

// DefaultLongTermRegion is the first region long-term keys are checked in
// when Options.LongTermRegion is empty.
const DefaultLongTermRegion = "us-east-1"

// Checker runs live checks with a per-key cache. Safe for concurrent use.
type Checker struct {
	opts  Options
	mu    sync.Mutex
	cache map[[32]byte]*entry
}

type entry struct {
	done chan struct{}
	res  Result
}

// New returns a Checker. It fails when EndpointURL is set but not HTTPS.
func New(opts Options) (*Checker, error) {
	if opts.LongTermRegion != "" && !validRegion(opts.LongTermRegion) {
		return nil, fmt.Errorf("verify: region %q is not a region name", opts.LongTermRegion)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 3
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: opts.Timeout}
	}
	if opts.EndpointURL != "" {
		u, err := url.Parse(opts.EndpointURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("verify: endpoint %q must be an https:// URL (the key is a bearer token)", opts.EndpointURL)
		}
	}
	return &Checker{opts: opts, cache: map[[32]byte]*entry{}}, nil
}

var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)

// validRegion accepts a region of any partition, and one shaped like a
// region that no partition knows yet.
func validRegion(r string) bool { return regionRE.MatchString(r) || detectors.KnownRegion(r) }

// CheckAll checks keys with bounded concurrency; results are in the order
// of keys. It returns early only when ctx ends (the unfinished results are
// Unknown).
func (c *Checker) CheckAll(ctx context.Context, keys []string) []Result {
	out := make([]Result, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.Concurrency)
	for i, k := range keys {
		g.Go(func() error {
			out[i] = c.Check(gctx, k)
			return nil
		})
	}
	_ = g.Wait()
	return out
}

// Check checks one key (see the package doc for where it is sent). A key
// already checked by this Checker is answered from the cache.
func (c *Checker) Check(ctx context.Context, key string) Result {
	key = detectors.Trim(key)
	id := sha256.Sum256([]byte(key))
	c.mu.Lock()
	if e, ok := c.cache[id]; ok {
		c.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			r := c.base(key)
			r.Status, r.Reason = Unknown, "interrupted: "+ctx.Err().Error()
			return r
		}
		r := e.res
		r.Cached = true
		return r
	}
	e := &entry{done: make(chan struct{})}
	c.cache[id] = e
	c.mu.Unlock()
	e.res = c.check(ctx, key)
	close(e.done)
	if e.res.Status == Unknown && ctx.Err() != nil {
		// Do not cache an interrupted check.
		c.mu.Lock()
		delete(c.cache, id)
		c.mu.Unlock()
	}
	return e.res
}

// base is the result's identity: the key redacted and fingerprinted as
// detect does it, by the family's rule.
func (c *Checker) base(key string) Result {
	rule := ""
	if f, ok := detectors.Identify(key); ok {
		rule = f.Rule
	}
	return Result{Key: findings.Redact(key), Fingerprint: findings.Fingerprint(rule, key), CheckedAt: c.opts.Now().UTC()}
}

func (c *Checker) check(ctx context.Context, key string) Result {
	r := c.base(key)
	k, err := detectors.Decode(key, detectors.DecodeOptions{Now: c.opts.Now()})
	if err != nil {
		r.Status, r.Offline = Invalid, true
		r.Reason = "malformed key: " + err.Error()
		return r
	}
	r.Type, r.AccountID = k.Type, k.AccountID
	if s, ok := detectors.ServiceNamed(k.Service); !ok || !s.LiveCheck {
		r.Status, r.Offline = Unknown, true
		r.Reason = "no live check for " + k.Service + " keys"
		return r
	}
	if k.Type != detectors.TypeShortTerm {
		return c.checkLongTerm(ctx, key, r)
	}
	region := k.Region
	if k.Expired != nil && *k.Expired {
		r.Status, r.Offline, r.Region = Expired, true, region
		r.Reason = "expired at " + k.ExpiresAt.UTC().Format(time.RFC3339) + " (offline: no call made)"
		return r
	}
	if !validRegion(region) {
		r.Status, r.Offline = Invalid, true
		r.Reason = fmt.Sprintf("region %q in the key is not a region name", region)
		return r
	}
	r.Region = region
	return c.call(ctx, key, r)
}

// checkLongTerm checks a long-term key in the region the caller named, or
// else in each partition's probe region in turn (longTermProbes), stopping
// at the first that does not reject it: a key is called invalid only by
// every partition asked, never by one it does not belong to. With an
// explicit endpoint (tests, demos) there is one place to ask.
func (c *Checker) checkLongTerm(ctx context.Context, key string, r Result) Result {
	regions := longTermProbes
	if c.opts.LongTermRegion != "" {
		regions = []string{c.opts.LongTermRegion}
	} else if c.opts.EndpointURL != "" {
		regions = longTermProbes[:1]
	}
	var asked []string
	for _, region := range regions {
		r.Region = region
		res := c.call(ctx, key, r)
		if res.Status != Invalid {
			return res
		}
		asked = append(asked, partitionOf(region)+" ("+region+")")
		r = res
	}
	r.Reason += "; rejected in " + strings.Join(asked, ", ")
	if c.opts.LongTermRegion == "" && c.opts.EndpointURL == "" {
		r.Reason += ": a key of another partition (China, ISO, EUSC) needs its region named"
	}
	return r
}

// Endpoint returns the host a check for region is sent to.
func (c *Checker) Endpoint(region string) string {
	if c.opts.EndpointURL != "" {
		u, _ := url.Parse(c.opts.EndpointURL)
		return u.Host
	}
	return "bedrock." + region + "." + detectors.DNSSuffix(region)
}

func (c *Checker) client(region, key string) *bedrock.Client {
	cfg := aws.Config{
		Region:     region,
		HTTPClient: c.opts.HTTPClient,
		// No AWS credentials: the bearer token is the only authentication,
		// and nothing from the environment (AWS_ENDPOINT_URL*, profiles)
		// can redirect the key.
	}
	if c.opts.Retryer != nil {
		cfg.Retryer = c.opts.Retryer
	} else {
		attempts := c.opts.MaxAttempts
		cfg.Retryer = func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				// An untrusted certificate will not fix itself.
				o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
					var cv *tls.CertificateVerificationError
					if errors.As(err, &cv) {
						return aws.FalseTernary
					}
					return aws.UnknownTernary
				})}, o.Retryables...)
			})
		}
	}
	if c.opts.EndpointURL != "" {
		cfg.BaseEndpoint = aws.String(c.opts.EndpointURL)
	}
	return bedrock.NewFromConfig(cfg, func(o *bedrock.Options) {
		o.BearerAuthTokenProvider = bearer.TokenProviderFunc(func(context.Context) (bearer.Token, error) {
			return bearer.Token{Value: key}, nil
		})
		o.AuthSchemePreference = []string{"httpBearerAuth"}
	})
}

func (c *Checker) call(ctx context.Context, key string, r Result) Result {
	r.Endpoint = c.Endpoint(r.Region)
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	_, err := c.client(r.Region, key).ListFoundationModels(ctx, &bedrock.ListFoundationModelsInput{})
	r.CheckedAt = c.opts.Now().UTC()
	if err == nil {
		r.Status, r.HTTPStatus = Live, http.StatusOK
		r.Reason = "ListFoundationModels succeeded: the key works in " + r.Region
		return r
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		r.HTTPStatus = re.HTTPStatusCode()
	}
	var ae smithy.APIError
	msg, code := "", ""
	if errors.As(err, &ae) {
		msg, code = ae.ErrorMessage(), ae.ErrorCode()
	}
	known, isKnown := classify(r.HTTPStatus, code, msg)
	switch {
	case ctx.Err() != nil:
		r.Status = Unknown
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			r.Reason = fmt.Sprintf("no answer within %s", c.opts.Timeout)
		} else {
			r.Reason = "interrupted"
		}
	case r.HTTPStatus == http.StatusForbidden && strings.Contains(msg, "not authorized to perform"):
		r.Status = LiveDenied
		r.ExplicitDeny = strings.Contains(msg, "explicit deny")
		r.Principal = principal(msg)
		if r.ExplicitDeny {
			r.Reason = "authenticated, but an explicit deny blocks ListFoundationModels"
		} else {
			r.Reason = "authenticated, but not allowed ListFoundationModels: the key works with narrower rights"
		}
	case ae != nil && isKnown:
		r.Status, r.ExplicitDeny, r.Reason = known.status, known.explicit, known.reason
	case ae != nil:
		r.Status = Unknown
		r.Reason = fmt.Sprintf("HTTP %d %s: %s", r.HTTPStatus, ae.ErrorCode(), oneLine(scrub(msg, key)))
	default:
		r.Status = Unknown
		r.Reason = "call failed: " + oneLine(scrub(err.Error(), key))
	}
	return r
}

var principalRE = regexp.MustCompile(`User: (arn:[^ ]+) is not authorized`)

func principal(msg string) string {
	if m := principalRE.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	return ""
}

// scrub removes the key from text, in case a transport error echoes a
// request header.
func scrub(s, key string) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, key, findings.Redact(key))
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
