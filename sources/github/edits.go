package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	gh "github.com/google/go-github/v62/github"
)

// KindEdited is added to a text's kind for an older version of it, from
// its edit history ("issue-comment-edited").
const KindEdited = "-edited"

// editsQuery reads a text's edit history (issue, pull request, issue
// comment or review comment: every GraphQL Comment) by node id, a page at
// a time. The REST API has no edit history; GraphQL's userContentEdits
// does, each edit's diff holding the text as it was
// (https://docs.github.com/en/graphql/reference/interfaces#comment).
const editsQuery = `query($id: ID!, $first: Int!, $after: String) {
  node(id: $id) {
    ... on Comment {
      userContentEdits(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { editedAt diff editor { login } }
      }
    }
  }
}`

// editsBatchQuery reads the first page of the edit histories of several
// texts in one request: nodes(ids:) takes the node ids the REST answers
// carry (node_id) and answers in their order, null for an id that
// resolves to nothing (https://docs.github.com/en/graphql/reference/queries#nodes).
const editsBatchQuery = `query($ids: [ID!]!, $first: Int!) {
  nodes(ids: $ids) {
    ... on Comment {
      userContentEdits(first: $first) {
        pageInfo { hasNextPage endCursor }
        nodes { editedAt diff editor { login } }
      }
    }
  }
}`

// Page sizes. editsPage is GitHub's maximum for a connection (first
// within 1-100). A batch asks for editsBatch texts and the first
// editsBatchFirst edits of each: GitHub takes at most 100 ids in
// nodes(ids:) and 500,000 nodes a query
// (https://docs.github.com/en/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api#node-limit;
// this query is 50 + 50 x 10 = 550), and ends a request that runs over 10
// seconds: a batch of 50 texts with up to 10 versions of up to 65,536
// characters each stays near 30 MB at worst, where 100 x 100 could reach
// gigabytes. Most edited texts have a few edits; the rest of a longer
// history is read a page of editsPage at a time.
const (
	editsPage       = 100
	editsBatch      = 50
	editsBatchFirst = 10
)

type edit struct {
	at     time.Time
	editor string
	diff   string
}

// editsConn is one page of a text's userContentEdits.
type editsConn struct {
	PageInfo struct {
		HasNextPage bool   `json:"hasNextPage"`
		EndCursor   string `json:"endCursor"`
	} `json:"pageInfo"`
	Nodes []struct {
		EditedAt time.Time `json:"editedAt"`
		Diff     *string   `json:"diff"`
		Editor   *struct {
			Login string `json:"login"`
		} `json:"editor"`
	} `json:"nodes"`
}

// each calls fn for every edit of the page whose text was kept (an edit
// deleted from the history has a null diff).
func (ue *editsConn) each(fn func(edit) error) error {
	for _, n := range ue.Nodes {
		if n.Diff == nil {
			continue
		}
		e := edit{at: n.EditedAt, diff: *n.Diff}
		if n.Editor != nil {
			e.editor = n.Editor.Login
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// next is the cursor of the next page; nil on the last.
func (ue *editsConn) next() *string {
	if !ue.PageInfo.HasNextPage || ue.PageInfo.EndCursor == "" {
		return nil
	}
	cur := ue.PageInfo.EndCursor
	return &cur
}

type editNode struct {
	UserContentEdits *editsConn `json:"userContentEdits"`
}

// gqlError is one entry of a GraphQL answer's errors.
type gqlError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Path    []any  `json:"path"`
}

func (e gqlError) String() string { return strings.TrimSpace(e.Type + " " + e.Message) }

func gqlErrors(errs []gqlError) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.String()
	}
	return fmt.Errorf("GraphQL: %s", strings.Join(msgs, "; "))
}

// graphQL posts a query through the client's transport (its token, its
// host) and the rate limiter, into ans; errs are the answer's errors, of
// which a rate limit's refusal is waited out and retried.
func graphQL(ctx context.Context, c *gh.Client, lim *limiter, query string, vars map[string]any, ans any, errs *[]gqlError) error {
	return lim.call(ctx, "edit history", func() (*gh.Response, error) {
		*errs = nil
		req, err := c.NewRequest(http.MethodPost, graphqlURL, map[string]any{"query": query, "variables": vars})
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(ctx, req, ans)
		if err == nil {
			err = graphQLLimited(*errs)
		}
		return resp, err
	})
}

// graphQLLimitError is a GraphQL answer refused by a rate limit with a
// 200 (the limiter waits and retries).
type graphQLLimitError struct {
	secondary bool
	msg       string
}

func (e *graphQLLimitError) Error() string { return "GraphQL: " + e.msg }

