package github

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/reposweep"
)

// Kinds of the texts a Comments source scans (location.Location.Kind).
// Each text is scanned as its own item; an issue's or a pull request's
// text is its title, a newline, then its body (line 1 is the title).
const (
	KindIssue         = "issue"          // an issue's title and body
	KindPullRequest   = "pull-request"   // a pull request's title and body
	KindIssueComment  = "issue-comment"  // a comment on an issue
	KindPRComment     = "pr-comment"     // a comment in a pull request's conversation
	KindReviewComment = "review-comment" // a review comment on a line of a pull request's diff
)

// CommentsOptions configure a Comments source.
type CommentsOptions struct {
	Client *gh.Client
	Target Target
	Filter Filter
	Shard  Shard
	// Issues scans issue bodies and their comments; PullRequests scans
	// pull request bodies, conversation comments and review comments.
	Issues, PullRequests bool
	// Edits also scans the edit history of every text edited since it
	// was written (GraphQL userContentEdits, the same token): each older
	// version is its own item, of kind KIND-edited, by its editor.
	Edits bool
	// Workers is how many repositories are read at once; max(4, CPUs)
	// when 0.
	Workers int
	// State, when not nil, makes the scan incremental: a repository whose
	// texts were all read before is asked only for those created or
	// edited since (GitHub's since parameter), and recorded again once
	// read. It is keyed "owner/name#issues+pr-comments" (the surfaces
	// read), so it can share the file of a history sweep.
	State *State
	// OnError receives a repository whose texts could not all be read,
	// named "owner/name (issues)"; the scan goes on.
	OnError sources.ErrorHandler
	// Log receives rate-limit waits.
	Log func(msg string)
	// Progress, when not nil, counts the bytes scanned.
	Progress *Progress

	sleep      func(context.Context, time.Duration) error // tests
	editsPage  int                                        // tests; editsPage when 0
	editsBatch int                                        // tests; editsBatch when 0
}

// Comments is a source of the issue and pull request texts (bodies,
// comments, review comments) of every repository of a target, read through
// the REST API; with Edits, the older versions of each edited text too,
// read through GraphQL (the REST API returns each text as it is now). It calls
// yield from several goroutines at once (one per repository); the chunks
// of one text come in order from one goroutine.
type Comments struct {
	opts  CommentsOptions
	lim   *limiter
	texts atomic.Int64
}

var _ sources.Source = (*Comments)(nil)

// NewComments returns a Comments source.
func NewComments(opts CommentsOptions) *Comments {
	return &Comments{opts: opts, lim: newLimiter(opts.Log, opts.sleep)}
}

// Texts is the number of texts read so far.
func (c *Comments) Texts() int64 { return c.texts.Load() }

// text is one issue, pull request or comment to scan.
type text struct {
	kind, htmlURL, author string
	created               time.Time
	data                  string
	// nodeID is its GraphQL id; edited says it was changed since it
	// was written (updated_at after created_at), so it may have older
	// versions; body is the part of data an edit holds. An edit always
	// moves updated_at, but so do other changes (on an issue a comment,
	// a label, closing it; reactions may too): edited is a safe
	// over-approximation, whose extra texts cost a place in a batch
	// query (editsBatch), not a request each.
	nodeID string
	edited bool
	body   string
}

// textList is one listing endpoint of a repository's texts.
type textList struct {
	what string // in messages
	// list reads the texts created or edited since (all when zero) and
	// calls emit for each that the options ask for.
	list func(ctx context.Context, c *Comments, r Repo, since time.Time, emit func(text) error) error
}

// textLists are the endpoints read, in order.
var textLists = []textList{
	{"issues", listIssueTexts},
	{"issue comments", listIssueComments},
	{"review comments", listReviewComments},
}

// surfaces names the surfaces read, for the resume state's key.
func (c *Comments) surfaces() string {
	var s []string
	if c.opts.Issues {
		s = append(s, "issues")
	}
	if c.opts.PullRequests {
		s = append(s, "pr-comments")
	}
	if c.opts.Edits {
		s = append(s, "edits")
	}
	return strings.Join(s, "+")
}

// Chunks implements sources.Source. It fails only when the repositories
// cannot be listed, yield fails or ctx is done.
func (c *Comments) Chunks(ctx context.Context, split sources.Chunker, yield func(sources.Chunk) error) error {
	if !c.opts.Issues && !c.opts.PullRequests {
		return nil
	}
	l := &Lister{Client: c.opts.Client, Target: c.opts.Target, Filter: c.opts.Filter, Shard: c.opts.Shard, lim: c.lim}
	repos, err := l.List(ctx)
	if err != nil {
		return err
	}
	return reposweep.Each(ctx, c.opts.Workers, repos, func(ctx context.Context, r Repo) error { return c.repo(ctx, r, split, yield) })
}

