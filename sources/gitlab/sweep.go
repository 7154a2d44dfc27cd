package gitlab

import (
	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/bks-dev/bks/sources/reposweep"
)

// GitUser is the user name git sends with the token; GitLab takes any
// non-blank one with a personal, group or project access token, and
// "oauth2" with an OAuth token
// (https://docs.gitlab.com/user/profile/personal_access_tokens/).
const GitUser = "oauth2"

// CloneHosts are the hosts a sweep through c may clone from: the
// instance's own (the API's host). A project's or a snippet's
// http_url_to_repo naming any other host is refused (reposweep.Hosts).
func CloneHosts(c *gl.Client) reposweep.Hosts {
	u := c.BaseURL()
	h, _ := reposweep.PinHosts(u.Scheme + "://" + u.Host) // an error leaves none: every clone refused
	return h
}

// Options configure a sweep.
type Options struct {
	Client *gl.Client
	Token  string // for git clones; the client carries its own
	Target Target
	Shard  reposweep.Shard
	Scan   reposweep.ScanFunc[reposweep.Repo]
	reposweep.Run[reposweep.Repo]

	perPage int // tests
}

// NewSweep returns a sweep of the target's projects (and snippets).
func NewSweep(o Options) *reposweep.Sweep[reposweep.Repo] {
	l := &Lister{Client: o.Client, Target: o.Target, Shard: o.Shard, OnError: o.OnError, perPage: o.perPage}
	return reposweep.New(reposweep.Options[reposweep.Repo]{
		List:    l.List,
		Scan:    o.Scan,
		Token:   o.Token,
		GitUser: GitUser,
		Links:   Links,
		Hosts:   CloneHosts(o.Client),
		Run:     o.Run,
	})
}
