package githubfake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The write side of the fake, for what `bks serve` reports: check runs
// with annotations, commit statuses and issue (pull request) comments, as
// GitHub's REST API documents them:
//   - check runs: docs.github.com/en/rest/checks/runs (create, update,
//     list for a ref, list annotations). An update appends the annotations
//     it carries to those the run has ("Each time you update the check
//     run, annotations are appended to the list of annotations that
//     already exist for the check run"); at most 50 per request.
//   - statuses: docs.github.com/en/rest/commits/statuses (state error,
//     failure, pending or success; listed newest first for a ref).
//   - comments: docs.github.com/en/rest/issues/comments (a pull request is
//     an issue for comments).

// Annotation is one check run annotation.
type Annotation struct {
	Path            string `json:"path"`
	StartLine       int    `json:"start_line"`
	EndLine         int    `json:"end_line"`
	AnnotationLevel string `json:"annotation_level"`
	Message         string `json:"message"`
	Title           string `json:"title,omitempty"`
	RawDetails      string `json:"raw_details,omitempty"`
}

// CheckRun is one check run of a repository.
type CheckRun struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	HeadSHA    string `json:"head_sha"`
	ExternalID string `json:"external_id,omitempty"`
	Status     string `json:"status"`
	Conclusion string `json:"conclusion,omitempty"`
	// AppID and AppSlug are the App that created the run.
	AppID       int64        `json:"-"`
	AppSlug     string       `json:"-"`
	Title       string       `json:"-"`
	Summary     string       `json:"-"`
	Annotations []Annotation `json:"-"`
}

// Status is one commit status.
type Status struct {
	ID          int64  `json:"id"`
	SHA         string `json:"-"`
	State       string `json:"state"`
	Context     string `json:"context"`
	Description string `json:"description"`
	TargetURL   string `json:"target_url"`
	Creator     string `json:"-"`
}

// writes is what clients wrote, by repository ("owner/name", lower case).
type writes struct {
	nextID    int64
	checkRuns map[string][]*CheckRun
	statuses  map[string][]*Status
	comments  map[string][]*Comment
}

// CheckRuns returns copies of the check runs of owner/name, oldest first.
func (s *Server) CheckRuns(owner, name string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CheckRun
	for _, c := range s.w.checkRuns[strings.ToLower(owner+"/"+name)] {
		cp := *c
		cp.Annotations = append([]Annotation(nil), c.Annotations...)
		out = append(out, cp)
	}
	return out
}

// Comments returns copies of the comments of issue n of owner/name.
func (s *Server) Comments(owner, name string, n int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.w.comments[strings.ToLower(owner+"/"+name)] {
		if c.Issue == n {
			out = append(out, *c)
		}
	}
	return out
}

// Statuses returns copies of the statuses of owner/name.
func (s *Server) Statuses(owner, name string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Status
	for _, st := range s.w.statuses[strings.ToLower(owner+"/"+name)] {
		out = append(out, *st)
	}
	return out
}

// checkRunBody is what create and update read.
type checkRunBody struct {
	Name       string `json:"name"`
	HeadSHA    string `json:"head_sha"`
	ExternalID string `json:"external_id"`
	Status     string `json:"status"`
	Conclusion string `json:"conclusion"`
	Output     *struct {
		Title       string       `json:"title"`
		Summary     string       `json:"summary"`
		Annotations []Annotation `json:"annotations"`
	} `json:"output"`
}

