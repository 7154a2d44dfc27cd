package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/reposweep"
)

// Target says what to sweep.
type Target struct {
	Groups           []string // full paths, "acme" or "acme/platform"
	IncludeSubgroups bool
	Users            []string // user names
	Projects         []string // full paths, "acme/platform/api"
	// Snippets also sweeps the snippets of every project listed, and the
	// personal snippets of the Users (the token owner's only: GitLab's
	// API lists no other user's).
	Snippets bool
}

func (t Target) empty() bool { return len(t.Groups)+len(t.Users)+len(t.Projects) == 0 }

// perPage is the page size asked for (GitLab's maximum).
const perPage = 100

// Links are GitLab's links to a file at a commit and to a commit.
var Links = reposweep.Links{Blob: "-/blob", Commit: "-/commit"}

// snippetLinks link a snippet's file at a commit to its raw content there
// (GitLab has no page for a snippet at an older revision).
var snippetLinks = reposweep.Links{Blob: "raw"}

// Lister lists the projects (and snippets) of a target.
type Lister struct {
	Client *gl.Client
	Target Target
	Shard  reposweep.Shard
	// OnError receives the items that could not be listed (a group, a
	// user, a project, a project's snippets); the listing goes on.
	OnError sources.ErrorHandler

	perPage int // tests; perPage when 0
}

func (l *Lister) pageSize() int64 {
	if l.perPage > 0 {
		return int64(l.perPage)
	}
	return perPage
}

// List returns the repositories of the target in the shard, sorted by
// name, each once. It fails only when nothing could be listed at all
// because every item failed, or ctx is done.
func (l *Lister) List(ctx context.Context) ([]reposweep.Repo, error) {
	if l.Target.empty() {
		return nil, errors.New("gitlab: nothing to list: give a group, a user or a project")
	}
	seen := map[string]bool{}
	var projects []reposweep.Repo
	add := func(p *gl.Project) {
		r := repoFrom(p)
		if k := strings.ToLower(r.FullName); !seen[k] {
			seen[k] = true
			projects = append(projects, r)
		}
	}
	le := &reposweep.ListErrors{OnError: l.OnError}
	for _, g := range l.Target.Groups {
		le.Do("group "+g, func() error { return l.groupProjects(ctx, g, add) })
	}
	for _, u := range l.Target.Users {
		le.Do("user "+u, func() error { return l.userProjects(ctx, u, add) })
	}
	for _, pp := range l.Target.Projects {
		le.Do("project "+pp, func() error {
			p, _, err := l.Client.Projects.GetProject(pp, nil, gl.WithContext(ctx))
			if err != nil {
				return describe(err)
			}
			add(p)
			return nil
		})
	}
	if err := le.Err(ctx, "gitlab"); err != nil {
		return nil, err
	}
	var out []reposweep.Repo
	for _, r := range projects {
		if l.Shard.Has(r.FullName) {
			out = append(out, r)
		}
		if l.Target.Snippets {
			out = append(out, l.snippets(ctx, r)...)
		}
	}
	if l.Target.Snippets && len(l.Target.Users) > 0 {
		out = append(out, l.personalSnippets(ctx, l.Target.Users)...)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].FullName) < strings.ToLower(out[j].FullName) })
	return out, nil
}

func repoFrom(p *gl.Project) reposweep.Repo {
	r := reposweep.Repo{
		FullName:      p.PathWithNamespace,
		Name:          p.Path,
		HTMLURL:       p.WebURL,
		CloneURL:      p.HTTPURLToRepo,
		DefaultBranch: p.DefaultBranch,
	}
	if i := strings.LastIndexByte(r.FullName, '/'); i >= 0 {
		r.Owner = r.FullName[:i]
	}
	return r
}

// groupProjects lists a group's projects, with offset pagination
// (X-Next-Page): GitLab offers keyset pagination for this listing only to
// some callers (https://docs.gitlab.com/api/rest/#supported-resources).
func (l *Lister) groupProjects(ctx context.Context, group string, add func(*gl.Project)) error {
	opt := &gl.ListGroupProjectsOptions{
		ListOptions:      gl.ListOptions{PerPage: l.pageSize()},
		IncludeSubGroups: gl.Ptr(l.Target.IncludeSubgroups),
		OrderBy:          gl.Ptr("id"),
		Sort:             gl.Ptr("asc"),
	}
	for {
		page, resp, err := l.Client.Groups.ListGroupProjects(group, opt, gl.WithContext(ctx))
		if err != nil {
			return fmt.Errorf("list projects (page %d): %w", max(opt.Page, 1), describe(err))
		}
		for _, p := range page {
			add(p)
		}
		if resp.NextPage == 0 {
			return nil
		}
		opt.Page = resp.NextPage
	}
}

