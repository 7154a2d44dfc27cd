// Package hffake is a loopback fake of the Hugging Face Hub for tests: the
// listing API (GET /api/{models,datasets,spaces}?author=A&limit=N, paged
// through the Link header's rel="next" with a cursor, as the Hub does:
// https://huggingface.co/docs/hub/api), repository info
// (GET /api/{kind}s/{id}: 401 "Repository not found" for a private
// repository the token may not read, as for a missing one), git over
// smart HTTP at https://HOST/[datasets/|spaces/]ID (internal/gitserve), and
// the Git LFS batch API at ID.git/info/lfs/objects/batch
// (https://github.com/git-lfs/git-lfs/blob/main/docs/api/batch.md) with
// basic downloads. Faults produce 401, 429 with Retry-After, and 5xx.
package hffake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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

// Repo is one repository of the fake.
type Repo struct {
	Kind string // "model", "dataset" or "space"
	ID   string // "owner/name"
	Dir  string // bare repository
	// Hidden: private, and the token may not read it.
	Hidden      bool
	CloneStatus int
}

// Fault makes API requests whose path contains PathContains fail, the
// After-th one (1-based), Times times in a row (1 when 0).
type Fault struct {
	fakefault.Trigger
	Status     int
	RetryAfter time.Duration // for 429; 1s when 0
}

// Server is the fake.
type Server struct {
	URL   string
	Token string // when set, required (Bearer, or basic auth password)

	mu      sync.Mutex
	repos   map[string]*Repo // "datasets/owner/name"
	lfs     map[string][]byte
	faults  []*Fault
	counts  map[string]int // "batch", "download"
	srv     *httptest.Server
	backend gitserve.Backend
}

var prefixes = map[string]string{"model": "", "dataset": "datasets/", "space": "spaces/"}
var apis = map[string]string{"models": "model", "datasets": "dataset", "spaces": "space"}

// New starts a fake on 127.0.0.1.
func New() (*Server, error) {
	b, err := gitserve.Find()
	if err != nil {
		return nil, err
	}
	s := &Server{repos: map[string]*Repo{}, lfs: map[string][]byte{}, counts: map[string]int{}, backend: b}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("hffake: listen: %w", err)
	}
	s.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: s}}
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Add registers repositories.
func (s *Server) Add(rs ...*Repo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rs {
		s.repos[strings.ToLower(prefixes[r.Kind]+r.ID)] = r
	}
}

// AddLFS stores an LFS object and returns the pointer file naming it.
func (s *Server) AddLFS(content []byte) []byte {
	sum := sha256.Sum256(content)
	oid := hex.EncodeToString(sum[:])
	s.mu.Lock()
	s.lfs[oid] = content
	s.mu.Unlock()
	return Pointer(oid, int64(len(content)))
}

// Pointer is the LFS pointer file of an object.
func Pointer(oid string, size int64) []byte {
	return fmt.Appendf(nil, "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", oid, size)
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

// Count is how many requests of a kind ("batch", "download", "list")
// were served.
func (s *Server) Count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[kind]
}

func (s *Server) authorized(r *http.Request) bool {
	if s.Token == "" {
		return true
	}
	if _, pw, ok := r.BasicAuth(); ok {
		return pw == s.Token
	}
	return r.Header.Get("Authorization") == "Bearer "+s.Token
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	switch {
	case strings.HasPrefix(p, "api/"):
		s.serveAPI(w, r, strings.TrimPrefix(p, "api/"))
	case strings.HasPrefix(p, "lfs-objects/"):
		s.download(w, r, strings.TrimPrefix(p, "lfs-objects/"))
	default:
		s.serveRepo(w, r, p)
	}
}

func (s *Server) matchFault(p string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.Match(p) {
			return f
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("X-Error-Code", "RepoNotFound")
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "Repository not found"})
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, p string) {
	if f := s.matchFault(r.URL.RequestURI()); f != nil {
		if f.Status == http.StatusTooManyRequests {
			wait := f.RetryAfter
			if wait == 0 {
				wait = time.Second
			}
			secs := int((wait + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			w.Header().Set("RateLimit", fmt.Sprintf(`"api";r=0;t=%d`, secs))
		}
		writeJSON(w, f.Status, map[string]string{"error": http.StatusText(f.Status)})
		return
	}
	if !s.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "Invalid credentials in Authorization header"})
		return
	}
	kindAPI, id, _ := strings.Cut(p, "/")
	kind, ok := apis[kindAPI]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Not Found"})
		return
	}
	if id == "" {
		s.list(w, r, kind)
		return
	}
	s.mu.Lock()
	repo := s.repos[strings.ToLower(prefixes[kind]+id)]
	s.mu.Unlock()
	if repo == nil || repo.Hidden {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": repo.ID, "private": false})
}

