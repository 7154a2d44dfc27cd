// Package githubfake is a loopback fake of the parts of the GitHub REST API
// that bks uses (repository listing with Link paging, repository lookup,
// issues, issue comments and review comments with Link paging, code
// search, raw blobs, rate-limit headers and errors; check runs, statuses
// and issue comments written by `bks serve`; GitHub Apps with JWTs and
// installation tokens, and who may write what: apps.go) and a real git
// smart-HTTP server for clones: `git-http-backend` served through
// net/http/cgi. Tests build bare repositories on disk and register them.
//
// The API is served under /api/v3/, as GitHub Enterprise Server does, so a
// client made with go-github's WithEnterpriseURLs(URL, URL) reaches it.
package githubfake

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bks-dev/bks/internal/gitserve"
)

// Repo is one repository of the fake.
type Repo struct {
	Owner, Name   string
	Fork          bool
	Archived      bool
	Private       bool
	Visibility    string // "public", "private", "internal"; from Private when empty
	Topics        []string
	DefaultBranch string // "main" when empty
	// Dir is a bare git repository served for clones. Empty: the
	// repository has no git data (clones fail with 404).
	Dir string
	// CloneStatus, when not 0, is the HTTP status every git request for
	// this repository gets (451 for a DMCA takedown, 500, ...).
	CloneStatus int
	// SizeKB is reported as the API's size field.
	SizeKB int
	// Wiki is the bare repository of the repository's wiki, served at
	// OWNER/NAME.wiki.git. Empty: a wiki without a page, whose clone
	// GitHub answers with 404 although has_wiki is true. NoWiki: the wiki
	// is turned off (has_wiki false; the clone answers 404 too).
	Wiki   string
	NoWiki bool
	// CloneURL, when set, is the clone_url the API answers instead of
	// the fake's own: a hostile answer (another host, file://, ext::).
	CloneURL string
	// Issues (and pull requests), their comments and pull request review
	// comments, served by the issue endpoints (issues.go).
	Issues         []*Issue
	IssueComments  []*Comment
	ReviewComments []*Comment
	// IssuesStatus, when not 0, is the status the issue and comment
	// endpoints of this repository answer with (403, 404, 410 for issues
	// turned off).
	IssuesStatus int
}

// FullName is "owner/name".
func (r *Repo) FullName() string { return r.Owner + "/" + r.Name }

// Fault makes requests fail. A fault fires on the After-th request (1-based)
// whose path contains PathContains (every request when empty), Times times
// in a row (1 when 0).
type Fault struct {
	PathContains string
	After        int
	Times        int
	// Kind: "secondary" (403 secondary rate limit with Retry-After),
	// "primary" (403 with X-RateLimit-Remaining: 0), "429", or "500".
	// On the GraphQL endpoint (GraphQL set) "primary" is GitHub's 200
	// with a RATE_LIMITED error, and "secondary-200" a 200 whose error
	// says a secondary limit was hit, "null-data" and "empty" a 200
	// with {"data":null} or {} and no errors (graphql.go).
	Kind string
	// GraphQL makes the fault fire on the GraphQL endpoint (POST
	// /api/graphql) only, PathContains ignored; the REST faults never
	// fire there.
	GraphQL bool
	// RetryAfter for secondary limits and the reset delay of primary ones;
	// 1s when 0.
	RetryAfter time.Duration
	// Header replaces headers of the fault's answer with values no
	// GitHub sends (an X-RateLimit-Reset years ahead, a Retry-After
	// past what nanoseconds in an int64 hold), for testing a client's
	// bounds.
	Header map[string]string

	seen, fired int
}

// headerWriter sets a fault's Header just before the status goes out,
// over the headers the fault's kind set.
type headerWriter struct {
	http.ResponseWriter
	h map[string]string
}

func (w headerWriter) WriteHeader(code int) {
	for k, v := range w.h {
		w.Header().Set(k, v)
	}
	w.ResponseWriter.WriteHeader(code)
}

