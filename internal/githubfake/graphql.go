package githubfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Edit is one older version of an issue's, a pull request's or a
// comment's text, as GraphQL's userContentEdits lists it: Diff holds the
// text as it was (null once someone deleted the edit from the history:
// Deleted).
type Edit struct {
	Diff    string
	Editor  string
	At      time.Time
	Deleted bool
}

// EditsQuery is the one GraphQL query the fake serves (POST /api/graphql,
// GitHub Enterprise Server's path for it): a text's edit history, by node
// id, a page at a time. Any other query is refused as GitHub refuses a
// query it cannot parse or validate: 200 with an "errors" list.
// https://docs.github.com/en/graphql/reference/interfaces#comment
const EditsQuery = `query($id: ID!, $first: Int!, $after: String) {
  node(id: $id) {
    ... on Comment {
      userContentEdits(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { editedAt diff editor { login } }
      }
    }
  }
}`

// EditsBatchQuery reads the first page of the edit histories of up to
// 100 texts at once, by node id (nodes(ids:), in the order of the ids;
// null for an id that resolves to nothing).
const EditsBatchQuery = `query($ids: [ID!]!, $first: Int!) {
  nodes(ids: $ids) {
    ... on Comment {
      userContentEdits(first: $first) {
        pageInfo { hasNextPage endCursor }
        nodes { editedAt diff editor { login } }
      }
    }
  }
}`

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// issueNodeID and commentNodeID are the node_id the REST answers carry.
func issueNodeID(repo string, number int) string {
	return "I_" + base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%s#%d", repo, number)))
}

func commentNodeID(id int64, review bool) string {
	if review {
		return "PRRC_" + strconv.FormatInt(id, 10)
	}
	return "IC_" + strconv.FormatInt(id, 10)
}

// edits finds the edit history of a node and the owner of its repository;
// ok is false for an unknown id.
func (s *Server) edits(id string) (edits []Edit, owner string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.repos {
		for _, is := range r.Issues {
			if issueNodeID(r.FullName(), is.Number) == id && !is.Gone {
				return is.Edits, r.Owner, true
			}
		}
		for _, c := range r.IssueComments {
			if commentNodeID(c.ID, false) == id {
				return c.Edits, r.Owner, true
			}
		}
		for _, c := range r.ReviewComments {
			if commentNodeID(c.ID, true) == id {
				return c.Edits, r.Owner, true
			}
		}
	}
	return nil, "", false
}

func gqlError(w http.ResponseWriter, data any, errs ...map[string]any) {
	out := map[string]any{"errors": errs}
	if data != nil {
		out["data"] = data
	}
	writeJSON(w, http.StatusOK, out)
}

// writeGraphQLLimit answers a GraphQL request refused by a rate limit
// fault as GitHub does
// (https://docs.github.com/en/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api#exceeding-the-rate-limit):
// past the primary limit "the response status will still be 200, but you
// will receive an error message, and the value of the
// x-ratelimit-remaining header will be 0" until x-ratelimit-reset (the
// error's type is RATE_LIMITED); past a secondary limit the status is 200
// or 403 with a message saying so, and a retry-after header. Kinds "429"
// and "500" answer as on REST. Kinds "null-data" and "empty" are answers
// no GraphQL server should give but a client must survive (a broken
// proxy, a truncated deployment): 200 with {"data":null} and no errors,
// and 200 with {}.
func writeGraphQLLimit(w http.ResponseWriter, f *Fault) {
	d := max(f.RetryAfter, time.Second)
	secs := strconv.Itoa(int((d + time.Second - 1) / time.Second))
	const secondary = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
	const doc = "https://docs.github.com/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api#secondary-rate-limits"
	switch f.Kind {
	case "primary":
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(d).Unix()+1, 10))
		gqlError(w, nil, map[string]any{"type": "RATE_LIMITED", "message": "API rate limit already exceeded for user ID 1."})
	case "secondary-200":
		w.Header().Set("Retry-After", secs)
		gqlError(w, nil, map[string]any{"message": secondary})
	case "secondary":
		w.Header().Set("Retry-After", secs)
		writeJSON(w, http.StatusForbidden, map[string]string{"message": secondary, "documentation_url": doc})
	case "null-data":
		writeJSON(w, http.StatusOK, map[string]any{"data": nil})
	case "empty":
		writeJSON(w, http.StatusOK, map[string]any{})
	default:
		writeFault(w, f)
	}
}

