package github

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gh "github.com/google/go-github/v62/github"
	"golang.org/x/sync/errgroup"

	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
)

// maxSearchResults is how many results GitHub code search returns for one
// query, at most.
const maxSearchResults = 1000

// SearchOptions configure a Search.
type SearchOptions struct {
	Client *gh.Client
	Target Target
	// Filter applies its name globs (the search results carry too little
	// to apply the rest); Shard partitions by repository as a sweep does.
	Filter Filter
	Shard  Shard
	// Terms are what code search looks for, one query per term and scope.
	// The caller gives them (bks uses detectors.SearchTerms: every key
	// family's terms): this package knows nothing about key shapes. GitHub's
	// code search matches whole tokens, not substrings, so a term is a part
	// of a key (or of its surroundings) that stands as a token. Required.
	Terms   []string
	Workers int // files fetched at once; 4 when 0
	OnError sources.ErrorHandler
	Log     func(string)
	// MaxFileSize skips (and reports) matched files larger than this.
	MaxFileSize int64
}

// Search is a source of the files GitHub code search finds with the key
// prefixes, within the target's organizations, users and repositories. It
// sees only the default branch of each repository, as indexed by GitHub,
// never history: it complements a sweep, it does not replace one. It calls
// yield from several goroutines at once.
type Search struct {
	opts SearchOptions
	lim  *limiter
}

var _ sources.Source = (*Search)(nil)

// NewSearch returns a code-search source.
func NewSearch(opts SearchOptions) *Search {
	return &Search{opts: opts, lim: newLimiter(opts.Log, nil)}
}

type searchHit struct {
	repo    Repo
	path    string
	blob    string
	commit  string
	htmlURL string
}

// Queries returns the code search queries for the target: one per term
// and per organization, user or repository.
func (s *Search) Queries() []string {
	terms := s.opts.Terms
	var scopes []string
	for _, o := range s.opts.Target.Orgs {
		scopes = append(scopes, "org:"+o)
	}
	for _, u := range s.opts.Target.Users {
		scopes = append(scopes, "user:"+u)
	}
	for _, r := range s.opts.Target.Repos {
		scopes = append(scopes, "repo:"+r)
	}
	var qs []string
	for _, sc := range scopes {
		for _, t := range terms {
			qs = append(qs, fmt.Sprintf("%q %s", t, sc))
		}
	}
	return qs
}

// hits runs the queries and returns the matched files, each once.
func (s *Search) hits(ctx context.Context) ([]searchHit, error) {
	seen := map[string]bool{}
	var out []searchHit
	for _, q := range s.Queries() {
		opt := &gh.SearchOptions{ListOptions: gh.ListOptions{PerPage: perPage}}
		got := 0
		for {
			var res *gh.CodeSearchResult
			var resp *gh.Response
			err := s.lim.call(ctx, "code search", func() (*gh.Response, error) {
				var err error
				res, resp, err = s.opts.Client.Search.Code(ctx, q, opt)
				return resp, err
			})
			if err != nil {
				return nil, fmt.Errorf("github: code search %s: %w", q, err)
			}
			if res.GetIncompleteResults() {
				s.log(fmt.Sprintf("code search %s: GitHub says the results are incomplete (it timed out)", q))
			}
			for _, it := range res.CodeResults {
				got++
				r := repoFrom(it.GetRepository())
				if r.FullName == "" || !s.opts.Shard.Has(r.FullName) {
					continue
				}
				if (len(s.opts.Filter.Include) > 0 && !matchAny(s.opts.Filter.Include, r)) || matchAny(s.opts.Filter.Exclude, r) {
					continue
				}
				k := strings.ToLower(r.FullName) + "\x00" + it.GetSHA() + "\x00" + it.GetPath()
				if seen[k] {
					continue
				}
				seen[k] = true
				out = append(out, searchHit{
					repo:    r,
					path:    it.GetPath(),
					blob:    it.GetSHA(),
					commit:  commitFromBlobURL(it.GetHTMLURL()),
					htmlURL: it.GetHTMLURL(),
				})
			}
			if resp.NextPage == 0 {
				break
			}
			opt.Page = resp.NextPage
		}
		if got >= maxSearchResults {
			s.log(fmt.Sprintf("code search %s: more than %d results; GitHub returns only the first %d, run a full sweep", q, maxSearchResults, maxSearchResults))
		}
	}
	return out, nil
}

// commitFromBlobURL reads the commit out of ".../blob/<commit>/<path>".
func commitFromBlobURL(u string) string {
	_, rest, ok := strings.Cut(u, "/blob/")
	if !ok {
		return ""
	}
	c, _, _ := strings.Cut(rest, "/")
	if len(c) < 40 || strings.Trim(c, "0123456789abcdef") != "" {
		return ""
	}
	return c
}

// Chunks implements sources.Source.
func (s *Search) Chunks(ctx context.Context, split sources.Chunker, yield func(sources.Chunk) error) error {
	if len(s.opts.Terms) == 0 {
		return errors.New("github code search: no search terms")
	}
	s.log("--search: GitHub code search covers the default branch of each repository only, never history or other branches; run without --search for a full sweep")
	hits, err := s.hits(ctx)
	if err != nil {
		return err
	}
	workers := s.opts.Workers
	if workers <= 0 {
		workers = 4
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, h := range hits {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			data, err := s.fetch(gctx, h)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				if s.opts.OnError != nil {
					s.opts.OnError(h.repo.FullName+":"+h.path, err)
				}
				return nil
			}
			inHead := true
			o := &location.Location{Repo: h.repo.FullName, Path: h.path, Commit: h.commit, HTMLURL: h.htmlURL, InHead: &inHead}
			return split.SplitBytes(data, o, yield)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// fetch reads a matched file's blob.
func (s *Search) fetch(ctx context.Context, h searchHit) ([]byte, error) {
	var data []byte
	err := s.lim.call(ctx, "fetch "+h.repo.FullName+":"+h.path, func() (*gh.Response, error) {
		var resp *gh.Response
		var err error
		data, resp, err = s.opts.Client.Git.GetBlobRaw(ctx, h.repo.Owner, h.repo.Name, h.blob)
		return resp, err
	})
	if err != nil {
		return nil, fmt.Errorf("fetch blob %s: %w", h.blob, err)
	}
	if s.opts.MaxFileSize > 0 && int64(len(data)) > s.opts.MaxFileSize {
		return nil, fmt.Errorf("skipped: %d bytes, over --max-file-size", len(data))
	}
	return data, nil
}

func (s *Search) log(msg string) {
	if s.opts.Log != nil {
		s.opts.Log(msg)
	}
}