// Server is the fake. Create it with New; its fields may be changed
// between requests only under Lock.
type Server struct {
	// URL is the server's root, "http://127.0.0.1:PORT". The API base is
	// URL+"/api/v3/".
	URL string
	// Token, when set, must be sent by API clients (Bearer or token) and
	// by git clients (HTTP basic auth, any user, the token as password),
	// or another credential the fake knows (AddUser, an App's
	// installation token: apps.go). It is a personal access token of
	// TokenLogin ("octocat" when empty).
	Token      string
	TokenLogin string
	// Now is the fake's clock, for JWTs and installation tokens
	// (time.Now).
	Now func() time.Time
	// MaxPerPage caps per_page (100 like GitHub); default page size 30.
	MaxPerPage int

	mu      sync.Mutex
	repos   []*Repo
	byName  map[string]*Repo
	faults  []*Fault
	counts  map[string]int // requests by kind: "api", "git", "search", "blob", "limited"
	log     []string       // API request paths, in order
	srv     *httptest.Server
	backend gitserve.Backend
	w       writes // check runs, statuses, comments (checks.go)

	gists   []*Gist
	members map[string][]string // org (lower case) -> logins

	apps   []*App
	users  map[string]string // token -> login (AddUser)
	issued map[string]issued // installation tokens
}

// New starts a fake on 127.0.0.1. Close it with Close.
func New() (*Server, error) {
	backend, err := gitserve.Find()
	if err != nil {
		return nil, err
	}
	s := &Server{
		MaxPerPage: 100,
		byName:     map[string]*Repo{},
		counts:     map[string]int{},
		backend:    backend,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("githubfake: listen: %w", err)
	}
	s.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: s}}
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

// APIURL is the base URL of the REST API, ending in "/".
func (s *Server) APIURL() string { return s.URL + "/api/v3/" }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Add registers repositories. Names are unique, case-insensitively.
func (s *Server) Add(repos ...*Repo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range repos {
		if r.DefaultBranch == "" {
			r.DefaultBranch = "main"
		}
		if r.Visibility == "" {
			r.Visibility = "public"
			if r.Private {
				r.Visibility = "private"
			}
		}
		k := strings.ToLower(r.FullName())
		if _, dup := s.byName[k]; !dup {
			s.repos = append(s.repos, r)
		}
		s.byName[k] = r
	}
}

// AddFault adds a fault.
func (s *Server) AddFault(f *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// Fired says how many times f has fired.
func (s *Server) Fired(f *Fault) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f.fired
}

// Count returns how many requests of a kind were served: "api", "git",
// "search", "blob", "limited" (answered with a rate-limit error).
func (s *Server) Count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[kind]
}

// Requests returns the paths and queries of the API requests so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// CloneURL is the smart-HTTP URL of a repository.
func (s *Server) CloneURL(owner, name string) string {
	return s.URL + "/git/" + owner + "/" + name + ".git"
}

