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

// editsPage is GitHub's maximum page size for a connection.
const editsPage = 100

type edit struct {
	at     time.Time
	editor string
	diff   string
}

// gqlError is one entry of a GraphQL answer's errors.
type gqlError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
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

type editsAnswer struct {
	Data struct {
		Node *struct {
			UserContentEdits *struct {
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
			} `json:"userContentEdits"`
		} `json:"node"`
	} `json:"data"`
	Errors []gqlError `json:"errors"`
}

// graphqlURL is the GraphQL endpoint beside the REST API's base:
// https://api.github.com/graphql for https://api.github.com/, and
// https://HOST/api/graphql for GitHub Enterprise Server's
// https://HOST/api/v3/.
const graphqlURL = "../graphql"

// textEdits calls each for every older version of the text nodeID, page
// by page (pageSize edits a page; editsPage when 0), through the client's
// transport (its token, its host) and the rate limiter. An edit deleted
// from the history (diff null) is left out.
func textEdits(ctx context.Context, c *gh.Client, lim *limiter, nodeID string, pageSize int, each func(edit) error) error {
	if pageSize <= 0 {
		pageSize = editsPage
	}
	var after *string
	for page := 1; ; page++ {
		vars := map[string]any{"id": nodeID, "first": pageSize, "after": after}
		var ans editsAnswer
		err := lim.call(ctx, "edit history", func() (*gh.Response, error) {
			ans = editsAnswer{}
			req, err := c.NewRequest(http.MethodPost, graphqlURL, map[string]any{"query": editsQuery, "variables": vars})
			if err != nil {
				return nil, err
			}
			resp, err := c.Do(ctx, req, &ans)
			if err == nil {
				err = graphQLLimited(ans.Errors)
			}
			return resp, err
		})
		if err != nil {
			return fmt.Errorf("edit history (page %d): %w", page, err)
		}
		if len(ans.Errors) > 0 {
			var msgs []string
			for _, e := range ans.Errors {
				msgs = append(msgs, strings.TrimSpace(e.Type+" "+e.Message))
			}
			return fmt.Errorf("edit history (page %d): GraphQL: %s", page, strings.Join(msgs, "; "))
		}
		if ans.Data.Node == nil || ans.Data.Node.UserContentEdits == nil {
			return errors.New("edit history: no such text")
		}
		ue := ans.Data.Node.UserContentEdits
		for _, n := range ue.Nodes {
			if n.Diff == nil {
				continue
			}
			e := edit{at: n.EditedAt, diff: *n.Diff}
			if n.Editor != nil {
				e.editor = n.Editor.Login
			}
			if err := each(e); err != nil {
				return err
			}
		}
		if !ue.PageInfo.HasNextPage || ue.PageInfo.EndCursor == "" {
			return nil
		}
		cur := ue.PageInfo.EndCursor
		after = &cur
	}
}
