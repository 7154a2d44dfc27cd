package reposweep

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Hosts pin the clone URLs a sweep accepts to the hosts it was configured
// for. A clone URL comes from an API answer (GitHub's clone_url and
// git_pull_url, GitLab's http_url_to_repo), and an answer is hostile
// input: one naming another host would get the token (git sends it to
// whatever host the URL names), and one naming another transport
// ("ext::sh -c …", "file:///…", "ssh://-oProxyCommand=…") would have git
// run a command or read the local disk. So a clone URL must be http(s),
// carry no user or password, and name one of the hosts exactly (host and
// port); the scheme must be https unless the host itself was configured
// with http (a test fake, a private instance), never a downgrade.
type Hosts struct {
	allowed []*url.URL
}

// PinHosts returns the Hosts of bases, each "scheme://host[:port]" (a
// path, if any, is ignored). It fails on a base that is not an absolute
// http(s) URL.
func PinHosts(bases ...string) (Hosts, error) {
	var h Hosts
	for _, b := range bases {
		u, err := url.Parse(b)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Hosts{}, fmt.Errorf("clone host %q: want http(s)://host[:port]", b)
		}
		h.allowed = append(h.allowed, &url.URL{Scheme: u.Scheme, Host: strings.ToLower(u.Host)})
	}
	return h, nil
}

// String lists the hosts, for messages.
func (h Hosts) String() string {
	var s []string
	for _, u := range h.allowed {
		s = append(s, u.String())
	}
	return strings.Join(s, ", ")
}

// Check returns nil when raw is a clone URL on one of the hosts, or an
// error saying why it is refused.
func (h Hosts) Check(raw string) error {
	shown := strconv.Quote(raw) // quoted: no terminal escape gets through
	if len(h.allowed) == 0 {
		return fmt.Errorf("clone URL %s refused: no clone host configured", shown)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("clone URL %s refused: %w", shown, errors.Unwrap(err))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("clone URL %s refused: scheme %s, want https", shown, strconv.Quote(u.Scheme))
	case u.Opaque != "" || u.Host == "":
		return fmt.Errorf("clone URL %s refused: no host", shown)
	case u.User != nil:
		return fmt.Errorf("clone URL %s refused: it carries a user name", shown)
	}
	host := strings.ToLower(u.Host)
	for _, a := range h.allowed {
		if host != a.Host {
			continue
		}
		if u.Scheme == "http" && a.Scheme != "http" {
			return fmt.Errorf("clone URL %s refused: http to a host configured with https", shown)
		}
		return nil
	}
	return fmt.Errorf("clone URL %s refused: host %s is not the API's (%s)", shown, strconv.Quote(u.Host), h)
}
