// Package gitlabfake is a loopback fake of the parts of the GitLab REST API
// (v4) that bks uses, and a real git smart-HTTP server for clones (through
// internal/gitserve). It pages as GitLab documents
// (https://docs.gitlab.com/api/rest/#pagination):
//
//   - offset pagination for group projects and project snippets: page and
//     per_page parameters (default 20, at most 100), and the X-Page,
//     X-Per-Page, X-Next-Page (empty on the last page), X-Prev-Page,
//     X-Total, X-Total-Pages and Link headers;
//   - keyset pagination for a user's projects with pagination=keyset
//     (order_by=id only, anything else gets 405 as GitLab answers): no
//     X-Next-Page, only a Link header with rel="next" carrying id_after.
//
// Authentication is GitLab's: the PRIVATE-TOKEN header (or a Bearer token)
// for the API, HTTP basic auth with the token as password for git. A
// project the token cannot see answers 404 (GitLab hides it). Faults
// produce 401, 429 with Retry-After and RateLimit-* headers
// (https://docs.gitlab.com/administration/settings/user_and_ip_rate_limits/#response-headers),
// 5xx, and a RateLimit-Remaining of 0.
package gitlabfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bks-dev/bks/internal/fakefault"
	"github.com/bks-dev/bks/internal/gitserve"
)

// Project is one project of the fake.
type Project struct {
	// Path is the full path, "group/subgroup/name" or "user/name".
	Path          string
	DefaultBranch string // "main" when empty; "" for Dir == "" too
	Dir           string // bare repository served for clones
	// Hidden: the token has no access (404 from the API, left out of
	// listings, 404 from git).
	Hidden bool
	// CloneStatus, when not 0, is the status of every git request.
	CloneStatus int
	Snippets    []*Snippet
	// CloneURL, when set, is the http_url_to_repo the API answers
	// instead of the fake's own: a hostile answer.
	CloneURL string

	id int
}

// Snippet is a project snippet, itself a git repository.
type Snippet struct {
	Title string
	Dir   string
	// Files are the snippet's file names, as the API lists them (its
	// git repository holds their content).
	Files []string
	// Author writes a project snippet (""): GET /snippets lists the
	// snippets the token's owner wrote, project snippets included, with
	// their project_id.
	Author string
	id     int
}

// Fault makes API requests fail: the After-th request (1-based) whose
// path contains PathContains, Times times in a row (1 when 0).
type Fault struct {
	fakefault.Trigger
	// Status: 401, 429 (with Retry-After and RateLimit-Reset of
	// RetryAfter, 1s when 0), 5xx; or 200 with RateLimitZero, an answer
	// that says no request is left until RetryAfter from now.
	Status        int
	RateLimitZero bool
	RetryAfter    time.Duration
}

// Server is the fake.
type Server struct {
	URL   string
	Token string // when set, required from API and git clients
	// User is the user name of the token's owner: GET /user, and whose
	// personal snippets GET /snippets lists.
	User string

	mu       sync.Mutex
	projects []*Project
	byPath   map[string]*Project
	snippets map[string]*Snippet // "project/snippets/ID", and "snippets/ID" for personal ones
	personal []personalSnippet
	faults   []*Fault
	log      []string // API request URIs
	srv      *httptest.Server
	backend  gitserve.Backend
	nextID   int
}

// New starts a fake on 127.0.0.1.
func New() (*Server, error) {
	b, err := gitserve.Find()
	if err != nil {
		return nil, err
	}
	s := &Server{byPath: map[string]*Project{}, snippets: map[string]*Snippet{}, backend: b}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("gitlabfake: listen: %w", err)
	}
	s.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: s}}
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// APIURL is the API's base, as --api-url takes it.
func (s *Server) APIURL() string { return s.URL + "/api/v4" }

// WebURL is a project's page.
func (s *Server) WebURL(path string) string { return s.URL + "/" + path }

