// Package huggingface sweeps the Hugging Face Hub for keys: the models,
// datasets and Spaces of organizations and users, or named ones. Each is a
// git repository on the Hub; the shared sweep machinery
// (sources/reposweep) clones it and scans its whole history, and the files
// kept in Git LFS (weights, archives, but also the odd .env) are fetched
// through the LFS batch API and scanned too, up to a size cap per object
// and a number of objects per repository: what goes over is counted and
// said, never silently dropped. Findings link to the file on the Hub
// (…/blob/C/path).
//
// The Hub API is plain JSON over HTTP (https://huggingface.co/docs/hub/api):
// GET /api/{models,datasets,spaces}?author=A lists an author's
// repositories, paging through the Link header's rel="next" as GitHub does
// (huggingface_hub's utils/_pagination.py follows the same header), and
// GET /api/{kind}s/{id} describes one. A 429 is waited out (Retry-After),
// a 5xx retried a few times.
package huggingface

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bks-dev/bks/sources/reposweep"
)

// DefaultEndpoint is the Hub.
const DefaultEndpoint = "https://huggingface.co"

// Client talks to the Hub API.
type Client struct {
	endpoint *url.URL
	token    string
	hc       *http.Client
	// Log receives rate-limit waits.
	Log func(string)

	sleep      func(context.Context, time.Duration) error
	serverWait time.Duration
	mu         sync.Mutex
	announced  time.Time
}

// NewClient returns a client of the Hub at endpoint (DefaultEndpoint when
// empty; the API is under /api). token may be empty: public
// repositories only.
func NewClient(endpoint, token string, hc *http.Client) (*Client, error) {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	u, err := url.Parse(strings.TrimSuffix(endpoint, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("huggingface: endpoint %q: want http(s)://host", endpoint)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api")
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{endpoint: u, token: token, hc: hc, sleep: reposweep.Sleep, serverWait: time.Second}, nil
}

// cloneHosts are the hosts a sweep may clone from: the Hub's own (the
// sweep builds each clone URL on the endpoint; the pin holds whatever the
// listing names).
func (c *Client) cloneHosts() reposweep.Hosts {
	h, _ := reposweep.PinHosts(c.endpoint.Scheme + "://" + c.endpoint.Host) // an error leaves none: every clone refused
	return h
}

// Token is the token the client sends.
func (c *Client) Token() string { return c.token }

// Endpoint is the Hub's root URL, without a trailing "/".
func (c *Client) Endpoint() string { return c.endpoint.String() }

// APIError is an answer other than 200.
type APIError struct {
	Status  int
	Message string // the Hub's "error" field
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	switch e.Status {
	case http.StatusUnauthorized, http.StatusNotFound:
		// The Hub answers 401 "Repository not found" for a private
		// repository the token may not read as for a missing one.
		msg += " (it does not exist, or is private and the token has no access to it)"
	case http.StatusForbidden:
		msg += " (gated, or the token lacks the read permission)"
	}
	return msg
}

const (
	maxLimitRetries  = 8
	maxServerRetries = 3
)

// get fetches u (absolute) into v and returns the next page's URL from
// the Link header ("" on the last page).
func (c *Client) get(ctx context.Context, u string, v any) (next string, err error) {
	limits, server := 0, 0
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return "", err
		}
		// The token goes to the Hub's own host only: a page the answer
		// names elsewhere (its Link header) is fetched without it.
		if c.token != "" && sameHost(req.URL, c.endpoint) {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return "", err
		}
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if rerr != nil {
			return "", rerr
		}
		var wait time.Duration
		switch {
		case resp.StatusCode == http.StatusOK:
			if err := json.Unmarshal(body, v); err != nil {
				return "", fmt.Errorf("decode %s: %w", req.URL.Path, err)
			}
			return nextLink(resp.Header.Get("Link")), nil
		case resp.StatusCode == http.StatusTooManyRequests && limits < maxLimitRetries:
			limits++
			wait = retryAfter(resp.Header, limits)
			c.announce(req.URL.Path, wait)
		case resp.StatusCode >= 500 && server < maxServerRetries:
			server++
			wait = c.serverWait << (server - 1)
		default:
			var e struct {
				Error string `json:"error"`
			}
			_ = json.Unmarshal(body, &e)
			return "", &APIError{Status: resp.StatusCode, Message: e.Error}
		}
		if err := c.sleep(ctx, wait); err != nil {
			return "", err
		}
	}
}

// retryAfter is the wait a 429 asks for: Retry-After, or the t= of the
// RateLimit header the Hub sends ("api";r=0;t=55), or a doubling guess.
func retryAfter(h http.Header, n int) time.Duration {
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	for _, part := range strings.Split(h.Get("RateLimit"), ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
			if s, err := strconv.Atoi(v); err == nil && s >= 0 {
				return time.Duration(s) * time.Second
			}
		}
	}
	return time.Duration(1<<min(n, 6)) * time.Second
}

func (c *Client) announce(path string, wait time.Duration) {
	until := time.Now().Add(wait)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !until.After(c.announced.Add(time.Second)) {
		return
	}
	c.announced = until
	if c.Log != nil {
		c.Log(fmt.Sprintf("Hugging Face rate limit reached (%s): waiting until %s (%s)", path, until.Format("15:04:05 MST"), wait.Round(time.Second)))
	}
}

// nextLink returns the rel="next" URL of a Link header.
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		u, params, ok := strings.Cut(part, ";")
		if !ok {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && k == "rel" && strings.Trim(v, `"`) == "next" {
				return strings.Trim(strings.TrimSpace(u), "<>")
			}
		}
	}
	return ""
}
