// Package github sweeps GitHub organizations, users and repositories for
// keys: it lists repositories through the REST API (go-github), filters and
// shards them, clones each with the git CLI and hands the clone to a history
// scanner (the git source), streaming chunks whose Origin names the
// repository and links to the file on GitHub. A second, fast mode searches
// the default branches with GitHub code search and fetches each matched file.
//
// Rate limits are honoured: a request refused by the primary or a secondary
// limit waits (saying until when) and is retried. A repository that cannot
// be cloned or scanned is reported through the error handler and never
// stops the sweep.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/bks-dev/bks/sources/reposweep"
)

// DefaultAPIURL is github.com's REST API.
const DefaultAPIURL = "https://api.github.com/"

// NewClient returns a go-github client for apiURL (DefaultAPIURL when
// empty). A GitHub Enterprise Server URL without a path gets "/api/v3/", as
// GHE serves its API there; any other URL is used as given, with a "/"
// added at the end. token may be empty (public data only, lower limits).
func NewClient(apiURL, token string, hc *http.Client) (*gh.Client, error) {
	c := gh.NewClient(hc)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	if apiURL == "" || apiURL == DefaultAPIURL {
		return c, nil
	}
	u, err := url.Parse(apiURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("github: API URL %q: want http(s)://host[/path]", apiURL)
	}
	if u.Path == "" || u.Path == "/" {
		if !strings.HasPrefix(u.Host, "api.") {
			u.Path = "/api/v3/"
		}
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	c.BaseURL = u
	c.UploadURL = u
	return c, nil
}

// limiter retries GitHub calls refused by a rate limit, waiting as GitHub
// asks, and tells the user once per wait until when.
type limiter struct {
	log   func(string)
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time

	mu        sync.Mutex
	announced time.Time // the end of the last wait announced
}

func newLimiter(log func(string), sleep func(context.Context, time.Duration) error) *limiter {
	if sleep == nil {
		sleep = sleepCtx
	}
	return &limiter{log: log, sleep: sleep, now: time.Now}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Retry limits: waits for a secondary limit double each time (from the
// wait GitHub asks for, or a minute); transient server errors are retried
// a few times.
const (
	maxLimitRetries  = 12
	maxServerRetries = 3
	secondaryDefault = time.Minute
	limitBuffer      = time.Second
)

// call runs fn until it succeeds, fails for a reason other than a rate
// limit or a transient server error, or ctx is done. what names the
// request in messages.
func (l *limiter) call(ctx context.Context, what string, fn func() (*gh.Response, error)) error {
	limits, server := 0, 0
	for {
		resp, err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait, kind := l.rateLimitWait(err, resp, limits)
		switch {
		case kind != "" && limits < maxLimitRetries:
			limits++
			l.announce(kind, what, wait)
		case kind == "" && isServerError(resp) && server < maxServerRetries:
			server++
			wait = time.Duration(1<<server) * 500 * time.Millisecond
		default:
			return err
		}
		if err := l.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// isRateLimit says whether err is a rate limit's refusal.
func (l *limiter) isRateLimit(err error) bool {
	_, kind := l.rateLimitWait(err, nil, 0)
	return kind != ""
}

func isServerError(resp *gh.Response) bool {
	return resp != nil && resp.Response != nil && resp.StatusCode >= 500
}

// rateLimitWait says how long to wait before retrying after err, and which
// limit refused the request ("" when none did). n is how many limit waits
// this request has already had.
func (l *limiter) rateLimitWait(err error, resp *gh.Response, n int) (time.Duration, string) {
	now := l.now()
	var rl *gh.RateLimitError
	if errors.As(err, &rl) {
		reset := rl.Rate.Reset.Time
		if reset.IsZero() {
			return secondaryDefault, "primary"
		}
		return max(reset.Sub(now), 0) + limitBuffer, "primary"
	}
	var gl *graphQLLimitError
	if errors.As(err, &gl) {
		return graphQLLimitWait(gl, resp, now, n)
	}
	var abuse *gh.AbuseRateLimitError
	if errors.As(err, &abuse) {
		d := secondaryDefault
		if abuse.RetryAfter != nil && *abuse.RetryAfter > 0 {
			d = *abuse.RetryAfter
		}
		return backoff(d, n), "secondary"
	}
	// 429 Too Many Requests, which go-github v62 does not classify.
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusTooManyRequests {
		d := secondaryDefault
		if s := er.Response.Header.Get("Retry-After"); s != "" {
			if secs, perr := strconv.Atoi(s); perr == nil && secs >= 0 {
				d = time.Duration(secs) * time.Second
			}
		} else if s := er.Response.Header.Get("X-RateLimit-Reset"); s != "" {
			if epoch, perr := strconv.ParseInt(s, 10, 64); perr == nil {
				d = max(time.Unix(epoch, 0).Sub(now), 0) + limitBuffer
			}
		}
		return backoff(d, n), "secondary"
	}
	return 0, ""
}

// graphQLLimitWait is the wait GitHub asks for after a GraphQL answer
// refused by a rate limit with a 200: a retry-after header says how long;
// else x-ratelimit-remaining 0 says until x-ratelimit-reset; else a
// secondary limit waits a minute, doubling at each retry
// (https://docs.github.com/en/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api#exceeding-the-rate-limit).
func graphQLLimitWait(gl *graphQLLimitError, resp *gh.Response, now time.Time, n int) (time.Duration, string) {
	kind := "primary"
	if gl.secondary {
		kind = "secondary"
	}
	if resp == nil || resp.Response == nil {
		return backoff(secondaryDefault, n), kind
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs >= 0 {
			return backoff(time.Duration(secs)*time.Second, n), kind
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" && !resp.Rate.Reset.Time.IsZero() {
		return max(resp.Rate.Reset.Time.Sub(now), 0) + limitBuffer, kind
	}
	return backoff(secondaryDefault, n), kind
}

// backoff doubles d for each earlier wait of the same request, up to an
// hour.
func backoff(d time.Duration, n int) time.Duration {
	for range min(n, 6) {
		d *= 2
	}
	return min(d, time.Hour)
}

// announce logs a wait, once for all the workers that hit the same limit.
func (l *limiter) announce(kind, what string, wait time.Duration) {
	until := l.now().Add(wait)
	l.mu.Lock()
	defer l.mu.Unlock()
	if !until.After(l.announced.Add(limitBuffer)) {
		return
	}
	l.announced = until
	if l.log != nil {
		l.log(fmt.Sprintf("GitHub %s rate limit reached (%s): waiting until %s (%s)",
			kind, what, until.Format("15:04:05 MST"), wait.Round(time.Second)))
	}
}

// CloneHosts are the hosts a sweep through c may clone from: the API's
// own (GitHub Enterprise Server serves git, gists included, on the API's
// host), and for an API at api.HOST (github.com's api.github.com,
// GHE.com's api.SUBDOMAIN.ghe.com) HOST and gist.HOST. A clone URL of an
// API answer naming any other host is refused (reposweep.Hosts).
func CloneHosts(c *gh.Client) reposweep.Hosts {
	u := c.BaseURL
	bases := []string{u.Scheme + "://" + u.Host}
	if rest, ok := strings.CutPrefix(strings.ToLower(u.Host), "api."); ok && rest != "" {
		bases = append(bases, u.Scheme+"://"+rest, u.Scheme+"://gist."+rest)
	}
	h, _ := reposweep.PinHosts(bases...) // c.BaseURL is absolute; an error leaves none: every clone refused
	return h
}