// repo scans one repository's texts. It returns an error only to stop the
// scan (yield failed, ctx done); a listing that fails is reported.
func (c *Comments) repo(ctx context.Context, r Repo, split sources.Chunker, yield func(sources.Chunk) error) error {
	key := r.FullName + "#" + c.surfaces()
	start := time.Now().UTC().Truncate(time.Second).Add(-time.Second)
	var since time.Time
	if st := c.opts.State; st != nil {
		if rs, ok := st.Lookup(key); ok {
			since, _ = time.Parse(time.RFC3339, rs.Head)
		}
	}
	// A failure (a listing's, a history's) is reported and keeps the
	// repository's state unrecorded: the next incremental run lists
	// those texts again.
	failed := false
	fail := func(what string, err error) {
		failed = true
		if c.opts.OnError != nil {
			c.opts.OnError(r.FullName+" ("+what+")", err)
		}
	}
	// Edited texts wait in pending, their histories read a batch at a
	// time.
	var pending []text
	batch := cmp.Or(c.opts.editsBatch, editsBatch)
	var emit func(t text) error
	emit = func(t text) error {
		c.texts.Add(1)
		if p := c.opts.Progress; p != nil {
			p.Bytes.Add(int64(len(t.data)))
		}
		if err := split.SplitBytes([]byte(t.data), c.origin(r, t), yield); err != nil {
			return &yieldError{err}
		}
		if c.opts.Edits && t.edited && t.nodeID != "" {
			if pending = append(pending, t); len(pending) == batch {
				err := c.emitEditsBatch(ctx, pending, emit, fail)
				pending = pending[:0]
				return err
			}
		}
		return nil
	}
	for _, tl := range textLists {
		err := tl.list(ctx, c, r, since, emit)
		var ye *yieldError
		switch {
		case errors.As(err, &ye):
			return ye.err
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			fail(tl.what, err)
		}
	}
	if len(pending) > 0 {
		// Only the consumer's error or ctx's comes back: a history that
		// cannot be read is reported.
		if err := c.emitEditsBatch(ctx, pending, emit, fail); err != nil {
			if ye := (*yieldError)(nil); errors.As(err, &ye) {
				return ye.err
			}
			return err
		}
	}
	if st := c.opts.State; st != nil && !failed {
		if err := st.Record(key, Tip{Head: start.Format(time.RFC3339), Refs: c.surfaces()}, time.Now()); err != nil && c.opts.OnError != nil {
			c.opts.OnError(r.FullName, err)
		}
	}
	return nil
}

// emitEditsBatch emits the older versions of texts ts (emitEdits),
// reading the first page of every history in one GraphQL query. When that
// query fails as a whole for another reason than a rate limit (a server
// error, an answer it cannot use), each history is read on its own, so
// that one text's failure is reported by its link and never drops the
// others'; a rate limit that outlasted every retry reports each text
// (through fail).
func (c *Comments) emitEditsBatch(ctx context.Context, ts []text, emit func(text) error, fail func(what string, err error)) error {
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.nodeID
	}
	first := editsBatchFirst
	if c.opts.editsPage > 0 {
		first = c.opts.editsPage
	}
	conns, errs, err := batchEdits(ctx, c.opts.Client, c.lim, ids, first)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for i, t := range ts {
		var conn *editsConn
		var terr error
		switch {
		case err == nil:
			conn, terr = conns[i], errs[i]
		case c.lim.isRateLimit(err):
			// Waited out maxLimitRetries times already: each text is
			// reported, not retried on its own.
			terr = err
		}
		if err := c.emitEdits(ctx, t, conn, terr, emit, fail); err != nil {
			return err
		}
	}
	return nil
}

// emitEdits emits the older versions of text t, each as a text of kind
// KIND-edited by its editor, at its time, linked to t: those of the page
// first (read by a batch) and the pages after it, or, without first, the
// whole history. A version equal to the text as it is now is left out
// (scanned already). A history that cannot be read (ferr: the batch said
// why) is reported through fail, named by t's link, and the scan goes
// on.
func (c *Comments) emitEdits(ctx context.Context, t text, first *editsConn, ferr error, emit func(text) error, fail func(what string, err error)) error {
	each := func(e edit) error {
		if e.diff == t.body {
			return nil
		}
		return emit(text{kind: t.kind + KindEdited, htmlURL: t.htmlURL, author: e.editor, created: e.at, data: e.diff})
	}
	err := ferr
	switch {
	case err != nil:
	case first == nil:
		err = textEdits(ctx, c.opts.Client, c.lim, t.nodeID, c.opts.editsPage, nil, each)
	default:
		err = first.each(each)
		if after := first.next(); err == nil && after != nil {
			err = textEdits(ctx, c.opts.Client, c.lim, t.nodeID, c.opts.editsPage, after, each)
		}
	}
	var ye *yieldError
	if err == nil || errors.As(err, &ye) || ctx.Err() != nil {
		return err
	}
	fail("edit history of "+t.htmlURL, err)
	return nil
}

// yieldError marks an error of the consumer, which stops the scan.
type yieldError struct{ err error }

func (e *yieldError) Error() string { return e.err.Error() }
func (e *yieldError) Unwrap() error { return e.err }