// serveGraphQL answers POST /api/graphql. Refusals follow GitHub's
// (https://docs.github.com/en/graphql/guides/using-pagination-in-the-graphql-api):
// 401 without a valid token; first missing or above 100; an unknown node
// id is data.node null with a NOT_FOUND error; rate limit faults
// (Fault.GraphQL) as writeGraphQLLimit says.
func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts["graphql"]++
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/graphql"})
		return
	}
	// GraphQL needs a token even where REST is open (anonymous: id nil).
	id, ok := s.who(r, false)
	if !ok || id == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials", "documentation_url": "https://docs.github.com/graphql"})
		return
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "4999")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Resource", "graphql")
	s.mu.Lock()
	fault := s.matchFault("", true)
	if fault != nil {
		s.counts["limited"]++
	}
	s.mu.Unlock()
	if fault != nil {
		writeGraphQLLimit(headerWriter{w, fault.Header}, fault)
		return
	}
	var req struct {
		Query     string `json:"query"`
		Variables struct {
			ID    string   `json:"id"`
			IDs   []string `json:"ids"`
			First *int     `json:"first"`
			After *string  `json:"after"`
		} `json:"variables"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON", "documentation_url": "https://docs.github.com/graphql"})
		return
	}
	batch := squash(req.Query) == squash(EditsBatchQuery)
	if !batch && squash(req.Query) != squash(EditsQuery) {
		gqlError(w, nil, map[string]any{"message": "githubfake serves only its edit-history queries (EditsQuery, EditsBatchQuery)"})
		return
	}
	v := req.Variables
	switch {
	case v.First == nil:
		gqlError(w, nil, map[string]any{"message": "You must provide a `first` or `last` value to properly paginate the `userContentEdits` connection."})
		return
	case *v.First < 1 || *v.First > 100:
		// "The value of these arguments must be between 1 and 100."
		// (docs.github.com/en/graphql/guides/using-pagination-in-the-graphql-api)
		gqlError(w, nil, map[string]any{"message": fmt.Sprintf("Requesting %d records on the `userContentEdits` connection exceeds the `first` limit of 100 records.", *v.First)})
		return
	}
	if batch {
		s.serveEditsBatch(w, id, v.IDs, *v.First)
		return
	}
	// A node of a repository the token may not see resolves to nothing,
	// as on GitHub (NOT_FOUND, not a permission error).
	edits, owner, ok := s.edits(v.ID)
	if !ok || !id.canSee(owner) {
		gqlError(w, map[string]any{"node": nil}, notFound(v.ID, "node"))
		return
	}
	conn, msg := editsConnection(edits, *v.First, v.After)
	if msg != "" {
		gqlError(w, nil, map[string]any{"message": msg})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"node": map[string]any{"userContentEdits": conn}}})
}

func notFound(id string, path ...any) map[string]any {
	return map[string]any{"type": "NOT_FOUND", "path": path,
		"message": fmt.Sprintf("Could not resolve to a node with the global id of '%s'", id)}
}

// maxNodeIDs is how many ids nodes(ids:) takes: GitHub refuses more
// with an ARGUMENT_LIMIT error ("You may not provide more than 100 node
// ids; you provided 101.", seen in https://github.com/sourcecred/sourcecred/pull/908;
// the GraphQL node limit documents first and last within 1-100).
const maxNodeIDs = 100

// serveEditsBatch answers EditsBatchQuery: data.nodes in the order of
// ids, each the first page of a text's edits, or null with a NOT_FOUND
// error whose path is ["nodes", i] for an id that resolves to nothing.
func (s *Server) serveEditsBatch(w http.ResponseWriter, id *identity, ids []string, first int) {
	if len(ids) == 0 {
		gqlError(w, nil, map[string]any{"message": "Variable $ids of type [ID!]! was provided invalid value"})
		return
	}
	if len(ids) > maxNodeIDs {
		gqlError(w, nil, map[string]any{"type": "ARGUMENT_LIMIT", "path": []string{"nodes"},
			"message": fmt.Sprintf("You may not provide more than %d node ids; you provided %d.", maxNodeIDs, len(ids))})
		return
	}
	nodes := make([]any, len(ids))
	var errs []map[string]any
	for i, nid := range ids {
		edits, owner, ok := s.edits(nid)
		if !ok || !id.canSee(owner) {
			errs = append(errs, notFound(nid, "nodes", i))
			continue
		}
		conn, _ := editsConnection(edits, first, nil)
		nodes[i] = map[string]any{"userContentEdits": conn}
	}
	out := map[string]any{"data": map[string]any{"nodes": nodes}}
	if errs != nil {
		out["errors"] = errs
	}
	writeJSON(w, http.StatusOK, out)
}

// editsConnection is one page of a userContentEdits connection: first
// edits after the cursor; msg says why the cursor is refused.
func editsConnection(edits []Edit, first int, after *string) (conn map[string]any, msg string) {
	from := 0
	if after != nil {
		n, err := decodeCursor(*after)
		if err != nil || n < 0 || n > len(edits) {
			return nil, fmt.Sprintf("`%s` does not appear to be a valid cursor.", *after)
		}
		from = n
	}
	to := min(from+first, len(edits))
	nodes := make([]map[string]any, 0, to-from)
	for _, e := range edits[from:to] {
		var diff any = e.Diff
		if e.Deleted {
			diff = nil
		}
		nodes = append(nodes, map[string]any{"editedAt": e.At.UTC().Format(time.RFC3339), "diff": diff, "editor": map[string]any{"login": e.Editor}})
	}
	var end any
	if to > from {
		end = encodeCursor(to)
	}
	return map[string]any{
		"pageInfo": map[string]any{"hasNextPage": to < len(edits), "endCursor": end},
		"nodes":    nodes,
	}, ""
}

// Cursors are opaque to clients; the fake's hold the offset of the next
// edit.
func encodeCursor(n int) string {
	return base64.StdEncoding.EncodeToString([]byte("cursor:v2:" + strconv.Itoa(n)))
}

func decodeCursor(c string) (int, error) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, err
	}
	n, ok := strings.CutPrefix(string(b), "cursor:v2:")
	if !ok {
		return 0, fmt.Errorf("bad cursor")
	}
	return strconv.Atoi(n)
}