// Add registers projects; IDs follow the order of addition.
func (s *Server) Add(ps ...*Project) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		s.nextID++
		p.id = s.nextID
		if p.DefaultBranch == "" && p.Dir != "" {
			p.DefaultBranch = "main"
		}
		s.projects = append(s.projects, p)
		s.byPath[strings.ToLower(p.Path)] = p
		for _, sn := range p.Snippets {
			s.nextID++
			sn.id = s.nextID
			s.snippets[strings.ToLower(p.Path)+"/snippets/"+strconv.Itoa(sn.id)] = sn
		}
	}
}

type personalSnippet struct {
	owner string
	*Snippet
}

// AddPersonalSnippets registers personal snippets of user owner (not in
// a project), each a git repository at /snippets/ID.git.
func (s *Server) AddPersonalSnippets(owner string, sns ...*Snippet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sn := range sns {
		s.nextID++
		sn.id = s.nextID
		s.snippets["snippets/"+strconv.Itoa(sn.id)] = sn
		s.personal = append(s.personal, personalSnippet{owner, sn})
	}
}

// AddFault installs a fault.
func (s *Server) AddFault(f *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// Fired says how many times f fired.
func (s *Server) Fired(f *Fault) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f.Trigger.Fired()
}

// Requests returns the API request URIs so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(p, "/api/v4/"); ok {
		s.serveAPI(w, r, rest)
		return
	}
	s.serveGit(w, r, p)
}