// serveWrite handles the write endpoints and their reads; false when p is
// none of them. seg is p split on "/", seg[0] == "repos".
func (s *Server) serveWrite(w http.ResponseWriter, r *http.Request, seg []string, id *identity) bool {
	if len(seg) < 4 || seg[0] != "repos" {
		return false
	}
	repo := strings.ToLower(seg[1] + "/" + seg[2])
	s.mu.Lock()
	known := s.byName[repo] != nil
	s.mu.Unlock()
	rest, m := seg[3:], r.Method
	switch {
	case len(rest) == 1 && rest[0] == "check-runs" && m == http.MethodPost,
		len(rest) == 2 && rest[0] == "check-runs" && m == http.MethodPatch,
		len(rest) == 3 && rest[0] == "check-runs" && rest[2] == "annotations" && m == http.MethodGet,
		len(rest) == 3 && rest[0] == "commits" && rest[2] == "check-runs" && m == http.MethodGet,
		len(rest) == 3 && rest[0] == "commits" && rest[2] == "statuses" && m == http.MethodGet,
		len(rest) == 2 && rest[0] == "statuses" && m == http.MethodPost,
		len(rest) == 3 && rest[0] == "issues" && rest[2] == "comments" && (m == http.MethodGet || m == http.MethodPost),
		len(rest) == 3 && rest[0] == "issues" && rest[1] == "comments" && m == http.MethodPatch:
	default:
		return false
	}
	if !known {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return true
	}
	if m != http.MethodGet && id == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Requires authentication", "documentation_url": "https://docs.github.com/rest"})
		return true
	}
	if rest[0] == "check-runs" && m != http.MethodGet && id.app == nil {
		// docs.github.com/en/rest/checks/runs: write access is for GitHub
		// Apps only; GitHub's answer to a user's token.
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "You must authenticate via a GitHub App.",
			"documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run"})
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w.checkRuns == nil {
		s.w = writes{checkRuns: map[string][]*CheckRun{}, statuses: map[string][]*Status{}, comments: map[string][]*Comment{}}
	}
	switch rest[0] {
	case "check-runs":
		s.checkRun(w, r, repo, rest, id)
	case "commits":
		if rest[2] == "statuses" {
			s.listStatuses(w, r, repo, rest[1])
		} else {
			s.listCheckRuns(w, r, repo, rest[1])
		}
	case "statuses":
		s.createStatus(w, r, repo, rest[1], id)
	case "issues":
		s.comment(w, r, repo, rest, id)
	}
	return true
}

// statusStates are the states a commit status may have.
var statusStates = map[string]bool{"error": true, "failure": true, "pending": true, "success": true}

// createStatus sets a commit status. Called with s.mu held.
func (s *Server) createStatus(w http.ResponseWriter, r *http.Request, repo, sha string, id *identity) {
	var st Status
	if !decode(w, r, &st) {
		return
	}
	if !statusStates[st.State] {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Validation Failed"})
		return
	}
	if st.Context == "" {
		st.Context = "default"
	}
	s.w.nextID++
	st.ID, st.SHA, st.Creator = s.w.nextID, sha, id.login
	s.w.statuses[repo] = append(s.w.statuses[repo], &st)
	writeJSON(w, http.StatusCreated, statusJSON(&st, id))
}

func statusJSON(st *Status, id *identity) map[string]any {
	return map[string]any{"id": st.ID, "state": st.State, "context": st.Context, "description": st.Description,
		"target_url": st.TargetURL, "creator": id.userJSON()}
}

// listStatuses lists the statuses of a commit, newest first. Called with
// s.mu held.
func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request, repo, sha string) {
	var all []*Status
	for _, st := range s.w.statuses[repo] {
		if st.SHA == sha {
			all = append([]*Status{st}, all...)
		}
	}
	page, per, lo, hi := s.page(r, len(all))
	setLink(w, r, page, per, len(all))
	out := []map[string]any{}
	for _, st := range all[lo:hi] {
		out = append(out, statusJSON(st, &identity{login: st.Creator}))
	}
	writeJSON(w, http.StatusOK, out)
}

