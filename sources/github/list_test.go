package github

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v62/github"
)

func names(rs []Repo) map[string]bool {
	m := map[string]bool{}
	for _, r := range rs {
		m[r.FullName] = true
	}
	return m
}

func TestListFilters(t *testing.T) {
	o := newOrg(t, 250)
	c := o.client(t)
	cases := []struct {
		name    string
		target  Target
		filter  Filter
		want    int
		has     []string
		hasNot  []string
		wantErr string
	}{
		{name: "default skips forks and archived", target: Target{Orgs: []string{"acme"}}, want: 257,
			has: []string{"acme/svc-000", "acme/svc-249", "acme/secret-sauce"}, hasNot: []string{"acme/forked", "acme/old", "other/elsewhere"}},
		{name: "forks and archived", target: Target{Orgs: []string{"acme"}}, filter: Filter{Forks: true, Archived: true}, want: 259},
		{name: "private only", target: Target{Orgs: []string{"acme"}}, filter: Filter{Visibility: "private"}, want: 1, has: []string{"acme/secret-sauce"}},
		{name: "public", target: Target{Orgs: []string{"acme"}}, filter: Filter{Visibility: "public"}, want: 256, hasNot: []string{"acme/secret-sauce"}},
		{name: "include glob", target: Target{Orgs: []string{"acme"}}, filter: Filter{Include: []string{"keys-*"}}, want: 3},
		{name: "include full-name glob, case-insensitive", target: Target{Orgs: []string{"acme"}}, filter: Filter{Include: []string{"ACME/svc-00?"}}, want: 10},
		{name: "exclude glob", target: Target{Orgs: []string{"acme"}}, filter: Filter{Exclude: []string{"svc-*"}}, want: 7},
		{name: "topic", target: Target{Orgs: []string{"acme"}}, filter: Filter{Topics: []string{"Payments"}}, want: 1, has: []string{"acme/tagged"}},
		{name: "user and repo, each once", target: Target{Users: []string{"other"}, Repos: []string{"other/elsewhere", "acme/forked"}}, want: 2, has: []string{"acme/forked"}},
		{name: "bad glob", target: Target{Orgs: []string{"acme"}}, filter: Filter{Include: []string{"["}}, wantErr: "glob"},
		{name: "bad visibility", target: Target{Orgs: []string{"acme"}}, filter: Filter{Visibility: "secret"}, wantErr: "visibility"},
		{name: "bad repo", target: Target{Repos: []string{"acme"}}, wantErr: "OWNER/NAME"},
		{name: "unknown org", target: Target{Orgs: []string{"nobody"}}, wantErr: "404"},
		{name: "nothing", wantErr: "nothing to list"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := &Lister{Client: c, Target: tc.target, Filter: tc.filter}
			got, err := l.List(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Errorf("%d repositories, want %d", len(got), tc.want)
			}
			m := names(got)
			for _, n := range tc.has {
				if !m[n] {
					t.Errorf("missing %s", n)
				}
			}
			for _, n := range tc.hasNot {
				if m[n] {
					t.Errorf("unexpected %s", n)
				}
			}
			for i := 1; i < len(got); i++ {
				if strings.ToLower(got[i-1].FullName) >= strings.ToLower(got[i].FullName) {
					t.Fatalf("not sorted at %d: %s, %s", i, got[i-1].FullName, got[i].FullName)
				}
			}
		})
	}
}