// userProjects lists a user's projects with keyset pagination, following
// the Link header's rel="next"
// (https://docs.gitlab.com/api/rest/#keyset-based-pagination).
func (l *Lister) userProjects(ctx context.Context, user string, add func(*gl.Project)) error {
	opt := &gl.ListProjectsOptions{ListOptions: gl.ListOptions{PerPage: l.pageSize(), Pagination: "keyset", OrderBy: "id", Sort: "asc"}}
	opts := []gl.RequestOptionFunc{gl.WithContext(ctx)}
	for n := 1; ; n++ {
		page, resp, err := l.Client.Projects.ListUserProjects(user, opt, opts...)
		if err != nil {
			return fmt.Errorf("list projects (page %d): %w", n, describe(err))
		}
		for _, p := range page {
			add(p)
		}
		if resp.NextLink == "" {
			return nil
		}
		opts = []gl.RequestOptionFunc{gl.WithContext(ctx), gl.WithKeysetPaginationParameters(resp.NextLink)}
	}
}

// snippet is a project snippet as the API describes it: client-go's
// Snippet lacks http_url_to_repo, the URL of its git repository
// (https://docs.gitlab.com/api/project_snippets/).
type snippet struct {
	ID            int64  `json:"id"`
	ProjectID     *int64 `json:"project_id"` // nil: a personal snippet
	WebURL        string `json:"web_url"`
	HTTPURLToRepo string `json:"http_url_to_repo"`
}

// snippets lists a project's snippets, each a repository named
// "PROJECT/-/snippets/ID". A project whose snippets cannot be listed is
// reported; one with snippets turned off (403/404) has none.
func (l *Lister) snippets(ctx context.Context, p reposweep.Repo) []reposweep.Repo {
	path := "projects/" + gl.PathEscape(p.FullName) + "/snippets"
	out, err := l.snippetRepos(ctx, path, p.FullName)
	if code := status(err); err != nil && code != http.StatusForbidden && code != http.StatusNotFound {
		l.report("snippets of "+p.FullName, describe(err))
	}
	return out
}

// personalSnippetsPath lists the snippets the token's owner wrote: the
// personal ones and, with a project_id, those in projects (GitLab's
// SnippetsFinder by author), which are left to their project's sweep.
const personalSnippetsPath = "snippets"

// personalSnippets lists the personal snippets (not in a project) of the
// users, each a repository named "USER/-/snippets/ID". GitLab's API lists
// only those of the token's owner (GET /snippets); another user's cannot
// be listed (https://gitlab.com/gitlab-org/gitlab/-/issues/376680), which
// is reported, not passed over in silence.
func (l *Lister) personalSnippets(ctx context.Context, users []string) []reposweep.Repo {
	me, _, err := l.Client.Users.CurrentUser(gl.WithContext(ctx))
	if err != nil {
		l.report("personal snippets", fmt.Errorf("who owns the token: %w", describe(err)))
		return nil
	}
	var out []reposweep.Repo
	for _, u := range users {
		if !strings.EqualFold(u, me.Username) {
			l.report("personal snippets of "+u, fmt.Errorf("GitLab's API lists the personal snippets of the token's owner (%s) only", me.Username))
			continue
		}
		got, err := l.snippetRepos(ctx, personalSnippetsPath, me.Username)
		if err != nil {
			l.report("personal snippets of "+u, describe(err))
		}
		out = append(out, got...)
	}
	return out
}

// snippetRepos pages through the snippets at API path, each a repository
// named "OWNER/-/snippets/ID" (OWNER a project or a user), and returns
// those in the shard, with what was listed before an error.
func (l *Lister) snippetRepos(ctx context.Context, path, owner string) ([]reposweep.Repo, error) {
	var out []reposweep.Repo
	for page := int64(1); page != 0; {
		req, err := l.Client.NewRequest(http.MethodGet, path, &gl.ListOptions{Page: page, PerPage: l.pageSize()}, []gl.RequestOptionFunc{gl.WithContext(ctx)})
		if err != nil {
			return out, err
		}
		var list []snippet
		resp, err := l.Client.Do(req, &list)
		if err != nil {
			return out, err
		}
		for _, s := range list {
			if path == personalSnippetsPath && s.ProjectID != nil {
				continue // a project snippet the user wrote: its project's sweep has it
			}
			r := reposweep.Repo{
				FullName: owner + "/-/snippets/" + strconv.FormatInt(s.ID, 10),
				Owner:    owner,
				Name:     "snippet " + strconv.FormatInt(s.ID, 10),
				HTMLURL:  s.WebURL,
				CloneURL: s.HTTPURLToRepo,
				Links:    snippetLinks,
			}
			if l.Shard.Has(r.FullName) {
				out = append(out, r)
			}
		}
		page = resp.NextPage
	}
	return out, nil
}

func (l *Lister) report(item string, err error) {
	if l.OnError != nil {
		l.OnError(item, err)
	}
}

func status(err error) int {
	var er *gl.ErrorResponse
	if errors.As(err, &er) {
		if er.StatusCode == 0 && er.Response != nil {
			return er.Response.StatusCode
		}
		return er.StatusCode
	}
	return 0
}

// describe adds what a status means for the user to an API error: a 404
// is also what GitLab answers for a project or group the token may not
// see.
func describe(err error) error {
	switch status(err) {
	case http.StatusUnauthorized:
		return fmt.Errorf("%w (the token is missing, wrong or expired)", err)
	case http.StatusForbidden:
		return fmt.Errorf("%w (the token lacks the read_api scope or access)", err)
	case http.StatusNotFound:
		return fmt.Errorf("%w (it does not exist, or the token has no access to it)", err)
	}
	return err
}