// checkRun creates or updates a check run, or lists its annotations.
// Called with s.mu held.
func (s *Server) checkRun(w http.ResponseWriter, r *http.Request, repo string, rest []string, id *identity) {
	var run *CheckRun
	if len(rest) >= 2 {
		id, _ := strconv.ParseInt(rest[1], 10, 64)
		for _, c := range s.w.checkRuns[repo] {
			if c.ID == id {
				run = c
			}
		}
		if run == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
			return
		}
	}
	if r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, run.Annotations)
		return
	}
	var b checkRunBody
	if !decode(w, r, &b) {
		return
	}
	status := http.StatusOK
	if run == nil {
		if b.Name == "" || b.HeadSHA == "" {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "name and head_sha are required"})
			return
		}
		s.w.nextID++
		run = &CheckRun{ID: s.w.nextID, Name: b.Name, HeadSHA: b.HeadSHA, Status: "queued", AppID: id.app.ID, AppSlug: id.app.Slug}
		s.w.checkRuns[repo] = append(s.w.checkRuns[repo], run)
		status = http.StatusCreated
	}
	if b.Name != "" {
		run.Name = b.Name
	}
	if b.ExternalID != "" {
		run.ExternalID = b.ExternalID
	}
	if b.Status != "" {
		run.Status = b.Status
	}
	if b.Conclusion != "" {
		run.Conclusion, run.Status = b.Conclusion, "completed"
	}
	if o := b.Output; o != nil {
		if len(o.Annotations) > 50 {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "at most 50 annotations per request"})
			return
		}
		run.Title, run.Summary = o.Title, o.Summary
		run.Annotations = append(run.Annotations, o.Annotations...)
	}
	writeJSON(w, status, s.checkRunJSON(run))
}

func (s *Server) checkRunJSON(c *CheckRun) map[string]any {
	return map[string]any{
		"id": c.ID, "name": c.Name, "head_sha": c.HeadSHA, "external_id": c.ExternalID,
		"status": c.Status, "conclusion": c.Conclusion,
		"app":    map[string]any{"id": c.AppID, "slug": c.AppSlug},
		"output": map[string]any{"title": c.Title, "summary": c.Summary, "annotations_count": len(c.Annotations)},
	}
}

// listCheckRuns lists the runs of a commit, filtered by check_name and
// app_id. Called with s.mu held.
func (s *Server) listCheckRuns(w http.ResponseWriter, r *http.Request, repo, sha string) {
	name := r.URL.Query().Get("check_name")
	app, _ := strconv.ParseInt(r.URL.Query().Get("app_id"), 10, 64)
	runs := []map[string]any{}
	for _, c := range s.w.checkRuns[repo] {
		if c.HeadSHA == sha && (name == "" || c.Name == name) && (app == 0 || c.AppID == app) {
			runs = append(runs, s.checkRunJSON(c))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(runs), "check_runs": runs})
}

// comment lists or creates the comments of an issue, or edits one.
// Called with s.mu held.
func (s *Server) comment(w http.ResponseWriter, r *http.Request, repo string, rest []string, id *identity) {
	if rest[1] == "comments" { // PATCH /issues/comments/{id}
		id, _ := strconv.ParseInt(rest[2], 10, 64)
		for _, c := range s.w.comments[repo] {
			if c.ID == id {
				var b Comment
				if decode(w, r, &b) {
					c.Body = b.Body
					c.Edited++
					writeJSON(w, http.StatusOK, commentJSON(c))
				}
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	n, err := strconv.Atoi(rest[1])
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	if r.Method == http.MethodPost {
		var b Comment
		if !decode(w, r, &b) {
			return
		}
		s.w.nextID++
		c := &Comment{ID: s.w.nextID, Issue: n, Body: b.Body, User: id.login, Bot: id.app != nil}
		s.w.comments[repo] = append(s.w.comments[repo], c)
		writeJSON(w, http.StatusCreated, commentJSON(c))
		return
	}
	var all []*Comment
	for _, c := range s.w.comments[repo] {
		if c.Issue == n {
			all = append(all, c)
		}
	}
	page, per, lo, hi := s.page(r, len(all))
	setLink(w, r, page, per, len(all))
	out := []map[string]any{}
	for _, c := range all[lo:hi] {
		out = append(out, commentJSON(c))
	}
	writeJSON(w, http.StatusOK, out)
}

func commentJSON(c *Comment) map[string]any {
	typ := "User"
	if c.Bot {
		typ = "Bot"
	}
	return map[string]any{"id": c.ID, "body": c.Body, "user": map[string]any{"login": c.User, "type": typ},
		"created_at": time.Unix(0, 0).UTC().Format(time.RFC3339)}
}

// decode reads a JSON body of at most 1 MB into v, or answers 400.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON"})
		return false
	}
	return true
}