// TestShardsCoverOnce lists the organization in N shards and checks that
// every repository is in exactly one.
func TestShardsCoverOnce(t *testing.T) {
	o := newOrg(t, 250)
	c := o.client(t)
	all, err := (&Lister{Client: c, Target: Target{Orgs: []string{"acme"}}}).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 3, 7} {
		seen := map[string]int{}
		for i := range n {
			part, err := (&Lister{Client: c, Target: Target{Orgs: []string{"acme"}}, Shard: Shard{i, n}}).List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n > 1 && (len(part) == 0 || len(part) == len(all)) {
				t.Errorf("shard %d/%d holds %d of %d", i, n, len(part), len(all))
			}
			for _, r := range part {
				seen[r.FullName]++
			}
		}
		if len(seen) != len(all) {
			t.Errorf("%d shards cover %d of %d repositories", n, len(seen), len(all))
		}
		for name, k := range seen {
			if k != 1 {
				t.Errorf("%d shards: %s in %d shards", n, name, k)
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	cases := []struct {
		in   string
		want Shard
		ok   bool
	}{
		{"0/4", Shard{0, 4}, true},
		{"3/4", Shard{3, 4}, true},
		{"0/1", Shard{0, 1}, true},
		{" 2 / 5 ", Shard{2, 5}, true},
		{"4/4", Shard{}, false},
		{"-1/4", Shard{}, false},
		{"1/0", Shard{}, false},
		{"1", Shard{}, false},
		{"a/b", Shard{}, false},
	}
	for _, tc := range cases {
		got, err := ParseShard(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v", tc.in, got, err)
		}
	}
	// The hash is stable across versions: a changed hash would move
	// repositories between shards of a running matrix.
	if !(Shard{0, 4}).Has("acme/svc-000") && !(Shard{1, 4}).Has("acme/svc-000") && !(Shard{2, 4}).Has("acme/svc-000") && !(Shard{3, 4}).Has("acme/svc-000") {
		t.Fatal("in no shard")
	}
	if (Shard{Index: 1, Count: 4}).Has("acme/svc-000") != (Shard{Index: 1, Count: 4}).Has("ACME/SVC-000") {
		t.Error("shard depends on case")
	}
}

func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"0/4", "3/4", "9/10", "x", "1/", "/1", "-0/1", "00/01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := ParseShard(s)
		if err != nil {
			return
		}
		if sh.Count < 1 || sh.Index < 0 || sh.Index >= sh.Count {
			t.Fatalf("ParseShard(%q) = %+v", s, sh)
		}
		// Every name falls in exactly one shard.
		n := 0
		for i := range sh.Count {
			if (Shard{i, sh.Count}).Has(s) {
				n++
			}
			if i > 64 {
				return
			}
		}
		if n != 1 {
			t.Fatalf("%q in %d shards", s, n)
		}
	})
}

func TestRateLimitWait(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	resp := &http.Response{StatusCode: 429, Header: http.Header{}, Request: &http.Request{Method: "GET"}}
	resp.Header.Set("Retry-After", "7")
	ra := 3 * time.Second
	cases := []struct {
		name string
		err  error
		n    int
		want time.Duration
		kind string
	}{
		{"primary", &gh.RateLimitError{Rate: gh.Rate{Reset: gh.Timestamp{Time: now.Add(90 * time.Second)}}}, 0, 91 * time.Second, "primary"},
		{"primary past reset", &gh.RateLimitError{Rate: gh.Rate{Reset: gh.Timestamp{Time: now.Add(-time.Minute)}}}, 0, time.Second, "primary"},
		{"secondary retry-after", &gh.AbuseRateLimitError{RetryAfter: &ra}, 0, 3 * time.Second, "secondary"},
		{"secondary again doubles", &gh.AbuseRateLimitError{RetryAfter: &ra}, 2, 12 * time.Second, "secondary"},
		{"secondary no header", &gh.AbuseRateLimitError{}, 0, time.Minute, "secondary"},
		{"secondary capped", &gh.AbuseRateLimitError{}, 10, time.Hour, "secondary"},
		{"429", &gh.ErrorResponse{Response: resp}, 0, 7 * time.Second, "secondary"},
		{"other", errors.New("boom"), 0, 0, ""},
	}
	l := newLimiter(nil, nil)
	l.now = func() time.Time { return now }
	for _, tc := range cases {
		d, kind, werr := l.rateLimitWait(tc.err, nil, tc.n)
		if d != tc.want || kind != tc.kind || werr != nil {
			t.Errorf("%s: wait %s %q %v, want %s %q", tc.name, d, kind, werr, tc.want, tc.kind)
		}
	}
}

