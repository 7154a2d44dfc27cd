package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/bks-dev/bks/internal/fakefault"
	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/gitlabfake"
	"github.com/bks-dev/bks/internal/sweeptest"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/sources/reposweep"
)

const token = "glpat-test"

// instance is a fake GitLab with:
//
//	acme/svc-NN               n plain projects
//	acme/keys-live            a key at HEAD
//	acme/platform/keys-sub    a key deleted in a later commit (subgroup)
//	acme/broken               git answers 500
//	acme/no-clone             listed, but git answers 403 (no read_repository)
//	acme/secret               hidden from the token (404)
//	acme/snippets-host        a snippet holding a key
//	alice/p-NN                m plain projects of user alice, alice/keys a key
type instance struct {
	srv  *gitlabfake.Server
	keys map[string]string
	dirs map[string]string
}

func key(seed uint64) string {
	return testkeys.LongTerm(testkeys.ConsoleUser(seed), "123456789012", testkeys.Secret(seed))
}

func newInstance(t *testing.T, n, m int) *instance {
	t.Helper()
	srv, err := gitlabfake.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.Token = token
	srv.User = "alice" // the token's owner
	in := &instance{srv: srv, keys: map[string]string{}, dirs: map[string]string{}}
	root := t.TempDir()
	build := func(name string, commits []githubfake.Commit) string {
		in.dirs[name] = sweeptest.Build(t, root, name, commits)
		return in.dirs[name]
	}
	plain := build("plain", []githubfake.Commit{{Files: map[string][]byte{"README.md": []byte("# plain\n")}}})
	in.keys["acme/keys-live"] = key(11)
	in.keys["acme/platform/keys-sub"] = key(12)
	in.keys["alice/keys"] = key(13)
	in.keys["acme/snippets-host/-/snippets"] = key(14)
	live := build("keys-live", []githubfake.Commit{
		{Files: map[string][]byte{"README.md": []byte("x\n")}},
		{Files: map[string][]byte{"deploy/.env": []byte("AWS_BEARER_TOKEN_BEDROCK=" + key(11) + "\n")}},
	})
	sub := build("keys-sub", []githubfake.Commit{
		{Files: map[string][]byte{"app.py": []byte("KEY = \"" + key(12) + "\"\n")}},
		{Files: map[string][]byte{"app.py": []byte("KEY = os.environ['KEY']\n")}},
	})
	alice := build("alice-keys", []githubfake.Commit{{Files: map[string][]byte{"notes.txt": []byte("token " + key(13) + "\n")}}})
	snip := build("snippet", []githubfake.Commit{{Files: map[string][]byte{"snippet.sh": []byte("export AWS_BEARER_TOKEN_BEDROCK=" + key(14) + "\n")}}})
	var ps []*gitlabfake.Project
	for i := range n {
		ps = append(ps, &gitlabfake.Project{Path: fmt.Sprintf("acme/svc-%02d", i), Dir: plain})
	}
	ps = append(ps,
		&gitlabfake.Project{Path: "acme/keys-live", Dir: live},
		&gitlabfake.Project{Path: "acme/platform/keys-sub", Dir: sub},
		&gitlabfake.Project{Path: "acme/broken", Dir: plain, CloneStatus: http.StatusInternalServerError},
		&gitlabfake.Project{Path: "acme/no-clone", Dir: plain, CloneStatus: http.StatusForbidden},
		&gitlabfake.Project{Path: "acme/secret", Dir: live, Hidden: true},
		&gitlabfake.Project{Path: "acme/snippets-host", Dir: plain, Snippets: []*gitlabfake.Snippet{{Title: "deploy", Dir: snip}}},
		&gitlabfake.Project{Path: "alice/keys", Dir: alice},
	)
	for i := range m {
		ps = append(ps, &gitlabfake.Project{Path: fmt.Sprintf("alice/p-%02d", i), Dir: plain})
	}
	srv.Add(ps...)
	return in
}

