package github

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/testkeys"
)

// TestCommentsEditHistory: keys removed from texts by later edits are
// found in the edit history read through GraphQL (pages of 2 edits,
// followed by endCursor), reported with the text's html_url, a kind ending
// in "-edited" and the editor; a text whose history cannot be read (a
// node GraphQL cannot resolve) is reported and the scan goes on; texts
// never edited cost no GraphQL request. Without Edits, none is found.
func TestCommentsEditHistory(t *testing.T) {
	srv := newFake(t)
	k1 := testkeys.LongTerm(testkeys.ConsoleUser(51), "123456789012", testkeys.Secret(51))
	k2 := testkeys.LongTerm(testkeys.ConsoleUser(52), "123456789012", testkeys.Secret(52))
	t0 := time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)
	var older []githubfake.Edit // newest first, 5 of them: 3 pages of 2
	for i := 5; i >= 1; i-- {
		body := fmt.Sprintf("draft %d", i)
		if i == 2 {
			body = "draft 2 with AWS_BEARER_TOKEN_BEDROCK=" + k1
		}
		older = append(older, githubfake.Edit{Diff: body, Editor: "erin", At: t0.Add(time.Duration(i) * time.Hour)})
	}
	older = append(older, githubfake.Edit{Deleted: true, Editor: "mallory", At: t0})
	app := &githubfake.Repo{Owner: "acme", Name: "app",
		Issues: []*githubfake.Issue{
			{Number: 1, Title: "setup", Body: "fixed, see the wiki", User: "alice", CreatedAt: t0, UpdatedAt: t0.Add(9 * time.Hour),
				Edits: []githubfake.Edit{{Diff: "fixed, see the wiki", Editor: "alice", At: t0.Add(9 * time.Hour)}, {Diff: "use " + k2, Editor: "alice", At: t0}}},
			{Number: 2, Title: "quiet", Body: "never edited", User: "bob", CreatedAt: t0},
		},
		IssueComments: []*githubfake.Comment{
			{ID: 701, Issue: 1, Body: "draft 6", User: "erin", CreatedAt: t0, UpdatedAt: t0.Add(6 * time.Hour), Edits: older},
		},
	}
	srv.Add(app)
	run := func(edits bool, mod func(*CommentsOptions)) (*result, *Comments) {
		res := newResult()
		c, err := NewClient(srv.APIURL(), token, nil)
		if err != nil {
			t.Fatal(err)
		}
		o := CommentsOptions{Client: c, Target: Target{Repos: []string{"acme/app"}}, Issues: true, Edits: edits, OnError: res.onError, editsPage: 2}
		if mod != nil {
			mod(&o)
		}
		cs := NewComments(o)
		if err := scanInto(context.Background(), cs, res); err != nil {
			t.Fatal(err)
		}
		return res, cs
	}
	if res, _ := run(false, nil); len(res.findings) != 0 || srv.Count("graphql") != 0 {
		t.Fatalf("without Edits: findings %v, %d GraphQL requests", res.found(), srv.Count("graphql"))
	}
	res, _ := run(true, nil)
	base := srv.HTMLURL("acme", "app")
	want := []string{
		KindIssueComment + KindEdited + " erin " + base + "/issues/1#issuecomment-701 issues/1#issuecomment-701",
		KindIssue + KindEdited + " alice " + base + "/issues/1 issues/1",
	}
	if got := res.found(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range res.findings {
		if !strings.Contains(f.Kind, "edited") || (f.RawKey() != k1 && f.RawKey() != k2) {
			t.Errorf("finding %s %s", f.Kind, f.Redacted)
		}
	}
	// One batch: issue 1's history (1 page) and comment 701's first page
	// of 2; then comment 701's 2 further pages of 2 on their own; issue 2
	// never edited: none.
	if n := srv.Count("graphql"); n != 3 || len(res.errors) != 0 {
		t.Errorf("%d GraphQL requests (want 3), errors %v", n, res.errors)
	}

	// A text GraphQL cannot resolve (deleted meanwhile): reported by its
	// link, the others scanned.
	srv.Lock()
	app.Issues = append(app.Issues, &githubfake.Issue{Number: 3, Title: "gone", Body: "x", User: "bob", CreatedAt: t0, UpdatedAt: t0.Add(time.Hour), Gone: true})
	srv.Unlock()
	res, _ = run(true, nil)
	if len(res.findings) != 2 {
		t.Errorf("findings %v", res.found())
	}
	if e := res.errors["acme/app (edit history of "+base+"/issues/3)"]; !strings.Contains(e, "NOT_FOUND") {
		t.Errorf("errors %v, want issue 3's history reported NOT_FOUND", res.errors)
	}
}

