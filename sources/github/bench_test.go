package github

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/testkeys"
)

// BenchmarkCommentsOrg reads the issues, comments and review comments of
// an organization of 200 repositories on the loopback fake (30 issues and
// pull requests, 60 comments and 10 review comments each, one key per
// repository) through the detectors: repositories per minute and texts
// (comments) per second. Run with -benchtime=1x; peak RSS with
// /usr/bin/time -v on the test binary.
func BenchmarkCommentsOrg(b *testing.B) {
	const repos, issues, comments, reviews = 200, 30, 60, 10
	srv, err := githubfake.New()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	body := string(testkeys.SourceText(600, 7))
	for r := range repos {
		rp := &githubfake.Repo{Owner: "acme", Name: fmt.Sprintf("svc-%03d", r)}
		for i := 1; i <= issues; i++ {
			rp.Issues = append(rp.Issues, &githubfake.Issue{Number: i, PR: i%3 == 0, Title: "issue", Body: body, User: "u", CreatedAt: t0.Add(time.Duration(i) * time.Minute)})
		}
		for i := range comments {
			rp.IssueComments = append(rp.IssueComments, &githubfake.Comment{ID: int64(r*1000 + i), Issue: 1 + i%issues, Body: body, User: "u", CreatedAt: t0.Add(time.Duration(i) * time.Second)})
		}
		for i := range reviews {
			rp.ReviewComments = append(rp.ReviewComments, &githubfake.Comment{ID: int64(r*1000 + 500 + i), Issue: 3, Body: body, User: "u", CreatedAt: t0})
		}
		k := testkeys.LongTerm(testkeys.ConsoleUser(uint64(r)), "123456789012", testkeys.Secret(uint64(r)))
		rp.IssueComments[5].Body = "key: " + k
		srv.Add(rp)
	}
	c, err := NewClient(srv.APIURL(), "", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var texts int64
	start := time.Now()
	for range b.N {
		res := newResult()
		src := NewComments(CommentsOptions{Client: c, Target: Target{Orgs: []string{"acme"}}, Issues: true, PullRequests: true, OnError: res.onError})
		if err := scanInto(context.Background(), src, res); err != nil {
			b.Fatal(err)
		}
		if len(res.findings) != repos || len(res.errors) != 0 {
			b.Fatalf("%d findings, errors %v", len(res.findings), res.errors)
		}
		texts += src.Texts()
	}
	el := time.Since(start)
	b.ReportMetric(float64(repos*b.N)/el.Minutes(), "repos/min")
	b.ReportMetric(float64(texts)/el.Seconds(), "texts/s")
}