// graphQLLimited says whether a 200 answer's errors are a rate limit's
// refusal: past the primary limit GitHub answers 200 with an error (of
// type RATE_LIMITED) and x-ratelimit-remaining 0; past a secondary limit
// 200 or 403 with an error saying so
// (https://docs.github.com/en/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api#exceeding-the-rate-limit).
// The 403 is go-github's AbuseRateLimitError.
func graphQLLimited(errs []gqlError) error {
	for _, e := range errs {
		switch {
		case e.Type == "RATE_LIMITED":
			return &graphQLLimitError{msg: strings.TrimSpace(e.Type + " " + e.Message)}
		case strings.Contains(strings.ToLower(e.Message), "secondary rate limit"):
			return &graphQLLimitError{secondary: true, msg: strings.TrimSpace(e.Type + " " + e.Message)}
		}
	}
	return nil
}

// errNoData is a GraphQL answer with neither data nor errors.
var errNoData = errors.New("GraphQL answer without data")

type editsAnswer struct {
	Data *struct {
		Node *editNode `json:"node"`
	} `json:"data"`
	Errors []gqlError `json:"errors"`
}

type editsBatchAnswer struct {
	Data *struct {
		Nodes []*editNode `json:"nodes"`
	} `json:"data"`
	Errors []gqlError `json:"errors"`
}

// graphqlURL is the GraphQL endpoint beside the REST API's base:
// https://api.github.com/graphql for https://api.github.com/, and
// https://HOST/api/graphql for GitHub Enterprise Server's
// https://HOST/api/v3/.
const graphqlURL = "../graphql"

// textEdits calls each for every older version of the text nodeID, page
// by page (pageSize edits a page; editsPage when 0) from the cursor after
// (the first page when nil). An edit deleted from the history (diff null)
// is left out.
func textEdits(ctx context.Context, c *gh.Client, lim *limiter, nodeID string, pageSize int, after *string, each func(edit) error) error {
	if pageSize <= 0 {
		pageSize = editsPage
	}
	for page := 1; ; page++ {
		var ans editsAnswer
		err := graphQL(ctx, c, lim, editsQuery, map[string]any{"id": nodeID, "first": pageSize, "after": after}, &ans, &ans.Errors)
		if err == nil && len(ans.Errors) > 0 {
			err = gqlErrors(ans.Errors)
		}
		if err != nil {
			return fmt.Errorf("edit history (page %d): %w", page, err)
		}
		if ans.Data == nil {
			return fmt.Errorf("edit history (page %d): %w", page, errNoData)
		}
		if ans.Data.Node == nil || ans.Data.Node.UserContentEdits == nil {
			return errors.New("edit history: no such text")
		}
		ue := ans.Data.Node.UserContentEdits
		if err := ue.each(each); err != nil {
			return err
		}
		if after = ue.next(); after == nil {
			return nil
		}
	}
}

// batchEdits reads the first page (first edits) of the histories of ids
// in one query. conns[i] is ids[i]'s, or nil with errs[i] saying why (an
// id that resolves to nothing). err is the whole query's failure.
func batchEdits(ctx context.Context, c *gh.Client, lim *limiter, ids []string, first int) (conns []*editsConn, errs []error, err error) {
	var ans editsBatchAnswer
	if err := graphQL(ctx, c, lim, editsBatchQuery, map[string]any{"ids": ids, "first": first}, &ans, &ans.Errors); err != nil {
		return nil, nil, fmt.Errorf("edit histories: %w", err)
	}
	switch {
	case (ans.Data == nil || len(ans.Data.Nodes) != len(ids)) && len(ans.Errors) > 0:
		return nil, nil, fmt.Errorf("edit histories: %w", gqlErrors(ans.Errors))
	case ans.Data == nil:
		// {"data":null} or {} with no errors: no GraphQL server should
		// answer so, but a proxy may.
		return nil, nil, errNoData
	case len(ans.Data.Nodes) != len(ids):
		return nil, nil, fmt.Errorf("edit histories: %d answers for %d texts", len(ans.Data.Nodes), len(ids))
	}
	// An error names its node by path ["nodes", i].
	byNode := map[int][]gqlError{}
	for _, e := range ans.Errors {
		if len(e.Path) == 2 && e.Path[0] == "nodes" {
			if i, ok := e.Path[1].(float64); ok && int(i) >= 0 && int(i) < len(ids) && float64(int(i)) == i {
				byNode[int(i)] = append(byNode[int(i)], e)
				continue
			}
		}
		return nil, nil, fmt.Errorf("edit histories: %w", gqlErrors(ans.Errors))
	}
	conns, errs = make([]*editsConn, len(ids)), make([]error, len(ids))
	for i, n := range ans.Data.Nodes {
		switch {
		case len(byNode[i]) > 0:
			errs[i] = fmt.Errorf("edit history: %w", gqlErrors(byNode[i]))
		case n == nil || n.UserContentEdits == nil:
			errs[i] = errors.New("edit history: no such text")
		default:
			conns[i] = n.UserContentEdits
		}
	}
	return conns, errs, nil
}