// editsFixture is one repository whose issue 1 and comment 701 had keys
// removed by later edits (2 findings in their histories, 1 GraphQL
// request each), and the client's options to scan it with Edits.
func editsFixture(t *testing.T) (*githubfake.Server, func(mod func(*CommentsOptions)) *result) {
	srv := newFake(t)
	k1 := testkeys.LongTerm(testkeys.ConsoleUser(61), "123456789012", testkeys.Secret(61))
	k2 := testkeys.LongTerm(testkeys.ConsoleUser(62), "123456789012", testkeys.Secret(62))
	t0 := time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)
	srv.Add(&githubfake.Repo{Owner: "acme", Name: "app",
		Issues: []*githubfake.Issue{{Number: 1, Title: "setup", Body: "fixed", User: "alice", CreatedAt: t0, UpdatedAt: t0.Add(time.Hour),
			Edits: []githubfake.Edit{{Diff: "fixed", Editor: "alice", At: t0.Add(time.Hour)}, {Diff: "use " + k2, Editor: "alice", At: t0}}}},
		IssueComments: []*githubfake.Comment{{ID: 701, Issue: 1, Body: "gone", User: "erin", CreatedAt: t0, UpdatedAt: t0.Add(time.Hour),
			Edits: []githubfake.Edit{{Diff: "gone", Editor: "erin", At: t0.Add(time.Hour)}, {Diff: "key " + k1, Editor: "erin", At: t0}}}},
	})
	return srv, func(mod func(*CommentsOptions)) *result {
		res := newResult()
		c, err := NewClient(srv.APIURL(), token, nil)
		if err != nil {
			t.Fatal(err)
		}
		o := CommentsOptions{Client: c, Target: Target{Repos: []string{"acme/app"}}, Issues: true, Edits: true, OnError: res.onError, Log: res.log}
		if mod != nil {
			mod(&o)
		}
		if err := scanInto(context.Background(), NewComments(o), res); err != nil {
			t.Fatal(err)
		}
		return res
	}
}

// TestEditHistoryRateLimits: GraphQL refusals by a rate limit, in each
// form GitHub answers them (200 with a RATE_LIMITED error and
// x-ratelimit-remaining 0; a secondary limit as 200 or 403 with
// retry-after; 429), are waited out as GitHub says, the wait logged, and
// the request retried: both keys found, nothing reported. It failed
// before for the two 200 forms: the history was reported failed at once
// ("GraphQL: RATE_LIMITED …") and its key missed.
func TestEditHistoryRateLimits(t *testing.T) {
	for _, kind := range []string{"primary", "secondary-200", "secondary", "429"} {
		t.Run(kind, func(t *testing.T) {
			srv, run := editsFixture(t)
			f := &githubfake.Fault{GraphQL: true, Kind: kind, RetryAfter: time.Second}
			srv.AddFault(f)
			var mu sync.Mutex
			var waits []time.Duration
			res := run(func(o *CommentsOptions) {
				o.sleep = func(ctx context.Context, d time.Duration) error {
					mu.Lock()
					waits = append(waits, d)
					mu.Unlock()
					return sleepCtx(ctx, d) // a real wait: go-github holds requests until x-ratelimit-reset
				}
			})
			if srv.Fired(f) != 1 || len(res.findings) != 2 || len(res.errors) != 0 {
				t.Fatalf("fired %d, findings %v, errors %v", srv.Fired(f), res.found(), res.errors)
			}
			if len(waits) != 1 || waits[0] < time.Second || waits[0] > 5*time.Second || !res.logged("rate limit reached (edit history)") {
				t.Errorf("waits %v, logs %v", waits, res.logs)
			}
		})
	}
}