// TestLimitWait: the wait computed from a rate-limited answer's headers
// stays within [0, maxLimitWait], whatever they hold: a wait asked for
// over the cap (a reset years ahead, a Retry-After past what a
// time.Duration holds) is refused, never wrapped or waited out; a
// negative or garbage value falls back to the next header, then to the
// minute's default, doubled for each earlier wait.
func TestLimitWait(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	epoch := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	cases := []struct {
		name, retryAfter, reset string
		n                       int
		want                    time.Duration
		tooLong                 bool
	}{
		{"retry-after", "7", "", 0, 7 * time.Second, false},
		{"retry-after doubled", "7", "", 2, 28 * time.Second, false},
		{"retry-after first over reset", "7", epoch(time.Hour), 0, 7 * time.Second, false},
		{"retry-after at cap", "3900", "", 0, maxLimitWait, false},
		{"retry-after at cap again", "3900", "", 3, maxLimitWait, false},
		{"retry-after over cap", "3901", "", 0, 0, true},
		{"retry-after huge", "100000000000000", "", 0, 0, true},
		{"retry-after max int64", "9223372036854775807", "", 0, 0, true},
		{"retry-after negative", "-5", "", 0, time.Minute, false},
		{"retry-after negative, reset", "-5", epoch(90 * time.Second), 0, 91 * time.Second, false},
		{"retry-after garbage", "soon\x1b[2J", "", 1, 2 * time.Minute, false},
		{"retry-after overflowing int64", "99999999999999999999", "", 0, time.Minute, false},
		{"reset", "", epoch(90 * time.Second), 0, 91 * time.Second, false},
		{"reset not doubled", "", epoch(90 * time.Second), 3, 91 * time.Second, false},
		{"reset past", "", epoch(-time.Hour), 0, time.Second, false},
		{"reset far past", "", "-9223372036854775808", 0, time.Second, false},
		{"reset within cap", "", epoch(time.Hour), 0, time.Hour + time.Second, false},
		{"reset over cap", "", epoch(maxLimitWait + time.Second), 0, 0, true},
		{"reset years ahead", "", "99999999999", 0, 0, true},
		{"reset max int64", "", "9223372036854775807", 0, 0, true},
		{"reset garbage", "", "tomorrow", 0, time.Minute, false},
		{"neither", "", "", 0, time.Minute, false},
		{"neither, capped at the hour", "", "", 10, time.Hour, false},
	}
	for _, tc := range cases {
		d, err := limitWait(tc.retryAfter, tc.reset, now, tc.n)
		var tl *waitTooLongError
		if d != tc.want || errors.As(err, &tl) != tc.tooLong || (err != nil) != tc.tooLong {
			t.Errorf("%s: wait %s, err %v; want %s, too long %v", tc.name, d, err, tc.want, tc.tooLong)
		}
		if d < 0 || d > maxLimitWait {
			t.Errorf("%s: wait %s out of [0, %s]", tc.name, d, maxLimitWait)
		}
	}
}

// TestLimiterCall retries through limits and server errors, announces each
// wait once, and gives up on other errors.
func TestLimiterCall(t *testing.T) {
	var logs []string
	var slept []time.Duration
	l := newLimiter(func(s string) { logs = append(logs, s) }, func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	})
	ra := 2 * time.Second
	errs := []error{
		&gh.AbuseRateLimitError{RetryAfter: &ra},
		&gh.ErrorResponse{Response: &http.Response{StatusCode: 502, Request: &http.Request{}}},
		nil,
	}
	calls := 0
	err := l.call(context.Background(), "list", func() (*gh.Response, error) {
		e := errs[calls]
		calls++
		var resp *gh.Response
		if er, ok := e.(*gh.ErrorResponse); ok {
			resp = &gh.Response{Response: er.Response}
		}
		return resp, e
	})
	if err != nil || calls != 3 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "secondary rate limit reached (list): waiting until") {
		t.Errorf("logs %q", logs)
	}
	if len(slept) != 2 || slept[0] != 2*time.Second {
		t.Errorf("slept %v", slept)
	}
	calls = 0
	err = l.call(context.Background(), "x", func() (*gh.Response, error) { calls++; return nil, errors.New("bad credentials") })
	if err == nil || calls != 1 {
		t.Errorf("non-limit error retried: %v, %d calls", err, calls)
	}
}

func TestTipOf(t *testing.T) {
	a, b := strings.Repeat("a", 40), strings.Repeat("b", 40)
	remote := []string{
		a + "\tHEAD",
		a + "\trefs/heads/main",
		b + "\trefs/heads/dev",
		b + "\trefs/tags/v1",
		a + "\trefs/tags/v1^{}",
		b + "\trefs/pull/1/head",
		a + "\trefs/pull/1/merge",
	}
	local := []string{b + " refs/tags/v1", a + " refs/heads/main", b + " refs/heads/dev"}
	r := tipOf(remote, "refs/heads/main", false)
	l := tipOf(local, "refs/heads/main", false)
	if r != l || r.Head != a || r.Refs == "" {
		t.Errorf("remote %+v local %+v", r, l)
	}
	if p := tipOf(remote, "refs/heads/main", true); p.Refs == r.Refs {
		t.Error("pull refs not in the digest")
	}
	if e := tipOf(nil, "", false); e.Refs != "" {
		t.Errorf("empty: %+v", e)
	}
}