func (s *Server) serveGit(w http.ResponseWriter, r *http.Request, p string) {
	repo, rest, ok := strings.Cut(strings.TrimPrefix(p, "/"), ".git/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if _, pw, ok := r.BasicAuth(); s.Token != "" && (!ok || pw != s.Token) {
		w.Header().Set("WWW-Authenticate", `Basic realm="GitLab"`)
		http.Error(w, "HTTP Basic: Access denied", http.StatusUnauthorized)
		return
	}
	key := strings.ToLower(repo)
	s.mu.Lock()
	proj := s.byPath[key]
	sn := s.snippets[key]
	s.mu.Unlock()
	dir := ""
	switch {
	case sn != nil:
		dir = sn.Dir
	case proj != nil && !proj.Hidden:
		if proj.CloneStatus != 0 {
			http.Error(w, http.StatusText(proj.CloneStatus), proj.CloneStatus)
			return
		}
		dir = proj.Dir
	}
	if dir == "" {
		http.Error(w, "The project you were looking for could not be found or you don't have permission to view it.", http.StatusNotFound)
		return
	}
	s.backend.Serve(w, r, dir, rest)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, p string) {
	s.mu.Lock()
	s.log = append(s.log, r.URL.RequestURI())
	f := s.matchFault(p)
	s.mu.Unlock()
	if f != nil && writeFault(w, f) {
		return
	}
	if s.Token != "" && r.Header.Get("Private-Token") != s.Token && r.Header.Get("Authorization") != "Bearer "+s.Token {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
		return
	}
	parts := strings.Split(p, "/")
	id := ""
	if len(parts) >= 2 {
		id, _ = url.PathUnescape(parts[1])
	}
	switch {
	case len(parts) == 3 && parts[0] == "groups" && parts[2] == "projects":
		s.groupProjects(w, r, id)
	case len(parts) == 3 && parts[0] == "users" && parts[2] == "projects":
		s.userProjects(w, r, id)
	case len(parts) == 2 && parts[0] == "projects":
		s.getProject(w, id)
	case len(parts) == 3 && parts[0] == "projects" && parts[2] == "snippets":
		s.projectSnippets(w, r, id)
	case p == "user":
		s.currentUser(w)
	case p == "snippets":
		s.userSnippets(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
	}
}

func (s *Server) matchFault(p string) *Fault {
	for _, f := range s.faults {
		if f.Match(p) {
			return f
		}
	}
	return nil
}

// writeFault answers with the fault; false when the request goes on (a
// RateLimit-Remaining of 0 is only a header on a good answer).
func writeFault(w http.ResponseWriter, f *Fault) bool {
	wait := f.RetryAfter
	if wait == 0 {
		wait = time.Second
	}
	reset := strconv.FormatInt(time.Now().Add(wait).Unix(), 10)
	if f.RateLimitZero {
		w.Header().Set("RateLimit-Limit", "600")
		w.Header().Set("RateLimit-Remaining", "0")
		w.Header().Set("RateLimit-Reset", reset)
		return false
	}
	switch f.Status {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		w.Header().Set("RateLimit-Limit", "600")
		w.Header().Set("RateLimit-Remaining", "0")
		w.Header().Set("RateLimit-Reset", reset)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(f.Status)
		fmt.Fprintln(w, "Retry later")
	case http.StatusUnauthorized:
		writeJSON(w, f.Status, map[string]string{"message": "401 Unauthorized"})
	default:
		writeJSON(w, f.Status, map[string]string{"message": fmt.Sprintf("%d %s", f.Status, http.StatusText(f.Status))})
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) projectJSON(p *Project) map[string]any {
	ns, name := "", p.Path
	if i := strings.LastIndexByte(p.Path, '/'); i >= 0 {
		ns, name = p.Path[:i], p.Path[i+1:]
	}
	m := map[string]any{
		"id":                  p.id,
		"name":                name,
		"path":                name,
		"path_with_namespace": p.Path,
		"namespace":           map[string]any{"full_path": ns},
		"web_url":             s.WebURL(p.Path),
		"http_url_to_repo":    cmp.Or(p.CloneURL, s.URL+"/"+p.Path+".git"),
		"default_branch":      nil,
		"visibility":          "private",
	}
	if p.DefaultBranch != "" {
		m["default_branch"] = p.DefaultBranch
	}
	return m
}

// visible returns the projects the token sees whose path passes keep, by
// ID.
func (s *Server) visible(keep func(path string) bool) []*Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Project
	for _, p := range s.projects {
		if !p.Hidden && keep(strings.ToLower(p.Path)) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (s *Server) groupProjects(w http.ResponseWriter, r *http.Request, group string) {
	g := strings.ToLower(group) + "/"
	sub := r.URL.Query().Get("include_subgroups") == "true"
	exists := false
	for _, p := range s.visible(func(string) bool { return true }) {
		exists = exists || strings.HasPrefix(strings.ToLower(p.Path), g)
	}
	if !exists {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Group Not Found"})
		return
	}
	ps := s.visible(func(path string) bool {
		rest, ok := strings.CutPrefix(path, g)
		return ok && (sub || !strings.Contains(rest, "/"))
	})
	items := make([]any, len(ps))
	for i, p := range ps {
		items[i] = s.projectJSON(p)
	}
	offsetPage(w, r, items)
}

// offsetPage writes one page of items with GitLab's offset headers.
func offsetPage(w http.ResponseWriter, r *http.Request, items []any) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 20
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	pages := max((len(items)+per-1)/per, 1)
	lo, hi := min((page-1)*per, len(items)), min(page*per, len(items))
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(per))
	h.Set("X-Total", strconv.Itoa(len(items)))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	h.Set("X-Next-Page", "")
	h.Set("X-Prev-Page", "")
	link := func(n int, rel string) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		v := u.Query()
		v.Set("page", strconv.Itoa(n))
		v.Set("per_page", strconv.Itoa(per))
		u.RawQuery = v.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page < pages {
		h.Set("X-Next-Page", strconv.Itoa(page+1))
		links = append(links, link(page+1, "next"))
	}
	if page > 1 {
		h.Set("X-Prev-Page", strconv.Itoa(page-1))
		links = append(links, link(page-1, "prev"))
	}
	links = append(links, link(1, "first"), link(pages, "last"))
	h.Set("Link", strings.Join(links, ", "))
	writeJSON(w, http.StatusOK, items[lo:hi])
}

func (s *Server) userProjects(w http.ResponseWriter, r *http.Request, user string) {
	u := strings.ToLower(user) + "/"
	ps := s.visible(func(path string) bool {
		rest, ok := strings.CutPrefix(path, u)
		return ok && !strings.Contains(rest, "/")
	})
	q := r.URL.Query()
	if q.Get("pagination") != "keyset" {
		items := make([]any, len(ps))
		for i, p := range ps {
			items[i] = s.projectJSON(p)
		}
		offsetPage(w, r, items)
		return
	}
	if q.Get("order_by") != "id" {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "Keyset pagination is not yet available for this type of request"})
		return
	}
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 20
	}
	per = min(per, 100)
	after, _ := strconv.Atoi(q.Get("id_after"))
	var page []any
	last := 0
	more := false
	for _, p := range ps {
		if p.id <= after {
			continue
		}
		if len(page) == per {
			more = true
			break
		}
		page = append(page, s.projectJSON(p))
		last = p.id
	}
	if more {
		nu := *r.URL
		nu.Scheme, nu.Host = "http", r.Host
		v := nu.Query()
		v.Set("id_after", strconv.Itoa(last))
		nu.RawQuery = v.Encode()
		w.Header().Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", nu.String()))
	}
	if page == nil {
		page = []any{}
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) getProject(w http.ResponseWriter, id string) {
	s.mu.Lock()
	p := s.byPath[strings.ToLower(id)]
	s.mu.Unlock()
	if p == nil || p.Hidden {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Project Not Found"})
		return
	}
	writeJSON(w, http.StatusOK, s.projectJSON(p))
}

