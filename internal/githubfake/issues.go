package githubfake

import (
	"cmp"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Issue is an issue or (PR set) a pull request of a fake repository.
type Issue struct {
	Number    int
	PR        bool
	Title     string
	Body      string
	User      string
	Closed    bool
	CreatedAt time.Time
	UpdatedAt time.Time // CreatedAt when zero
	// Edits are its older versions, newest first, served by GraphQL
	// (graphql.go); the REST answers show only Body. Gone: deleted
	// between a listing and a GraphQL query (its node no longer
	// resolves).
	Edits []Edit
	Gone  bool
}

// Comment is an issue comment (on an issue or a pull request's
// conversation) or, in Repo.ReviewComments, a pull request review comment
// on a line of the diff. Issue is the number of its issue or pull request.
// Seeded comments live in Repo; those clients write (`bks serve`'s pull
// request comment) are kept by checks.go and listed per issue there.
type Comment struct {
	ID        int64
	Issue     int
	Body      string
	User      string
	Path      string // review comments: the file commented on
	CreatedAt time.Time
	UpdatedAt time.Time // CreatedAt when zero
	Edited    int       // comments written by clients (checks.go): times updated
	Bot       bool      // written with an App's installation token
	Edits     []Edit    // older versions, newest first (graphql.go)
}

func updated(created, upd time.Time) time.Time {
	if upd.IsZero() {
		return created
	}
	return upd
}

// issueRepo returns the repository of an issue endpoint and the request's
// since (ISO 8601, as GitHub takes it; the zero time when absent), or
// answers 404 (unknown), its IssuesStatus or 422 (a bad since) and returns
// nil.
func (s *Server) issueRepo(w http.ResponseWriter, r *http.Request, owner, name string) (*Repo, time.Time) {
	s.mu.Lock()
	rp := s.byName[strings.ToLower(owner+"/"+name)]
	s.mu.Unlock()
	var from time.Time
	switch {
	case rp == nil:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
		return nil, from
	case rp.IssuesStatus != 0:
		writeJSON(w, rp.IssuesStatus, map[string]string{"message": http.StatusText(rp.IssuesStatus), "documentation_url": "https://docs.github.com/rest"})
		return nil, from
	}
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Validation Failed"})
			return nil, from
		}
		from = t
	}
	return rp, from
}

// listIssues serves GET /repos/{owner}/{repo}/issues: issues and pull
// requests (a pull request has a pull_request key), newest first, state
// open by default, since filtering on updated_at, paged with Link.
// https://docs.github.com/en/rest/issues/issues#list-repository-issues
func (s *Server) listIssues(w http.ResponseWriter, r *http.Request, owner, name string) {
	rp, from := s.issueRepo(w, r, owner, name)
	if rp == nil {
		return
	}
	state := r.URL.Query().Get("state")
	var sel []*Issue
	s.mu.Lock()
	for _, is := range rp.Issues {
		if (state == "" || state == "open") && is.Closed || state == "closed" && !is.Closed {
			continue
		}
		if updated(is.CreatedAt, is.UpdatedAt).Before(from) {
			continue
		}
		sel = append(sel, is)
	}
	s.mu.Unlock()
	sort.SliceStable(sel, func(i, j int) bool { return sel[i].CreatedAt.After(sel[j].CreatedAt) })
	page, per, lo, hi := s.page(r, len(sel))
	out := make([]map[string]any, 0, hi-lo)
	for _, is := range sel[lo:hi] {
		kind := "issues"
		if is.PR {
			kind = "pull"
		}
		st := "open"
		if is.Closed {
			st = "closed"
		}
		m := map[string]any{
			"id": fnv(fmt.Sprintf("%s#%d", rp.FullName(), is.Number)), "number": is.Number,
			"node_id": issueNodeID(rp.FullName(), is.Number),
			"title":   is.Title, "body": is.Body, "state": st,
			"user":       map[string]any{"login": is.User},
			"html_url":   fmt.Sprintf("%s/%s/%d", s.HTMLURL(rp.Owner, rp.Name), kind, is.Number),
			"created_at": is.CreatedAt.UTC().Format(time.RFC3339),
			"updated_at": updated(is.CreatedAt, is.UpdatedAt).UTC().Format(time.RFC3339),
		}
		if is.PR {
			m["pull_request"] = map[string]any{"html_url": m["html_url"]}
		}
		out = append(out, m)
	}
	setLink(w, r, page, per, len(sel))
	writeJSON(w, http.StatusOK, out)
}