// TestEditHistoryRateLimitGivesUp: a history refused by a rate limit
// through every retry is reported as failed, named by its text's link,
// after a bounded number of waits, and the scan goes on to the next
// text's history (its key found; batches of one text here). It failed
// before: no wait at all, the refusal reported at the first answer.
func TestEditHistoryRateLimitGivesUp(t *testing.T) {
	srv, run := editsFixture(t)
	f := &githubfake.Fault{GraphQL: true, Kind: "secondary-200", Times: maxLimitRetries + 1}
	srv.AddFault(f)
	waits := 0
	res := run(func(o *CommentsOptions) {
		o.sleep = func(ctx context.Context, d time.Duration) error { waits++; return nil }
		o.editsBatch = 1
	})
	issue := "acme/app (edit history of " + srv.HTMLURL("acme", "app") + "/issues/1)"
	if e := res.errors[issue]; !strings.Contains(e, "secondary rate limit") || len(res.errors) != 1 {
		t.Errorf("errors %v, want %s reported", res.errors, issue)
	}
	if srv.Fired(f) != maxLimitRetries+1 || waits != maxLimitRetries || len(res.findings) != 1 || !strings.Contains(res.findings[0].HTMLURL, "issuecomment-701") {
		t.Errorf("fired %d, %d waits, findings %v", srv.Fired(f), waits, res.found())
	}
}

// TestEditHistoryBatched: the histories of edited texts are read 50 to a
// GraphQL query (nodes(ids:)), with the same findings and failures as one
// query per text: 62 edited texts (60 comments with a key in an older
// version, a comment whose key is in its 23rd edit, past the batch's
// first page, and an issue GraphQL cannot resolve, reported by its link)
// and 10 never edited (no request). One query per text (batches of one)
// takes 63 requests, batches of 50 take 3 (2 batches and the rest of
// the long history).
func TestEditHistoryBatched(t *testing.T) {
	srv := newFake(t)
	t0 := time.Date(2025, 5, 1, 9, 0, 0, 0, time.UTC)
	key := func(seed uint64) string {
		return testkeys.LongTerm(testkeys.ConsoleUser(seed), "123456789012", testkeys.Secret(seed))
	}
	rp := &githubfake.Repo{Owner: "acme", Name: "busy", Issues: []*githubfake.Issue{
		{Number: 1, Title: "t", Body: "b", User: "u", CreatedAt: t0},
		{Number: 2, Title: "gone", Body: "b", User: "u", CreatedAt: t0, UpdatedAt: t0.Add(time.Hour), Gone: true},
	}}
	for i := range 70 {
		c := &githubfake.Comment{ID: int64(1000 + i), Issue: 1, Body: "redacted", User: "u", CreatedAt: t0}
		if i < 60 {
			c.UpdatedAt = t0.Add(time.Hour)
			c.Edits = []githubfake.Edit{{Diff: "redacted", Editor: "u", At: t0.Add(time.Hour)}, {Diff: "key " + key(uint64(300+i)), Editor: "u", At: t0}}
		}
		rp.IssueComments = append(rp.IssueComments, c)
	}
	long := &githubfake.Comment{ID: 2000, Issue: 1, Body: "v25", User: "u", CreatedAt: t0, UpdatedAt: t0.Add(25 * time.Hour)}
	for i := 25; i >= 1; i-- {
		d := fmt.Sprintf("v%d", i)
		if i == 3 { // the 23rd edit, newest first
			d = "key " + key(400)
		}
		long.Edits = append(long.Edits, githubfake.Edit{Diff: d, Editor: "u", At: t0.Add(time.Duration(i) * time.Hour)})
	}
	rp.IssueComments = append(rp.IssueComments, long)
	srv.Add(rp)
	run := func(batch int) (*result, int) {
		before := srv.Count("graphql")
		res := newResult()
		c, err := NewClient(srv.APIURL(), token, nil)
		if err != nil {
			t.Fatal(err)
		}
		o := CommentsOptions{Client: c, Target: Target{Repos: []string{"acme/busy"}}, Issues: true, Edits: true, OnError: res.onError, editsBatch: batch}
		if err := scanInto(context.Background(), NewComments(o), res); err != nil {
			t.Fatal(err)
		}
		return res, srv.Count("graphql") - before
	}
	single, n1 := run(1)
	batched, n50 := run(0)
	if n1 != 63 || n50 != 3 {
		t.Errorf("GraphQL requests: %d one text a query (want 63), %d batched (want 3)", n1, n50)
	}
	gone := "acme/busy (edit history of " + srv.HTMLURL("acme", "busy") + "/issues/2)"
	for name, res := range map[string]*result{"single": single, "batched": batched} {
		if len(res.findings) != 61 || len(res.errors) != 1 || !strings.Contains(res.errors[gone], "NOT_FOUND") {
			t.Errorf("%s: %d findings (want 61), errors %v", name, len(res.findings), res.errors)
		}
	}
	if a, b := strings.Join(single.found(), "\n"), strings.Join(batched.found(), "\n"); a != b {
		t.Errorf("findings differ:\n%s\n---\n%s", a, b)
	}
}