// origin describes text t of repository r: its link, its author, and a
// path below the repository ("issues/12#issuecomment-34").
func (c *Comments) origin(r Repo, t text) *location.Location {
	p := t.htmlURL
	if base := strings.TrimSuffix(r.HTMLURL, "/") + "/"; r.HTMLURL != "" && strings.HasPrefix(p, base) {
		p = strings.TrimPrefix(p, base)
	}
	return &location.Location{Repo: r.FullName, Path: p, HTMLURL: t.htmlURL, Author: t.author, Date: location.Date(t.created), Kind: t.kind}
}

// pages calls fetch for page 1, 2, … as the Link header's next relation
// says (https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api),
// waiting out rate limits, and each for every item.
func pages[T any](ctx context.Context, lim *limiter, what string, fetch func(gh.ListOptions) ([]T, *gh.Response, error), each func(T) error) error {
	opt := gh.ListOptions{PerPage: perPage}
	for {
		var items []T
		var resp *gh.Response
		err := lim.call(ctx, what, func() (*gh.Response, error) {
			var err error
			items, resp, err = fetch(opt)
			return resp, err
		})
		if err != nil {
			return fmt.Errorf("%s (page %d): %w", what, max(opt.Page, 1), err)
		}
		for _, it := range items {
			if err := each(it); err != nil {
				return err
			}
		}
		if resp.NextPage == 0 {
			return nil
		}
		opt.Page = resp.NextPage
	}
}

// listIssueTexts reads issue and pull request titles and bodies
// (https://docs.github.com/en/rest/issues/issues#list-repository-issues:
// the endpoint returns pull requests too, marked by pull_request).
func listIssueTexts(ctx context.Context, c *Comments, r Repo, since time.Time, emit func(text) error) error {
	return pages(ctx, c.lim, "list issues of "+r.FullName, func(lo gh.ListOptions) ([]*gh.Issue, *gh.Response, error) {
		return c.opts.Client.Issues.ListByRepo(ctx, r.Owner, r.Name, &gh.IssueListByRepoOptions{State: "all", Since: since, ListOptions: lo})
	}, func(is *gh.Issue) error {
		kind, on := KindIssue, c.opts.Issues
		if is.IsPullRequest() {
			kind, on = KindPullRequest, c.opts.PullRequests
		}
		if !on {
			return nil
		}
		return emit(text{kind: kind, htmlURL: is.GetHTMLURL(), author: is.GetUser().GetLogin(),
			created: is.GetCreatedAt().Time, data: is.GetTitle() + "\n" + is.GetBody(),
			nodeID: is.GetNodeID(), edited: is.GetUpdatedAt().After(is.GetCreatedAt().Time), body: is.GetBody()})
	})
}

// listIssueComments reads the comments on issues and in pull request
// conversations
// (https://docs.github.com/en/rest/issues/comments#list-issue-comments-for-a-repository);
// a pull request's links under /pull/.
func listIssueComments(ctx context.Context, c *Comments, r Repo, since time.Time, emit func(text) error) error {
	opt := &gh.IssueListCommentsOptions{}
	if !since.IsZero() {
		opt.Since = &since
	}
	return pages(ctx, c.lim, "list issue comments of "+r.FullName, func(lo gh.ListOptions) ([]*gh.IssueComment, *gh.Response, error) {
		opt.ListOptions = lo
		return c.opts.Client.Issues.ListComments(ctx, r.Owner, r.Name, 0, opt)
	}, func(ic *gh.IssueComment) error {
		kind, on := KindIssueComment, c.opts.Issues
		if strings.Contains(ic.GetHTMLURL(), "/pull/") {
			kind, on = KindPRComment, c.opts.PullRequests
		}
		if !on {
			return nil
		}
		return emit(text{kind: kind, htmlURL: ic.GetHTMLURL(), author: ic.GetUser().GetLogin(),
			created: ic.GetCreatedAt().Time, data: ic.GetBody(),
			nodeID: ic.GetNodeID(), edited: ic.GetUpdatedAt().After(ic.GetCreatedAt().Time), body: ic.GetBody()})
	})
}

// listReviewComments reads the review comments on pull request diffs
// (https://docs.github.com/en/rest/pulls/comments#list-review-comments-in-a-repository).
func listReviewComments(ctx context.Context, c *Comments, r Repo, since time.Time, emit func(text) error) error {
	if !c.opts.PullRequests {
		return nil
	}
	return pages(ctx, c.lim, "list review comments of "+r.FullName, func(lo gh.ListOptions) ([]*gh.PullRequestComment, *gh.Response, error) {
		return c.opts.Client.PullRequests.ListComments(ctx, r.Owner, r.Name, 0, &gh.PullRequestListCommentsOptions{Since: since, ListOptions: lo})
	}, func(pc *gh.PullRequestComment) error {
		return emit(text{kind: KindReviewComment, htmlURL: pc.GetHTMLURL(), author: pc.GetUser().GetLogin(),
			created: pc.GetCreatedAt().Time, data: pc.GetBody(),
			nodeID: pc.GetNodeID(), edited: pc.GetUpdatedAt().After(pc.GetCreatedAt().Time), body: pc.GetBody()})
	})
}
