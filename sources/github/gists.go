package github

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/reposweep"
)

// Gist is one gist to sweep: a git repository whose history holds every
// revision.
type Gist struct {
	ID, Owner string
	HTMLURL   string // https://gist.github.com/OWNER/ID
	CloneURL  string // git_pull_url
}

// SweepRepo makes Gist a reposweep.Item, named "gist:OWNER/ID" in findings,
// errors and the resume state.
func (g Gist) SweepRepo() reposweep.Repo {
	return reposweep.Repo{FullName: "gist:" + g.Owner + "/" + g.ID, Owner: g.Owner, Name: g.ID, HTMLURL: g.HTMLURL, CloneURL: g.CloneURL}
}

// GistOptions configure a gist sweep.
type GistOptions struct {
	Client *gh.Client
	// Users whose gists are swept; Orgs: the gists of each member.
	Users, Orgs []string
	Shard       Shard
	// Token authenticates git clones.
	Token string
	// Scan scans one clone's history (HistoryScanner). Required.
	Scan  reposweep.ScanFunc[Gist]
	Run   reposweep.Run[Gist]
	sleep func(context.Context, time.Duration) error // tests
}

// GistSweep is a source of the chunks of every revision of the gists of
// users (or of an organization's members). A finding links to the gist at
// the revision (https://gist.github.com/OWNER/ID/SHA). A gist that cannot
// be cloned (deleted since it was listed) is reported and the sweep goes
// on. It calls yield from several goroutines at once.
type GistSweep struct {
	opts GistOptions
	lim  *limiter
	*reposweep.Sweep[Gist]
}

var _ sources.Source = (*GistSweep)(nil)

// NewGistSweep returns a gist sweep.
func NewGistSweep(opts GistOptions) *GistSweep {
	s := &GistSweep{opts: opts, lim: newLimiter(opts.Run.Log, opts.sleep)}
	s.Sweep = reposweep.New(reposweep.Options[Gist]{
		List:  s.List,
		Token: opts.Token,
		Hosts: CloneHosts(opts.Client),
		// A gist's files link to the revision, not to a path below it:
		// set the link before the sweep would build a blob link.
		Scan: relinked(opts.Scan, func(g Gist, o location.Location) string {
			if o.Commit == "" {
				return o.HTMLURL
			}
			return strings.TrimSuffix(g.HTMLURL, "/") + "/" + o.Commit
		}),
		Run: opts.Run,
	})
	return s
}

// relinked wraps scan so that each chunk's origin links where link says
// (its HTMLURL), set before the sweep would build a blob link; an origin is
// copied once, not once per chunk. Gists and wikis link their own way.
func relinked[R reposweep.Item](scan reposweep.ScanFunc[R], link func(R, location.Location) string) reposweep.ScanFunc[R] {
	return func(ctx context.Context, dir string, r R, split sources.Chunker, yield func(sources.Chunk) error) error {
		var last, linked *location.Location
		return scan(ctx, dir, r, split, func(c sources.Chunk) error {
			if c.Origin != last || linked == nil {
				last = c.Origin
				o := *c.Origin
				o.HTMLURL = link(r, o)
				linked = &o
			}
			c.Origin = linked
			return yield(c)
		})
	}
}

// List lists the gists of the users and of the organizations' members.
func (s *GistSweep) List(ctx context.Context) ([]Gist, error) {
	users := append([]string(nil), s.opts.Users...)
	for _, org := range s.opts.Orgs {
		err := pages(ctx, s.lim, "list members of "+org, func(lo gh.ListOptions) ([]*gh.User, *gh.Response, error) {
			return s.opts.Client.Organizations.ListMembers(ctx, org, &gh.ListMembersOptions{ListOptions: lo})
		}, func(u *gh.User) error {
			users = append(users, u.GetLogin())
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("github: %w", err)
		}
	}
	seen := map[string]bool{}
	var out []Gist
	for _, u := range users {
		err := pages(ctx, s.lim, "list gists of "+u, func(lo gh.ListOptions) ([]*gh.Gist, *gh.Response, error) {
			return s.opts.Client.Gists.List(ctx, u, &gh.GistListOptions{ListOptions: lo})
		}, func(g *gh.Gist) error {
			x := Gist{ID: g.GetID(), Owner: g.GetOwner().GetLogin(), HTMLURL: g.GetHTMLURL(), CloneURL: g.GetGitPullURL()}
			if x.Owner == "" {
				x.Owner = u
			}
			name := x.SweepRepo().FullName
			if !seen[name] && s.opts.Shard.Has(name) {
				seen[name] = true
				out = append(out, x)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("github: %w", err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
