// Package github sweeps GitHub organizations, users and repositories for
// keys: it lists repositories through the REST API (go-github), filters and
// shards them, clones each with the git CLI and hands the clone to a history
// scanner (the git source), streaming chunks whose Origin names the
// repository and links to the file on GitHub. A second, fast mode searches
// the default branches with GitHub code search and fetches each matched file.
//
// Rate limits are honoured: a request refused by the primary or a secondary
// limit waits (saying until when) and is retried; an answer asking for a
// wait longer than maxLimitWait is reported instead. A repository that cannot
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

// maxLimitWait is the longest wait bks sits out for a rate limit:
// GitHub's primary limits reset within the hour they count and its
// secondary limits ask for a minute or so; 5 minutes over the hour allow
// for clock skew. An answer asking for longer (an X-RateLimit-Reset years
// ahead, a Retry-After past what a time.Duration holds: a broken or
// hostile server) is reported, not waited out: maxLimitRetries such
// waits would park the sweep for days.
const maxLimitWait = time.Hour + 5*time.Minute

// waitTooLongError is a rate limit's wait longer than maxLimitWait.
type waitTooLongError struct{ secs int64 }

func (e *waitTooLongError) Error() string {
	return fmt.Sprintf("GitHub asks to wait %d s, more than bks waits (%s)", e.secs, maxLimitWait)
}

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
		wait, kind, werr := l.rateLimitWait(err, resp, limits)
		switch {
		case werr != nil:
			return fmt.Errorf("%w (%v)", err, werr)
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
	_, kind, _ := l.rateLimitWait(err, nil, 0)
	return kind != ""
}

func isServerError(resp *gh.Response) bool {
	return resp != nil && resp.Response != nil && resp.StatusCode >= 500
}

// rateLimitWait says how long to wait before retrying after err, and which
// limit refused the request ("" when none did); werr when the wait asked
// for is longer than bks waits. n is how many limit waits this request
// has already had. Every wait comes from limitWait.
func (l *limiter) rateLimitWait(err error, resp *gh.Response, n int) (wait time.Duration, kind string, werr error) {
	now := l.now()
	var rl *gh.RateLimitError
	if errors.As(err, &rl) {
		// go-github refuses a request itself, with no headers, until
		// a reset it saw: its parsed reset then.
		h := header(rl.Response)
		reset := h.Get("X-RateLimit-Reset")
		if reset == "" && !rl.Rate.Reset.Time.IsZero() {
			reset = strconv.FormatInt(rl.Rate.Reset.Unix(), 10)
		}
		wait, werr = limitWait(h.Get("Retry-After"), reset, now, n)
		return wait, "primary", werr
	}
	var gl *graphQLLimitError
	if errors.As(err, &gl) {
		// A 200 refused by a rate limit (https://docs.github.com/en/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api#exceeding-the-rate-limit).
		kind = "primary"
		if gl.secondary {
			kind = "secondary"
		}
		var h http.Header
		if resp != nil {
			h = header(resp.Response)
		}
		wait, werr = limitWait(h.Get("Retry-After"), spentReset(h), now, n)
		return wait, kind, werr
	}
	var abuse *gh.AbuseRateLimitError
	if errors.As(err, &abuse) {
		h := header(abuse.Response)
		ra, reset := h.Get("Retry-After"), spentReset(h)
		if ra == "" && reset == "" && abuse.RetryAfter != nil && *abuse.RetryAfter > 0 {
			// go-github's own refusal until a Retry-After it saw.
			secs := *abuse.RetryAfter / time.Second
			if *abuse.RetryAfter%time.Second != 0 {
				secs++
			}
			ra = strconv.FormatInt(int64(secs), 10)
		}
		wait, werr = limitWait(ra, reset, now, n)
		return wait, "secondary", werr
	}
	// 429 Too Many Requests, which go-github v62 does not classify.
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusTooManyRequests {
		h := er.Response.Header
		wait, werr = limitWait(h.Get("Retry-After"), spentReset(h), now, n)
		return wait, "secondary", werr
	}
	return 0, "", nil
}

func header(r *http.Response) http.Header {
	if r == nil {
		return nil
	}
	return r.Header
}

// spentReset is X-RateLimit-Reset when X-RateLimit-Remaining is 0: past
// a secondary limit, "if the x-ratelimit-remaining header is 0, you
// should not retry your request until after the time specified by the
// x-ratelimit-reset header"
// (https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#handle-rate-limit-errors-appropriately).
func spentReset(h http.Header) string {
	if h.Get("X-RateLimit-Remaining") != "0" {
		return ""
	}
	return h.Get("X-RateLimit-Reset")
}

// limitWait is the wait before retrying a request refused by a rate
// limit, from its answer's headers: retryAfter (Retry-After, seconds;
// doubled for each of the request's n earlier waits, backoff) when it is
// a number >= 0; else until reset (X-RateLimit-Reset, seconds since the
// epoch; "" when it does not apply) and limitBuffer; else a minute
// doubled n times. A wait asked for over maxLimitWait is an error:
// header values are compared in seconds before any multiplication, so
// none overflows a time.Duration.
func limitWait(retryAfter, reset string, now time.Time, n int) (time.Duration, error) {
	const maxSecs = int64(maxLimitWait / time.Second)
	if secs, err := strconv.ParseInt(retryAfter, 10, 64); err == nil && secs >= 0 {
		if secs > maxSecs {
			return 0, &waitTooLongError{secs}
		}
		return backoff(time.Duration(secs)*time.Second, n), nil
	}
	if epoch, err := strconv.ParseInt(reset, 10, 64); err == nil {
		nowSecs := now.Unix()
		if epoch <= nowSecs {
			return limitBuffer, nil
		}
		if epoch-nowSecs > maxSecs { // no overflow: epoch > nowSecs
			return 0, &waitTooLongError{epoch - nowSecs}
		}
		return max(time.Unix(epoch, 0).Sub(now), 0) + limitBuffer, nil
	}
	return backoff(secondaryDefault, n), nil
}

// backoff doubles d for each earlier wait of the same request, up to an
// hour, never below d.
func backoff(d time.Duration, n int) time.Duration {
	w := d
	for range min(n, 6) {
		w *= 2
	}
	return max(min(w, time.Hour), d)
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