// HTMLURL is the repository's web page on the fake.
func (s *Server) HTMLURL(owner, name string) string {
	return s.URL + "/" + owner + "/" + name
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/git/"):
		s.serveGit(w, r)
	case r.URL.Path == "/api/graphql":
		s.serveGraphQL(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/v3/"):
		s.serveAPI(w, r, strings.TrimPrefix(r.URL.Path, "/api/v3"))
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveGit(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/git/")
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 3 || !strings.HasSuffix(parts[1], ".git") {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.counts["git"]++
	// NAME.wiki.git is NAME's wiki (the fake holds no repository whose
	// own name ends in ".wiki").
	name, wiki := strings.CutSuffix(strings.TrimSuffix(parts[1], ".git"), ".wiki")
	repo := s.byName[strings.ToLower(parts[0]+"/"+name)]
	if wiki && repo != nil {
		dir := repo.Wiki
		if repo.NoWiki {
			dir = ""
		}
		repo = &Repo{Owner: repo.Owner, Name: repo.Name + ".wiki", Dir: dir}
	}
	s.mu.Unlock()
	if parts[0] == "gist" {
		repo = nil
		if g := s.gist(strings.TrimSuffix(parts[1], ".git")); g != nil && !g.Deleted {
			repo = &Repo{Owner: g.Owner, Name: g.ID, Dir: g.Dir}
		}
	}
	id, ok := s.who(r, true)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	switch {
	case repo == nil || !id.canSee(repo.Owner):
		http.Error(w, "Repository not found.", http.StatusNotFound)
		return
	case repo.CloneStatus != 0:
		http.Error(w, http.StatusText(repo.CloneStatus), repo.CloneStatus)
		return
	case repo.Dir == "":
		http.Error(w, "Repository not found.", http.StatusNotFound)
		return
	}
	s.backend.Serve(w, r, repo.Dir, parts[2])
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, p string) {
	s.mu.Lock()
	s.counts["api"]++
	s.log = append(s.log, p+"?"+r.URL.RawQuery)
	fault := s.matchFault(p, false)
	s.mu.Unlock()

	resource := "core"
	if strings.HasPrefix(p, "/search/") {
		resource = "search"
	}
	reset := time.Now().Add(time.Hour).Unix()
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4999")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
	w.Header().Set("X-RateLimit-Used", "1")
	w.Header().Set("X-RateLimit-Resource", resource)
	if fault != nil {
		s.mu.Lock()
		s.counts["limited"]++
		s.mu.Unlock()
		writeFault(headerWriter{w, fault.Header}, fault)
		return
	}
	seg := strings.Split(strings.Trim(p, "/"), "/")
	if s.serveApp(w, r, seg) || s.revokeToken(w, r, seg) {
		return
	}
	id, ok := s.who(r, false)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	if len(seg) >= 3 && seg[0] == "repos" && !id.canSee(seg[1]) {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	if s.serveWrite(w, r, seg, id) {
		return
	}
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "method not allowed"})
		return
	}
	switch {
	case len(seg) == 1 && seg[0] == "user":
		s.getUser(w, id)
	case len(seg) == 3 && seg[0] == "orgs" && seg[2] == "repos":
		s.listRepos(w, r, seg[1], true)
	case len(seg) == 3 && seg[0] == "orgs" && seg[2] == "members":
		s.listMembers(w, r, seg[1])
	case len(seg) == 3 && seg[0] == "users" && seg[2] == "gists":
		s.listGists(w, r, seg[1])
	case len(seg) == 3 && seg[0] == "users" && seg[2] == "repos":
		s.listRepos(w, r, seg[1], false)
	case len(seg) == 3 && seg[0] == "repos":
		s.getRepo(w, seg[1], seg[2])
	case len(seg) == 4 && seg[0] == "repos" && seg[3] == "issues":
		s.listIssues(w, r, seg[1], seg[2])
	case len(seg) == 5 && seg[0] == "repos" && seg[3] == "issues" && seg[4] == "comments":
		s.listComments(w, r, seg[1], seg[2], false)
	case len(seg) == 5 && seg[0] == "repos" && seg[3] == "pulls" && seg[4] == "comments":
		s.listComments(w, r, seg[1], seg[2], true)
	case len(seg) == 6 && seg[0] == "repos" && seg[3] == "git" && seg[4] == "blobs":
		s.getBlob(w, r, seg[1], seg[2], seg[5])
	case len(seg) == 2 && seg[0] == "search" && seg[1] == "code":
		s.searchCode(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
	}
}

// matchFault returns the fault that fires for this request, if any: a
// GraphQL one for a GraphQL request, else a REST one whose PathContains p
// has. Called with s.mu held.
func (s *Server) matchFault(p string, graphql bool) *Fault {
	for _, f := range s.faults {
		if f.GraphQL != graphql || !graphql && f.PathContains != "" && !strings.Contains(p, f.PathContains) {
			continue
		}
		f.seen++
		times := max(f.Times, 1)
		if f.seen >= f.After && f.fired < times {
			f.fired++
			return f
		}
	}
	return nil
}

func writeFault(w http.ResponseWriter, f *Fault) {
	d := f.RetryAfter
	if d <= 0 {
		d = time.Second
	}
	secs := int((d + time.Second - 1) / time.Second)
	switch f.Kind {
	case "primary":
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(d).Unix()+1, 10))
		writeJSON(w, http.StatusForbidden, map[string]string{
			"message":           "API rate limit exceeded for user ID 1.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit",
		})
	case "429":
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
	case "500":
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "Server Error"})
	default: // secondary
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusForbidden, map[string]string{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// page parses page and per_page and returns the slice bounds.
func (s *Server) page(r *http.Request, n int) (page, per, lo, hi int) {
	page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	per, _ = strconv.Atoi(r.URL.Query().Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, s.MaxPerPage)
	lo = min((page-1)*per, n)
	hi = min(lo+per, n)
	return page, per, lo, hi
}

// setLink writes a Link header the way GitHub does.
func setLink(w http.ResponseWriter, r *http.Request, page, per, n int) {
	last := max((n+per-1)/per, 1)
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	link := func(p int, rel string) string {
		q := u.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(per))
		u.RawQuery = q.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var parts []string
	if page < last {
		parts = append(parts, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		parts = append(parts, link(1, "first"), link(page-1, "prev"))
	}
	if len(parts) > 0 {
		w.Header().Set("Link", strings.Join(parts, ", "))
	}
}

func (s *Server) repoJSON(r *Repo) map[string]any {
	topics := r.Topics
	if topics == nil {
		topics = []string{}
	}
	return map[string]any{
		"id":             fnv(r.FullName()),
		"name":           r.Name,
		"full_name":      r.FullName(),
		"owner":          map[string]any{"login": r.Owner},
		"private":        r.Private,
		"visibility":     r.Visibility,
		"fork":           r.Fork,
		"archived":       r.Archived,
		"topics":         topics,
		"default_branch": r.DefaultBranch,
		"size":           r.SizeKB,
		"has_wiki":       !r.NoWiki,
		"html_url":       s.HTMLURL(r.Owner, r.Name),
		"clone_url":      cmp.Or(r.CloneURL, s.CloneURL(r.Owner, r.Name)),
		"url":            s.APIURL() + "repos/" + r.FullName(),
	}
}

func fnv(s string) int64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return int64(h >> 12)
}

func (s *Server) listRepos(w http.ResponseWriter, r *http.Request, owner string, org bool) {
	typ := r.URL.Query().Get("type")
	s.mu.Lock()
	var sel []*Repo
	for _, rp := range s.repos {
		if !strings.EqualFold(rp.Owner, owner) {
			continue
		}
		switch typ {
		case "public":
			if rp.Private {
				continue
			}
		case "private":
			if !rp.Private {
				continue
			}
		case "forks":
			if !rp.Fork {
				continue
			}
		case "sources":
			if rp.Fork {
				continue
			}
		}
		sel = append(sel, rp)
	}
	s.mu.Unlock()
	if len(sel) == 0 && !s.ownerExists(owner) {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	page, per, lo, hi := s.page(r, len(sel))
	out := make([]map[string]any, 0, hi-lo)
	for _, rp := range sel[lo:hi] {
		out = append(out, s.repoJSON(rp))
	}
	setLink(w, r, page, per, len(sel))
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) ownerExists(owner string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rp := range s.repos {
		if strings.EqualFold(rp.Owner, owner) {
			return true
		}
	}
	return false
}

func (s *Server) getRepo(w http.ResponseWriter, owner, name string) {
	s.mu.Lock()
	rp := s.byName[strings.ToLower(owner+"/"+name)]
	s.mu.Unlock()
	if rp == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	writeJSON(w, http.StatusOK, s.repoJSON(rp))
}

func (s *Server) getBlob(w http.ResponseWriter, r *http.Request, owner, name, sha string) {
	s.mu.Lock()
	s.counts["blob"]++
	rp := s.byName[strings.ToLower(owner+"/"+name)]
	s.mu.Unlock()
	if rp == nil || rp.Dir == "" || !isHex(sha) {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	data, err := exec.Command("git", "--git-dir", rp.Dir, "cat-file", "blob", sha).Output()
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "raw") {
		w.Header().Set("Content-Type", "application/vnd.github.raw")
		_, _ = w.Write(data)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sha": sha, "size": len(data), "encoding": "base64",
		"content": base64.StdEncoding.EncodeToString(data),
	})
}

func isHex(s string) bool {
	if len(s) < 4 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// searchCode implements a small part of GitHub's legacy code search: the
// query's words (quoted or not) must all occur, case-insensitively, in a
// file of the default branch; qualifiers org:, user:, repo: restrict the
// repositories. Forks and archived repositories are searched too, as
// GitHub does only for forks with more stars than the parent, a detail not
// modelled here.
func (s *Server) searchCode(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts["search"]++
	repos := append([]*Repo(nil), s.repos...)
	s.mu.Unlock()
	terms, quals := parseQuery(r.URL.Query().Get("q"))
	if len(terms) == 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed", "errors": []map[string]string{{"message": "search text is required"}}})
		return
	}
	type hit struct {
		repo       *Repo
		path, blob string
		commit     string
	}
	var hits []hit
	for _, rp := range repos {
		if !quals.match(rp) || rp.Dir == "" {
			continue
		}
		commit, err := gitOut(rp.Dir, "rev-parse", "--verify", "--quiet", rp.DefaultBranch+"^{commit}")
		if err != nil || commit == "" {
			continue
		}
		args := []string{"grep", "-l", "-I", "-i", "-F"}
		for _, t := range terms {
			args = append(args, "-e", t)
		}
		if len(terms) > 1 {
			args = append(args, "--all-match")
		}
		args = append(args, commit)
		out, _ := gitOut(rp.Dir, args...)
		for _, line := range strings.Split(out, "\n") {
			if line == "" {
				continue
			}
			p := strings.TrimPrefix(line, commit+":")
			blob, err := gitOut(rp.Dir, "rev-parse", commit+":"+p)
			if err != nil {
				continue
			}
			hits = append(hits, hit{rp, p, blob, commit})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if a, b := hits[i].repo.FullName(), hits[j].repo.FullName(); a != b {
			return a < b
		}
		return hits[i].path < hits[j].path
	})
	page, per, lo, hi := s.page(r, len(hits))
	items := make([]map[string]any, 0, hi-lo)
	for _, h := range hits[lo:hi] {
		items = append(items, map[string]any{
			"name":       path.Base(h.path),
			"path":       h.path,
			"sha":        h.blob,
			"html_url":   s.HTMLURL(h.repo.Owner, h.repo.Name) + "/blob/" + h.commit + "/" + escapePath(h.path),
			"url":        s.APIURL() + "repos/" + h.repo.FullName() + "/contents/" + escapePath(h.path) + "?ref=" + h.commit,
			"git_url":    s.APIURL() + "repos/" + h.repo.FullName() + "/git/blobs/" + h.blob,
			"repository": s.repoJSON(h.repo),
		})
	}
	setLink(w, r, page, per, len(hits))
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(hits), "incomplete_results": false, "items": items})
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, x := range parts {
		parts[i] = url.PathEscape(x)
	}
	return strings.Join(parts, "/")
}