// list pages an author's repositories of a kind: the cursor is the
// base64 of the last ID served.
func (s *Server) list(w http.ResponseWriter, r *http.Request, kind string) {
	s.mu.Lock()
	s.counts["list"]++
	q := r.URL.Query()
	author := strings.ToLower(q.Get("author"))
	var ids []string
	for _, repo := range s.repos {
		if repo.Kind == kind && !repo.Hidden && strings.HasPrefix(strings.ToLower(repo.ID), author+"/") {
			ids = append(ids, repo.ID)
		}
	}
	s.mu.Unlock()
	sort.Strings(ids)
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	after := ""
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad cursor"})
			return
		}
		after = string(b)
	}
	start := sort.SearchStrings(ids, after)
	if start < len(ids) && ids[start] == after {
		start++
	}
	end := min(start+limit, len(ids))
	page := []map[string]any{}
	for _, id := range ids[start:end] {
		page = append(page, map[string]any{"_id": fmt.Sprintf("%x", sha256.Sum256([]byte(id)))[:24], "id": id, "private": false})
	}
	if end < len(ids) {
		nu := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		v := r.URL.Query()
		v.Set("cursor", base64.RawURLEncoding.EncodeToString([]byte(ids[end-1])))
		nu.RawQuery = v.Encode()
		w.Header().Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", nu.String()))
	}
	writeJSON(w, http.StatusOK, page)
}

// serveRepo serves git (PREFIX/ID[.git]/info/refs, git-upload-pack) and
// the LFS batch API (PREFIX/ID.git/info/lfs/objects/batch).
func (s *Server) serveRepo(w http.ResponseWriter, r *http.Request, p string) {
	var name, rest string
	for _, suffix := range []string{"/info/lfs/objects/batch", "/info/refs", "/git-upload-pack"} {
		if i := strings.Index(p, suffix); i >= 0 {
			name, rest = p[:i], strings.TrimPrefix(p[i:], "/")
			break
		}
	}
	name = strings.TrimSuffix(name, ".git")
	s.mu.Lock()
	repo := s.repos[strings.ToLower(name)]
	s.mu.Unlock()
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Authentication required"`)
		http.Error(w, "Invalid username or password.", http.StatusUnauthorized)
		return
	}
	if repo == nil || repo.Hidden || rest == "" {
		http.Error(w, "Repository not found", http.StatusNotFound)
		return
	}
	if repo.CloneStatus != 0 {
		http.Error(w, http.StatusText(repo.CloneStatus), repo.CloneStatus)
		return
	}
	if rest == "info/lfs/objects/batch" {
		s.batch(w, r)
		return
	}
	s.backend.Serve(w, r, repo.Dir, rest)
}

func (s *Server) batch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Operation string `json:"operation"`
		Objects   []struct {
			OID  string `json:"oid"`
			Size int64  `json:"size"`
		} `json:"objects"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&req) != nil || req.Operation != "download" || len(req.Objects) > 1000 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "bad batch request"})
		return
	}
	s.mu.Lock()
	s.counts["batch"]++
	var objs []any
	for _, o := range req.Objects {
		if _, ok := s.lfs[o.OID]; !ok {
			objs = append(objs, map[string]any{"oid": o.OID, "size": o.Size, "error": map[string]any{"code": 404, "message": "Object does not exist"}})
			continue
		}
		objs = append(objs, map[string]any{"oid": o.OID, "size": o.Size, "actions": map[string]any{
			"download": map[string]any{"href": "http://" + r.Host + "/lfs-objects/" + o.OID, "header": map[string]string{"X-Fake-Signature": "ok"}},
		}})
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/vnd.git-lfs+json")
	_ = json.NewEncoder(w).Encode(map[string]any{"transfer": "basic", "objects": objs})
}

func (s *Server) download(w http.ResponseWriter, r *http.Request, oid string) {
	s.mu.Lock()
	s.counts["download"]++
	data, ok := s.lfs[oid]
	s.mu.Unlock()
	if !ok || r.Header.Get("X-Fake-Signature") != "ok" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	_, _ = w.Write(data)
}