// TestEditHistoryBatchFallsBack: a batch query that fails as a whole (a
// server error through every retry) is read again one text at a time:
// both keys found, nothing reported.
func TestEditHistoryBatchFallsBack(t *testing.T) {
	srv, run := editsFixture(t)
	f := &githubfake.Fault{GraphQL: true, Kind: "500", Times: maxServerRetries + 1}
	srv.AddFault(f)
	res := run(func(o *CommentsOptions) {
		o.sleep = func(ctx context.Context, d time.Duration) error { return nil }
	})
	if srv.Fired(f) != maxServerRetries+1 || len(res.findings) != 2 || len(res.errors) != 0 || srv.Count("graphql") != maxServerRetries+1+2 {
		t.Errorf("fired %d, %d GraphQL requests, findings %v, errors %v", srv.Fired(f), srv.Count("graphql"), res.found(), res.errors)
	}
}

// TestEditHistoryNoData: a GraphQL answer with neither data nor errors
// (200 {"data":null} or {}) is a failed query, not a crash. A batch
// answered so is read again one text at a time (both keys found); when
// the one-text queries are answered so too, each history is reported
// failed by its text's link and the sweep goes on. It failed before: the
// batch's answer panicked (nil pointer dereference in batchEdits).
func TestEditHistoryNoData(t *testing.T) {
	for _, kind := range []string{"null-data", "empty"} {
		for _, times := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s-%d", kind, times), func(t *testing.T) {
				srv, run := editsFixture(t)
				f := &githubfake.Fault{GraphQL: true, Kind: kind, Times: times}
				srv.AddFault(f)
				res := run(nil)
				if srv.Fired(f) != times || srv.Count("graphql") != 3 {
					t.Errorf("fired %d, %d GraphQL requests (want %d, 3)", srv.Fired(f), srv.Count("graphql"), times)
				}
				if times == 1 {
					if len(res.findings) != 2 || len(res.errors) != 0 {
						t.Errorf("findings %v, errors %v", res.found(), res.errors)
					}
					return
				}
				base := "acme/app (edit history of " + srv.HTMLURL("acme", "app")
				if len(res.findings) != 0 || len(res.errors) != 2 ||
					!strings.Contains(res.errors[base+"/issues/1)"], "without data") ||
					!strings.Contains(res.errors[base+"/issues/1#issuecomment-701)"], "without data") {
					t.Errorf("findings %v, errors %v", res.found(), res.errors)
				}
			})
		}
	}
}

