// Package gitlab sweeps GitLab groups (with their subgroups), users and
// projects for keys, on gitlab.com or a self-managed instance: it lists
// projects (and, when asked, their snippets, which are git repositories
// too) through the REST API and hands each to the shared sweep machinery
// (sources/reposweep), which clones it and scans its whole history.
// Findings link to the file at its commit on GitLab (…/-/blob/C/path).
//
// It uses GitLab's official Go client, gitlab.com/gitlab-org/api/client-go:
// it follows both of GitLab's paging styles (offset with X-Next-Page, and
// keyset with the Link header), retries 429 and 5xx answers, and tracks the
// API as GitLab changes it, which a hand-written client would have to do.
// On top of it, rate limits are honoured as GitLab documents
// (https://docs.gitlab.com/administration/settings/user_and_ip_rate_limits/#response-headers):
// a 429 waits for Retry-After (or until RateLimit-Reset), and an answer
// saying RateLimit-Remaining: 0 holds every further request until
// RateLimit-Reset; each wait is announced once, with until when.
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/bks-dev/bks/sources/reposweep"
)

// DefaultAPIURL is gitlab.com's REST API.
const DefaultAPIURL = "https://gitlab.com/api/v4"

// ClientOptions configure NewClient.
type ClientOptions struct {
	// APIURL is the instance's API (DefaultAPIURL when empty); a URL
	// without /api/v4 gets it added.
	APIURL string
	Token  string
	// HTTP is the transport's base (http.DefaultTransport when nil).
	HTTP http.RoundTripper
	// Log receives rate-limit waits.
	Log func(string)
	// ServerRetryWait is the first wait before retrying a 5xx answer,
	// doubled each time (1s when 0).
	ServerRetryWait time.Duration
}

// maxRetries bounds the retries of one request (429 and 5xx answers).
const maxRetries = 6

// NewClient returns a client that honours GitLab's rate limits.
func NewClient(o ClientOptions) (*gl.Client, error) {
	api := o.APIURL
	if api == "" {
		api = DefaultAPIURL
	}
	if u, err := url.Parse(api); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gitlab: API URL %q: want http(s)://host[/api/v4]", api)
	}
	base := o.HTTP
	if base == nil {
		base = http.DefaultTransport
	}
	g := &gate{log: o.Log, now: time.Now, serverWait: o.ServerRetryWait}
	if g.serverWait <= 0 {
		g.serverWait = time.Second
	}
	return gl.NewClient(o.Token,
		gl.WithBaseURL(api),
		gl.WithHTTPClient(&http.Client{Transport: &observer{base: base, gate: g}, CheckRedirect: onInstance}),
		gl.WithCustomLimiter(g),
		gl.WithCustomBackoff(g.backoff),
		gl.WithCustomRetryMax(maxRetries),
		gl.WithURLWarningLogger(slog.New(slog.DiscardHandler)),
	)
}

// onInstance refuses a redirect off the instance: the token travels in
// PRIVATE-TOKEN, which net/http does not strip on a redirect to another
// host (only Authorization and cookies), so following it would hand the
// token to that host.
func onInstance(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if !strings.EqualFold(req.URL.Host, first.Host) || req.URL.Scheme != first.Scheme {
		return fmt.Errorf("gitlab: redirect from %s to another host (%s) refused: the token would follow it", first.Host, req.URL.Host)
	}
	if len(via) >= 10 {
		return errors.New("gitlab: stopped after 10 redirects")
	}
	return nil
}

// gate holds requests while GitLab says none is left, and computes the
// waits before retries.
type gate struct {
	log        func(string)
	now        func() time.Time
	serverWait time.Duration

	mu        sync.Mutex
	until     time.Time // no request before this
	announced time.Time
}

// Wait implements the client's RateLimiter: it returns once the window
// GitLab announced is over.
func (g *gate) Wait(ctx context.Context) error {
	g.mu.Lock()
	d := g.until.Sub(g.now())
	g.mu.Unlock()
	return reposweep.Sleep(ctx, d)
}

// observe notes a RateLimit-Remaining of 0.
func (g *gate) observe(resp *http.Response) {
	if resp.StatusCode == http.StatusTooManyRequests || resp.Header.Get("RateLimit-Remaining") != "0" {
		// A 429 waits in backoff, which says why.
		return
	}
	reset, ok := resetTime(resp.Header)
	if !ok {
		return
	}
	g.mu.Lock()
	if reset.After(g.until) {
		g.until = reset
	}
	g.mu.Unlock()
	g.announce("no request left", what(resp), reset)
}

func resetTime(h http.Header) (time.Time, bool) {
	secs, err := strconv.ParseInt(h.Get("RateLimit-Reset"), 10, 64)
	if err != nil || secs <= 0 {
		return time.Time{}, false
	}
	return time.Unix(secs, 0), true
}

func what(resp *http.Response) string {
	if resp.Request == nil || resp.Request.URL == nil {
		return "API"
	}
	return resp.Request.URL.Path
}

// backoff is the client's wait before retry attemptNum of a request
// answered with resp: Retry-After, or RateLimit-Reset, for a 429; a
// doubling wait for a server error.
func (g *gate) backoff(_, _ time.Duration, attemptNum int, resp *http.Response) time.Duration {
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		return min(g.serverWait<<min(attemptNum, 6), time.Minute)
	}
	d := time.Duration(1<<min(attemptNum, 6)) * time.Second
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		d = time.Duration(s) * time.Second
	} else if reset, ok := resetTime(resp.Header); ok {
		d = max(reset.Sub(g.now()), 0) + time.Second
	}
	g.announce("429 Too Many Requests", what(resp), g.now().Add(d))
	return d
}

// announce logs a wait, once for all the requests that hit the same one.
func (g *gate) announce(why, path string, until time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !until.After(g.announced.Add(time.Second)) {
		return
	}
	g.announced = until
	if g.log != nil {
		g.log(fmt.Sprintf("GitLab rate limit reached (%s, %s): waiting until %s (%s)",
			why, path, until.Format("15:04:05 MST"), time.Until(until).Round(time.Second)))
	}
}

// observer passes every answer's headers to the gate.
type observer struct {
	base http.RoundTripper
	gate *gate
}

func (o *observer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := o.base.RoundTrip(r)
	if err == nil {
		o.gate.observe(resp)
	}
	return resp, err
}
