package github

import (
	"context"
	"net/url"
	"path"
	"strings"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/reposweep"
)

// Wiki is the wiki of a repository: a git repository of its own,
// OWNER/NAME.wiki.git, each page a file (Page-Name.md) and each edit a
// commit by the user who made it.
type Wiki struct {
	Repo Repo
}

// SweepRepo makes Wiki a reposweep.Item, named "OWNER/NAME.wiki" in
// findings, errors and the resume state.
func (w Wiki) SweepRepo() reposweep.Repo {
	r := w.Repo
	return reposweep.Repo{
		FullName: r.FullName + ".wiki",
		Owner:    r.Owner,
		Name:     r.Name + ".wiki",
		HTMLURL:  strings.TrimSuffix(r.HTMLURL, "/") + "/wiki",
		CloneURL: strings.TrimSuffix(r.CloneURL, ".git") + ".wiki.git",
	}
}

// WikiOptions configure a wiki sweep.
type WikiOptions struct {
	Client *gh.Client
	Target Target
	Filter Filter
	Shard  Shard
	// Token authenticates git clones; reading a wiki needs no more than
	// reading its repository.
	Token string
	// Scan scans one clone's history (HistoryScanner). Required.
	Scan  reposweep.ScanFunc[Wiki]
	Run   reposweep.Run[Wiki]
	sleep func(context.Context, time.Duration) error // tests
}

// WikiSweep is a source of the chunks of every revision of the wikis of
// the target's repositories (listed, filtered and sharded as a repository
// sweep lists them). A repository whose wiki is turned off (has_wiki
// false) is not listed; one whose wiki has no page (GitHub answers the
// clone with 404 while has_wiki says true, the default) is counted empty,
// without an error. A finding links to the wiki page
// (https://github.com/OWNER/NAME/wiki/Page-Name) and names the commit's
// author. It calls yield from several goroutines at once.
type WikiSweep struct {
	opts WikiOptions
	lim  *limiter
	*reposweep.Sweep[Wiki]
}

var _ sources.Source = (*WikiSweep)(nil)

// NewWikiSweep returns a wiki sweep.
func NewWikiSweep(opts WikiOptions) *WikiSweep {
	s := &WikiSweep{opts: opts, lim: newLimiter(opts.Run.Log, opts.sleep)}
	s.Sweep = reposweep.New(reposweep.Options[Wiki]{
		List:     s.List,
		Token:    opts.Token,
		Hosts:    CloneHosts(opts.Client),
		Optional: true,
		Scan: relinked(opts.Scan, func(w Wiki, o location.Location) string {
			return wikiLink(w.SweepRepo().HTMLURL, o)
		}),
		Run: opts.Run,
	})
	return s
}

// wikiLink links a wiki file to its page, BASE/Page-Name: GitHub names a
// page after its file, without the directory or the extension. A commit
// message links to the wiki's history.
func wikiLink(base string, o location.Location) string {
	switch {
	case o.Kind == "commit-message":
		return base + "/_history"
	case o.Path != "" && o.Kind == "":
		p := o.Path
		if o.Archive != "" {
			p = o.Archive
		}
		name := path.Base(p)
		if ext := path.Ext(name); ext != "" && ext != name {
			name = strings.TrimSuffix(name, ext)
		}
		return base + "/" + url.PathEscape(name)
	}
	return base
}

// List lists the repositories of the target whose wiki is on.
func (s *WikiSweep) List(ctx context.Context) ([]Wiki, error) {
	l := &Lister{Client: s.opts.Client, Target: s.opts.Target, Filter: s.opts.Filter, Shard: s.opts.Shard, lim: s.lim}
	repos, err := l.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Wiki
	for _, r := range repos {
		if r.HasWiki {
			out = append(out, Wiki{Repo: r})
		}
	}
	return out, nil
}