type qualifiers struct{ org, user, repo []string }

func (q qualifiers) match(r *Repo) bool {
	if len(q.org)+len(q.user)+len(q.repo) == 0 {
		return true
	}
	for _, o := range append(append([]string(nil), q.org...), q.user...) {
		if strings.EqualFold(o, r.Owner) {
			return true
		}
	}
	for _, n := range q.repo {
		if strings.EqualFold(n, r.FullName()) {
			return true
		}
	}
	return false
}

// parseQuery splits a search query into words (quotes removed) and
// qualifiers.
func parseQuery(q string) (terms []string, quals qualifiers) {
	for q = strings.TrimSpace(q); q != ""; q = strings.TrimSpace(q) {
		var tok string
		if q[0] == '"' {
			end := strings.IndexByte(q[1:], '"')
			if end < 0 {
				tok, q = q[1:], ""
			} else {
				tok, q = q[1:1+end], q[2+end:]
			}
			if tok != "" {
				terms = append(terms, tok)
			}
			continue
		}
		end := strings.IndexAny(q, " \t")
		if end < 0 {
			end = len(q)
		}
		tok, q = q[:end], q[end:]
		switch k, v, ok := strings.Cut(tok, ":"); {
		case ok && k == "org":
			quals.org = append(quals.org, v)
		case ok && k == "user":
			quals.user = append(quals.user, v)
		case ok && k == "repo":
			quals.repo = append(quals.repo, v)
		case ok && (k == "in" || k == "language" || k == "path" || k == "fork"):
			// Accepted and ignored.
		default:
			terms = append(terms, tok)
		}
	}
	return terms, quals
}

func gitOut(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"--git-dir", dir}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}