// listComments serves GET /repos/{owner}/{repo}/issues/comments (review
// false) and /pulls/comments (review true): every comment of the
// repository, oldest first (GitHub's default sort, created ascending),
// since filtering on updated_at, paged with Link.
// https://docs.github.com/en/rest/issues/comments#list-issue-comments-for-a-repository
// https://docs.github.com/en/rest/pulls/comments#list-review-comments-in-a-repository
func (s *Server) listComments(w http.ResponseWriter, r *http.Request, owner, name string, review bool) {
	rp, from := s.issueRepo(w, r, owner, name)
	if rp == nil {
		return
	}
	s.mu.Lock()
	src := rp.IssueComments
	if review {
		src = rp.ReviewComments
	}
	pr := map[int]bool{}
	for _, is := range rp.Issues {
		pr[is.Number] = is.PR
	}
	var sel []*Comment
	for _, c := range src {
		if !updated(c.CreatedAt, c.UpdatedAt).Before(from) {
			sel = append(sel, c)
		}
	}
	s.mu.Unlock()
	sort.SliceStable(sel, func(i, j int) bool { return sel[i].CreatedAt.Before(sel[j].CreatedAt) })
	page, per, lo, hi := s.page(r, len(sel))
	out := make([]map[string]any, 0, hi-lo)
	base := s.HTMLURL(rp.Owner, rp.Name)
	for _, c := range sel[lo:hi] {
		m := map[string]any{
			"id": c.ID, "body": c.Body, "node_id": commentNodeID(c.ID, review),
			"user":       map[string]any{"login": c.User},
			"created_at": c.CreatedAt.UTC().Format(time.RFC3339),
			"updated_at": updated(c.CreatedAt, c.UpdatedAt).UTC().Format(time.RFC3339),
		}
		switch {
		case review:
			m["html_url"] = fmt.Sprintf("%s/pull/%d#discussion_r%d", base, c.Issue, c.ID)
			m["path"] = c.Path
		case pr[c.Issue]:
			m["html_url"] = fmt.Sprintf("%s/pull/%d#issuecomment-%d", base, c.Issue, c.ID)
		default:
			m["html_url"] = fmt.Sprintf("%s/issues/%d#issuecomment-%d", base, c.Issue, c.ID)
		}
		out = append(out, m)
	}
	setLink(w, r, page, per, len(sel))
	writeJSON(w, http.StatusOK, out)
}

// Lock and Unlock guard changes to the registered repositories (editing a
// comment between two runs) against the requests being served.
func (s *Server) Lock()   { s.mu.Lock() }
func (s *Server) Unlock() { s.mu.Unlock() }

// Gist is a gist of the fake: a git repository (Dir) cloned at
// URL/git/gist/ID.git. Deleted: listed (a stale listing) but every clone
// answers 404, as GitHub does for a deleted gist.
type Gist struct {
	ID, Owner   string
	Description string
	Dir         string
	Deleted     bool
	// CloneURL, when set, is the git_pull_url the API answers instead of
	// the fake's own: a hostile answer.
	CloneURL string
}

// AddGist registers gists.
func (s *Server) AddGist(gs ...*Gist) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gists = append(s.gists, gs...)
}

// AddMembers makes users members of org (GET /orgs/{org}/members).
func (s *Server) AddMembers(org string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.members == nil {
		s.members = map[string][]string{}
	}
	k := strings.ToLower(org)
	s.members[k] = append(s.members[k], users...)
}

func (s *Server) gist(id string) *Gist {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.gists {
		if g.ID == id {
			return g
		}
	}
	return nil
}

// listMembers serves GET /orgs/{org}/members, paged with Link.
// https://docs.github.com/en/rest/orgs/members#list-organization-members
func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, org string) {
	s.mu.Lock()
	users := append([]string(nil), s.members[strings.ToLower(org)]...)
	s.mu.Unlock()
	page, per, lo, hi := s.page(r, len(users))
	out := make([]map[string]any, 0, hi-lo)
	for _, u := range users[lo:hi] {
		out = append(out, map[string]any{"login": u, "type": "User"})
	}
	setLink(w, r, page, per, len(users))
	writeJSON(w, http.StatusOK, out)
}

// listGists serves GET /users/{username}/gists, paged with Link.
// https://docs.github.com/en/rest/gists/gists#list-gists-for-a-user
func (s *Server) listGists(w http.ResponseWriter, r *http.Request, user string) {
	s.mu.Lock()
	var sel []*Gist
	for _, g := range s.gists {
		if strings.EqualFold(g.Owner, user) {
			sel = append(sel, g)
		}
	}
	s.mu.Unlock()
	page, per, lo, hi := s.page(r, len(sel))
	out := make([]map[string]any, 0, hi-lo)
	for _, g := range sel[lo:hi] {
		out = append(out, map[string]any{
			"id": g.ID, "description": g.Description, "public": true,
			"owner":        map[string]any{"login": g.Owner},
			"html_url":     s.URL + "/gist/" + g.Owner + "/" + g.ID,
			"git_pull_url": cmp.Or(g.CloneURL, s.URL+"/git/gist/"+g.ID+".git"),
		})
	}
	setLink(w, r, page, per, len(sel))
	writeJSON(w, http.StatusOK, out)
}