// TestEditHistoryGivenUpNotRecorded: a history given up (a batch refused
// by a rate limit through every retry) leaves the repository's
// incremental state unrecorded, so the next run lists those texts again
// and reads their histories: both keys found then, and the state
// recorded. It failed before: the state was recorded after the failed
// run, and the second run, listing only texts updated since, found
// nothing.
func TestEditHistoryGivenUpNotRecorded(t *testing.T) {
	srv, run := editsFixture(t)
	path := filepath.Join(t.TempDir(), "state.json")
	f := &githubfake.Fault{GraphQL: true, Kind: "secondary-200", Times: maxLimitRetries + 1}
	srv.AddFault(f)
	withState := func(o *CommentsOptions) {
		st, err := OpenState(path)
		if err != nil {
			t.Fatal(err)
		}
		o.State = st
		o.sleep = func(ctx context.Context, d time.Duration) error { return nil }
	}
	res := run(withState)
	if srv.Fired(f) != maxLimitRetries+1 || len(res.findings) != 0 || len(res.errors) != 2 {
		t.Fatalf("first run: fired %d, findings %v, errors %v", srv.Fired(f), res.found(), res.errors)
	}
	if st, err := OpenState(path); err != nil || st.Len() != 0 {
		t.Errorf("state after a given-up history: %v entries (err %v), want none", st.Len(), err)
	}
	res = run(withState)
	if len(res.findings) != 2 || len(res.errors) != 0 {
		t.Errorf("second run: findings %v, errors %v, want both keys", res.found(), res.errors)
	}
	if st, err := OpenState(path); err != nil || st.Len() != 1 {
		t.Errorf("state after a complete run: %v entries (err %v), want 1", st.Len(), err)
	}
}

// TestRateLimitWaitTooLong: an answer asking for a wait longer than bks
// waits (an X-RateLimit-Reset in the year 5138, a Retry-After of 10^14
// seconds, past what time.Duration holds), on the GraphQL and the REST
// path, is not waited out: the request is reported at once, saying so,
// and the sweep goes on (none retried). It failed before: the far reset was waited
// (waits of 10^11 s, 12 times) and the huge Retry-After overflowed into
// waits that were negative or wrapped, retried back to back.
func TestRateLimitWaitTooLong(t *testing.T) {
	const farReset, hugeSecs = "99999999999", "100000000000000"
	for _, tc := range []struct {
		name string
		f    githubfake.Fault
	}{
		{"graphql-primary", githubfake.Fault{GraphQL: true, Kind: "primary", Header: map[string]string{"X-RateLimit-Reset": farReset}}},
		{"graphql-secondary-200", githubfake.Fault{GraphQL: true, Kind: "secondary-200", Header: map[string]string{"Retry-After": hugeSecs}}},
		{"graphql-429", githubfake.Fault{GraphQL: true, Kind: "429", Header: map[string]string{"Retry-After": hugeSecs}}},
		{"rest-primary", githubfake.Fault{PathContains: "/acme/app/issues", Kind: "primary", Header: map[string]string{"X-RateLimit-Reset": farReset}}},
		{"rest-secondary", githubfake.Fault{PathContains: "/acme/app/issues", Kind: "secondary", Header: map[string]string{"Retry-After": hugeSecs}}},
		{"rest-429", githubfake.Fault{PathContains: "/acme/app/issues", Kind: "429", Header: map[string]string{"Retry-After": hugeSecs}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, run := editsFixture(t)
			f := tc.f
			f.Times = maxLimitRetries + 1
			srv.AddFault(&f)
			var mu sync.Mutex
			var waits []time.Duration
			res := run(func(o *CommentsOptions) {
				o.sleep = func(ctx context.Context, d time.Duration) error {
					mu.Lock()
					waits = append(waits, d)
					mu.Unlock()
					return nil
				}
			})
			// Each request refused once, none retried: go-github then
			// refuses further ones itself for a primary or a 403
			// secondary limit; a 429 reaches the fake again.
			if len(waits) != 0 || srv.Fired(&f) < 1 || srv.Fired(&f) > len(res.errors) {
				t.Errorf("waits %v, fired %d, errors %v", waits, srv.Fired(&f), res.errors)
			}
			for what, e := range res.errors {
				if !strings.Contains(e, "more than bks waits") {
					t.Errorf("%s: %s, want the wait refused", what, e)
				}
			}
		})
	}
}
