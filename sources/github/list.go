package github

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	gh "github.com/google/go-github/v62/github"

	"github.com/bks-dev/bks/sources/reposweep"
)

// Repo is one repository to sweep.
type Repo struct {
	FullName      string // "owner/name"
	Owner, Name   string
	HTMLURL       string
	CloneURL      string
	DefaultBranch string
	Fork          bool
	Archived      bool
	Private       bool
	Visibility    string // public, private, internal
	Topics        []string
	SizeKB        int
	HasWiki       bool
}

func repoFrom(r *gh.Repository) Repo {
	out := Repo{
		FullName:      r.GetFullName(),
		Owner:         r.GetOwner().GetLogin(),
		Name:          r.GetName(),
		HTMLURL:       r.GetHTMLURL(),
		CloneURL:      r.GetCloneURL(),
		DefaultBranch: r.GetDefaultBranch(),
		Fork:          r.GetFork(),
		Archived:      r.GetArchived(),
		Private:       r.GetPrivate(),
		Visibility:    r.GetVisibility(),
		Topics:        r.Topics,
		SizeKB:        r.GetSize(),
		HasWiki:       r.GetHasWiki(),
	}
	if out.Owner == "" || out.Name == "" {
		if o, n, ok := strings.Cut(out.FullName, "/"); ok {
			out.Owner, out.Name = o, n
		}
	}
	if out.Visibility == "" {
		out.Visibility = "public"
		if out.Private {
			out.Visibility = "private"
		}
	}
	return out
}

// Filter selects repositories from a listing. Repositories named with
// Target.Repos are taken whatever the filter says.
type Filter struct {
	Forks      bool   // include forks (skipped by default)
	Archived   bool   // include archived repositories
	Visibility string // "", "all", "public", "private", "internal"
	// Include and Exclude are globs (path.Match, case-insensitive) on the
	// repository name, or on "owner/name" when they contain a "/". A
	// repository is taken when it matches some Include (or there is none)
	// and no Exclude.
	Include, Exclude []string
	// Topics: take only repositories with at least one of these topics.
	Topics []string
}

// Validate checks the globs and the visibility.
func (f Filter) Validate() error {
	switch f.Visibility {
	case "", "all", "public", "private", "internal":
	default:
		return fmt.Errorf("visibility %q: want all, public, private or internal", f.Visibility)
	}
	for _, g := range append(append([]string(nil), f.Include...), f.Exclude...) {
		if _, err := path.Match(strings.ToLower(g), ""); err != nil {
			return fmt.Errorf("repository glob %q: %w", g, err)
		}
	}
	return nil
}

// Match says whether the filter takes r.
func (f Filter) Match(r Repo) bool {
	if r.Fork && !f.Forks {
		return false
	}
	if r.Archived && !f.Archived {
		return false
	}
	if f.Visibility != "" && f.Visibility != "all" && !strings.EqualFold(f.Visibility, r.Visibility) {
		return false
	}
	if len(f.Include) > 0 && !matchAny(f.Include, r) {
		return false
	}
	if matchAny(f.Exclude, r) {
		return false
	}
	if len(f.Topics) > 0 {
		found := false
		for _, want := range f.Topics {
			for _, t := range r.Topics {
				if strings.EqualFold(want, t) {
					found = true
				}
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func matchAny(globs []string, r Repo) bool {
	for _, g := range globs {
		g = strings.ToLower(g)
		subject := strings.ToLower(r.Name)
		if strings.Contains(g, "/") {
			subject = strings.ToLower(r.FullName)
		}
		if ok, _ := path.Match(g, subject); ok {
			return true
		}
	}
	return false
}

// Shard is one part of a deterministic partition of the repositories
// (reposweep.Shard, the one every host shares).
type Shard reposweep.Shard

// ParseShard reads "I/N" with 0 <= I < N.
func ParseShard(s string) (Shard, error) {
	sh, err := reposweep.ParseShard(s)
	return Shard(sh), err
}

// Has says whether the repository fullName belongs to the shard. The zero
// Shard holds every repository.
func (s Shard) Has(fullName string) bool { return reposweep.Shard(s).Has(fullName) }

func (s Shard) String() string { return reposweep.Shard(s).String() }

// Target says which repositories to list.
type Target struct {
	Orgs  []string
	Users []string
	Repos []string // "owner/name"
}

func (t Target) empty() bool { return len(t.Orgs)+len(t.Users)+len(t.Repos) == 0 }

// perPage is the page size asked for (GitHub's maximum).
const perPage = 100

// Lister lists repositories.
type Lister struct {
	Client *gh.Client
	Target Target
	Filter Filter
	Shard  Shard
	lim    *limiter
}

// List returns the repositories of the target that pass the filter and
// fall in the shard, sorted by full name, each once. Every page of every
// listing is read.
func (l *Lister) List(ctx context.Context) ([]Repo, error) {
	if l.Target.empty() {
		return nil, fmt.Errorf("github: nothing to list: give an organization, a user or a repository")
	}
	if err := l.Filter.Validate(); err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	lim := l.lim
	if lim == nil {
		lim = newLimiter(nil, nil)
	}
	seen := map[string]bool{}
	var out []Repo
	add := func(r Repo, filtered bool) {
		k := strings.ToLower(r.FullName)
		if seen[k] || (filtered && !l.Filter.Match(r)) || !l.Shard.Has(r.FullName) {
			return
		}
		seen[k] = true
		out = append(out, r)
	}
	for _, org := range l.Target.Orgs {
		opt := &gh.RepositoryListByOrgOptions{Type: "all", ListOptions: gh.ListOptions{PerPage: perPage}}
		for {
			var page []*gh.Repository
			var resp *gh.Response
			err := lim.call(ctx, "list repositories of "+org, func() (*gh.Response, error) {
				var err error
				page, resp, err = l.Client.Repositories.ListByOrg(ctx, org, opt)
				return resp, err
			})
			if err != nil {
				return nil, fmt.Errorf("github: list repositories of organization %s (page %d): %w", org, max(opt.Page, 1), err)
			}
			for _, r := range page {
				add(repoFrom(r), true)
			}
			if resp.NextPage == 0 {
				break
			}
			opt.Page = resp.NextPage
		}
	}
	for _, user := range l.Target.Users {
		opt := &gh.RepositoryListByUserOptions{Type: "owner", ListOptions: gh.ListOptions{PerPage: perPage}}
		for {
			var page []*gh.Repository
			var resp *gh.Response
			err := lim.call(ctx, "list repositories of "+user, func() (*gh.Response, error) {
				var err error
				page, resp, err = l.Client.Repositories.ListByUser(ctx, user, opt)
				return resp, err
			})
			if err != nil {
				return nil, fmt.Errorf("github: list repositories of user %s (page %d): %w", user, max(opt.Page, 1), err)
			}
			for _, r := range page {
				add(repoFrom(r), true)
			}
			if resp.NextPage == 0 {
				break
			}
			opt.Page = resp.NextPage
		}
	}
	for _, full := range l.Target.Repos {
		owner, name, ok := strings.Cut(full, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("github: repository %q: want OWNER/NAME", full)
		}
		var r *gh.Repository
		err := lim.call(ctx, "get repository "+full, func() (*gh.Response, error) {
			var resp *gh.Response
			var err error
			r, resp, err = l.Client.Repositories.Get(ctx, owner, name)
			return resp, err
		})
		if err != nil {
			return nil, fmt.Errorf("github: get repository %s: %w", full, err)
		}
		add(repoFrom(r), false)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].FullName) < strings.ToLower(out[j].FullName) })
	return out, nil
}