func (s *Server) projectSnippets(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	p := s.byPath[strings.ToLower(id)]
	s.mu.Unlock()
	if p == nil || p.Hidden {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Project Not Found"})
		return
	}
	items := []any{}
	for _, sn := range p.Snippets {
		web := s.WebURL(p.Path) + "/-/snippets/" + strconv.Itoa(sn.id)
		items = append(items, map[string]any{
			"id":               sn.id,
			"title":            sn.Title,
			"project_id":       p.id,
			"web_url":          web,
			"raw_url":          web + "/raw",
			"http_url_to_repo": s.URL + "/" + p.Path + "/snippets/" + strconv.Itoa(sn.id) + ".git",
		})
	}
	offsetPage(w, r, items)
}

// currentUser serves GET /user: the token's owner
// (https://docs.gitlab.com/api/users/#get-the-current-user); 401 without
// a token.
func (s *Server) currentUser(w http.ResponseWriter) {
	if s.User == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": 1, "username": s.User, "name": s.User, "state": "active"})
}

// userSnippets serves GET /snippets: the snippets the token's owner wrote
// (personal ones, and project snippets with their project_id: GitLab's
// SnippetsFinder by author), offset-paged (https://docs.gitlab.com/api/snippets/#list-all-snippets-for-current-user).
// GitLab's API has no listing of another user's snippets.
func (s *Server) userSnippets(w http.ResponseWriter, r *http.Request) {
	if s.User == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
		return
	}
	s.mu.Lock()
	var mine []personalSnippet
	for _, p := range s.personal {
		if strings.EqualFold(p.owner, s.User) {
			mine = append(mine, p)
		}
	}
	type projectSnippet struct {
		project int
		path    string
		sn      *Snippet
	}
	var inProjects []projectSnippet
	for _, p := range s.projects {
		for _, sn := range p.Snippets {
			if sn.Author != "" && strings.EqualFold(sn.Author, s.User) && !p.Hidden {
				inProjects = append(inProjects, projectSnippet{p.id, p.Path, sn})
			}
		}
	}
	s.mu.Unlock()
	items := []any{}
	for _, ps := range inProjects {
		items = append(items, map[string]any{"id": ps.sn.id, "title": ps.sn.Title, "project_id": ps.project,
			"author": map[string]any{"username": ps.sn.Author}, "web_url": s.URL + "/" + ps.path + "/-/snippets/" + strconv.Itoa(ps.sn.id),
			"http_url_to_repo": s.URL + "/" + ps.path + "/snippets/" + strconv.Itoa(ps.sn.id) + ".git"})
	}
	for _, p := range mine {
		web := s.URL + "/-/snippets/" + strconv.Itoa(p.id)
		files := []any{}
		for _, f := range p.Files {
			files = append(files, map[string]any{"path": f, "raw_url": web + "/raw/main/" + f})
		}
		items = append(items, map[string]any{
			"id":               p.id,
			"title":            p.Title,
			"project_id":       nil,
			"visibility":       "private",
			"author":           map[string]any{"username": p.owner},
			"web_url":          web,
			"raw_url":          web + "/raw",
			"files":            files,
			"http_url_to_repo": s.URL + "/snippets/" + strconv.Itoa(p.id) + ".git",
		})
	}
	offsetPage(w, r, items)
}