func (in *instance) client(t *testing.T, tok string, log func(string)) *gl.Client {
	t.Helper()
	c, err := NewClient(ClientOptions{APIURL: in.srv.APIURL(), Token: tok, Log: log, ServerRetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (in *instance) sweep(t *testing.T, res *sweeptest.Result, target Target, mod func(*Options)) *reposweep.Sweep[reposweep.Repo] {
	t.Helper()
	o := Options{
		Client: in.client(t, token, res.Log),
		Token:  token,
		Target: target,
		Scan:   reposweep.HistoryScanner[reposweep.Repo](reposweep.HistoryOptions{OnError: res.OnError}),
		Run:    res.Run(t, 4),
	}
	if mod != nil {
		mod(&o)
	}
	return NewSweep(o)
}

// TestSweepGroupUserProject sweeps a group with its subgroups (offset
// pages), a user (keyset pages) and two named projects, one hidden from
// the token, with snippets, a 429 and a 502 on the way, and projects that
// cannot be cloned.
func TestSweepGroupUserProject(t *testing.T) {
	in := newInstance(t, 25, 12)
	limited := &gitlabfake.Fault{Trigger: fakefault.Trigger{PathContains: "groups/acme/projects", After: 2}, Status: http.StatusTooManyRequests, RetryAfter: time.Second}
	flaky := &gitlabfake.Fault{Trigger: fakefault.Trigger{PathContains: "users/alice/projects", After: 1}, Status: http.StatusBadGateway}
	in.srv.AddFault(limited)
	in.srv.AddFault(flaky)
	res := sweeptest.New()
	target := Target{Groups: []string{"acme"}, IncludeSubgroups: true, Users: []string{"alice"},
		Projects: []string{"acme/secret", "acme/keys-live"}, Snippets: true}
	sw := in.sweep(t, res, target, func(o *Options) { o.perPage = 10 })
	start := time.Now()
	if err := res.Scan(context.Background(), sw); err != nil {
		t.Fatal(err)
	}
	if in.srv.Fired(limited) != 1 || in.srv.Fired(flaky) != 1 {
		t.Errorf("faults fired: 429 %d, 502 %d", in.srv.Fired(limited), in.srv.Fired(flaky))
	}
	if !res.Logged("GitLab rate limit reached (429 Too Many Requests") || time.Since(start) < time.Second {
		t.Errorf("429 not waited out (Retry-After: 1): %q", res.Logs)
	}
	var groupPages, userPages, keyset int
	for _, u := range in.srv.Requests() {
		switch {
		case strings.Contains(u, "/groups/acme/projects"):
			groupPages++
		case strings.Contains(u, "/users/alice/projects"):
			userPages++
			if strings.Contains(u, "id_after=") {
				keyset++
			}
		}
	}
	// 30 group projects the token sees in pages of 10: 3 pages, one
	// retried; alice's 13 in 2 keyset pages, the first retried.
	if groupPages != 4 || userPages != 3 || keyset != 1 {
		t.Errorf("requests: group %d (want 4), user %d (want 3), keyset next %d (want 1)", groupPages, userPages, keyset)
	}

	p := sw.Progress()
	// 25 svc + keys-live, keys-sub, broken, no-clone, snippets-host and
	// its snippet; alice's 12 + keys.
	if want := int64(25 + 6 + 13); p.Total.Load() != want || p.Done.Load() != want {
		t.Errorf("total %d done %d, want %d", p.Total.Load(), p.Done.Load(), want)
	}
	wantErr := map[string]string{
		"project acme/secret": "404",
		"acme/broken":         "500",
		"acme/no-clone":       "403",
	}
	for item, sub := range wantErr {
		if msg, ok := res.Errors[item]; !ok || !strings.Contains(msg, sub) {
			t.Errorf("%s: error %q, want one with %s", item, msg, sub)
		}
	}
	if len(res.Errors) != len(wantErr) {
		t.Errorf("errors: %q", res.Errors)
	}
	if !strings.Contains(res.Errors["project acme/secret"], "no access") {
		t.Errorf("404 not explained: %q", res.Errors["project acme/secret"])
	}
	got := res.ByRepo()
	var repos []string
	for r := range got {
		repos = append(repos, r)
	}
	sort.Strings(repos)
	want := []string{"acme/keys-live", "acme/platform/keys-sub", "acme/snippets-host/-/snippets/", "alice/keys"}
	if len(repos) != len(want) {
		t.Fatalf("findings in %v", repos)
	}
	for i, r := range repos {
		if !strings.HasPrefix(r, want[i]) {
			t.Fatalf("findings in %v, want %v", repos, want)
		}
		f := got[r]
		k := in.keys[r]
		if strings.Contains(r, "/-/snippets/") {
			k = in.keys["acme/snippets-host/-/snippets"]
		}
		if f.RawKey() != k {
			t.Errorf("%s: wrong key", r)
		}
		wantURL := in.srv.WebURL(r) + "/-/blob/" + f.Commit + "/" + f.Path
		if strings.Contains(r, "/-/snippets/") {
			wantURL = in.srv.WebURL(r) + "/raw/" + f.Commit + "/" + f.Path
		}
		if f.HTMLURL != wantURL {
			t.Errorf("%s: html_url %q, want %q", r, f.HTMLURL, wantURL)
		}
	}
	for _, e := range res.Errors {
		if strings.Contains(e, token) {
			t.Errorf("token in error %q", e)
		}
	}
}

// TestSweepResumeAndShard: three shards cover every project exactly once;
// an interrupted sweep resumed with its state scans each project once
// across the runs, and a project whose refs changed is scanned again.
func TestSweepResumeAndShard(t *testing.T) {
	in := newInstance(t, 20, 0)
	target := Target{Groups: []string{"acme"}, IncludeSubgroups: true}
	all, err := (&Lister{Client: in.client(t, token, nil), Target: target}).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i := range 3 {
		part, err := (&Lister{Client: in.client(t, token, nil), Target: target, Shard: reposweep.Shard{Index: i, Count: 3}}).List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(part) == 0 || len(part) == len(all) {
			t.Errorf("shard %d/3 has %d of %d projects", i, len(part), len(all))
		}
		for _, r := range part {
			seen[r.FullName]++
		}
	}
	for _, r := range all {
		if seen[r.FullName] != 1 {
			t.Errorf("%s in %d shards", r.FullName, seen[r.FullName])
		}
	}
	if len(seen) != len(all) {
		t.Errorf("shards hold %d projects, the listing %d", len(seen), len(all))
	}

	statePath := filepath.Join(t.TempDir(), "state.json")
	open := func() *reposweep.State {
		st, err := reposweep.OpenState(statePath)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res1 := sweeptest.New()
	sw := in.sweep(t, res1, target, func(o *Options) {
		o.State = open()
		o.Workers = 2
		o.OnRepo = func(r reposweep.Repo, outcome string) {
			res1.OnRepo(r, outcome)
			if res1.Count(reposweep.OutcomeScanned) >= 8 {
				cancel()
			}
		}
	})
	if err := res1.Scan(ctx, sw); err == nil {
		t.Fatal("interrupted sweep returned no error")
	}
	scanned1 := res1.Count(reposweep.OutcomeScanned)
	if scanned1 < 8 || scanned1 >= len(all)-2 {
		t.Fatalf("run 1 scanned %d of %d", scanned1, len(all))
	}
	res2 := sweeptest.New()
	sw = in.sweep(t, res2, target, func(o *Options) { o.State = open() })
	if err := res2.Scan(context.Background(), sw); err != nil {
		t.Fatal(err)
	}
	for name, oc := range res1.Outcomes {
		if oc == reposweep.OutcomeScanned && res2.Outcomes[name] != reposweep.OutcomeSkipped {
			t.Errorf("%s: scanned in run 1, %s in run 2", name, res2.Outcomes[name])
		}
	}
	// Run 2 handles every project, skipping those run 1 recorded (a
	// project whose scan ended as run 1 was interrupted may be recorded
	// without being counted there); all but the two that cannot be
	// cloned end up recorded.
	if got := res2.Count(reposweep.OutcomeSkipped) + res2.Count(reposweep.OutcomeScanned) + res2.Count(reposweep.OutcomeFailed); got != len(all) {
		t.Errorf("run 2 handled %d projects, want %d", got, len(all))
	}
	if res2.Count(reposweep.OutcomeSkipped) < scanned1 || open().Len() != len(all)-2 {
		t.Errorf("run 2 skipped %d (run 1 scanned %d), state holds %d, want %d", res2.Count(reposweep.OutcomeSkipped), scanned1, open().Len(), len(all)-2)
	}
	if err := sweeptest.AddCommit(in.dirs["keys-live"]); err != nil {
		t.Fatal(err)
	}
	res3 := sweeptest.New()
	sw = in.sweep(t, res3, target, func(o *Options) { o.State = open() })
	if err := res3.Scan(context.Background(), sw); err != nil {
		t.Fatal(err)
	}
	if res3.Count(reposweep.OutcomeScanned) != 1 || res3.Outcomes["acme/keys-live"] != reposweep.OutcomeScanned {
		t.Errorf("run 3: scanned %d, keys-live %s", res3.Count(reposweep.OutcomeScanned), res3.Outcomes["acme/keys-live"])
	}
}

// TestBadToken: a token GitLab refuses (401) fails the listing with an
// error naming the group and saying what 401 means; with one target
// refused and one listed, the sweep goes on.
func TestBadToken(t *testing.T) {
	in := newInstance(t, 1, 0)
	l := &Lister{Client: in.client(t, "wrong", nil), Target: Target{Groups: []string{"acme"}}}
	_, err := l.List(context.Background())
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "wrong or expired") {
		t.Fatalf("err %v", err)
	}
	res := sweeptest.New()
	refuse := &gitlabfake.Fault{Trigger: fakefault.Trigger{PathContains: "users/alice", After: 1, Times: 1}, Status: http.StatusUnauthorized}
	in.srv.AddFault(refuse)
	l = &Lister{Client: in.client(t, token, nil), Target: Target{Users: []string{"alice"}, Projects: []string{"acme/keys-live"}}, OnError: res.OnError}
	got, err := l.List(context.Background())
	if err != nil || len(got) != 1 || got[0].FullName != "acme/keys-live" {
		t.Fatalf("list: %v %v", got, err)
	}
	if !strings.Contains(res.Errors["user alice"], "401") {
		t.Errorf("errors %q", res.Errors)
	}
}

// TestRateLimitRemainingZero: an answer saying no request is left holds
// the next request until RateLimit-Reset.
func TestRateLimitRemainingZero(t *testing.T) {
	in := newInstance(t, 1, 0)
	zero := &gitlabfake.Fault{Trigger: fakefault.Trigger{PathContains: "projects/acme%2Fkeys-live", After: 1}, RateLimitZero: true, RetryAfter: 2 * time.Second}
	in.srv.AddFault(zero)
	res := sweeptest.New()
	l := &Lister{Client: in.client(t, token, res.Log), Target: Target{Projects: []string{"acme/keys-live", "acme/broken"}}}
	start := time.Now()
	if _, err := l.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	// RateLimit-Reset is in whole seconds: at least 1s of the 2 is left.
	if el := time.Since(start); el < time.Second || !res.Logged("no request left") {
		t.Errorf("second request after %s, logs %q", el, res.Logs)
	}
}
