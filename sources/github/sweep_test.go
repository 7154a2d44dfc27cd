package github

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/sweeptest"
	"github.com/bks-dev/bks/location"
)

func (o *org) sweep(t *testing.T, res *result, mod func(*Options)) *Sweep {
	t.Helper()
	opts := Options{
		Client:   o.client(t),
		Token:    token,
		Target:   Target{Orgs: []string{"acme"}},
		Workers:  8,
		TempDir:  t.TempDir(),
		Scan:     HistoryScanner(HistoryOptions{OnError: res.onError}),
		OnError:  res.onError,
		Log:      res.log,
		OnRepo:   res.onRepo,
		Progress: &Progress{},
	}
	if mod != nil {
		mod(&opts)
	}
	return NewSweep(opts)
}

// TestSweepOrg sweeps an organization of 260+ repositories listed over
// three pages, with a secondary rate limit on the second page and one
// repository that cannot be cloned.
func TestSweepOrg(t *testing.T) {
	o := newOrg(t, 260)
	limit := &githubfake.Fault{PathContains: "/orgs/acme/repos", After: 2, Kind: "secondary", RetryAfter: time.Second}
	o.srv.AddFault(limit)
	res := newResult()
	tmp := t.TempDir()
	sw := o.sweep(t, res, func(op *Options) { op.TempDir = tmp })
	if err := scanInto(context.Background(), sw, res); err != nil {
		t.Fatal(err)
	}

	if got := o.srv.Fired(limit); got != 1 {
		t.Errorf("secondary limit fired %d times, want 1", got)
	}
	if !res.logged("secondary rate limit reached") || !res.logged("waiting until") {
		t.Errorf("no rate-limit message in %q", res.logs)
	}
	pages := 0
	for _, r := range o.srv.Requests() {
		if strings.HasPrefix(r, "/orgs/acme/repos") {
			pages++
		}
	}
	if pages != 4 { // 3 pages + the retried one
		t.Errorf("listing requests: %d, want 4", pages)
	}

	p := sw.opts.Progress
	// 260 plain + live, history, branch, broken, empty, secret-sauce,
	// tagged (the fork and the archived one are filtered out).
	wantTotal := int64(o.n + 7)
	if p.Total.Load() != wantTotal || p.Done.Load() != wantTotal {
		t.Errorf("total %d done %d, want %d", p.Total.Load(), p.Done.Load(), wantTotal)
	}
	if p.Failed.Load() != 1 || p.Empty.Load() != 1 {
		t.Errorf("failed %d empty %d, want 1 and 1", p.Failed.Load(), p.Empty.Load())
	}
	if msg, ok := res.errors["acme/broken"]; !ok || !strings.Contains(msg, "clone") {
		t.Errorf("broken repository not reported as a clone failure: %q", res.errors)
	}
	if len(res.errors) != 1 {
		t.Errorf("errors: %q", res.errors)
	}
	if !res.logged("acme/empty: empty repository") {
		t.Errorf("empty repository not noted: %q", res.logs)
	}
	want := []string{"acme/keys-branch", "acme/keys-history", "acme/keys-live"}
	if got := res.keyRepos(); !reflect.DeepEqual(got, want) {
		t.Fatalf("findings in %v, want %v", got, want)
	}
	for _, f := range res.findings {
		if f.RawKey() != o.keys[f.Repo] {
			t.Errorf("%s: wrong key found", f.Repo)
		}
		wantURL := o.srv.HTMLURL("acme", strings.TrimPrefix(f.Repo, "acme/")) + "/blob/" + f.Commit + "/" + f.Path
		if f.HTMLURL != wantURL || len(f.Commit) != 40 {
			t.Errorf("%s: html_url %q, want %q", f.Repo, f.HTMLURL, wantURL)
		}
	}
	if p.Bytes.Load() == 0 {
		t.Error("no bytes counted")
	}
	// Temporary clones are gone.
	if ents, err := os.ReadDir(tmp); err != nil || len(ents) != 0 {
		t.Errorf("temporary clones left: %v %v", ents, err)
	}
	// The token went to git (the fake refuses clones without it) and
	// never into an error.
	for _, e := range res.errors {
		if strings.Contains(e, token) {
			t.Errorf("token in error %q", e)
		}
	}
}

// TestSweepResume interrupts a sweep, resumes it, and checks that every
// repository is scanned exactly once across the runs, and rescanned when
// its refs change.
func TestSweepResume(t *testing.T) {
	o := newOrg(t, 30)
	statePath := filepath.Join(t.TempDir(), "state.json")
	open := func() *State {
		st, err := OpenState(statePath)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	// Run 1: interrupted after 10 repositories are scanned.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res1 := newResult()
	sw := o.sweep(t, res1, func(op *Options) {
		op.State = open()
		op.Workers = 2
		op.OnRepo = func(r Repo, outcome string) {
			res1.onRepo(r, outcome)
			if res1.count(OutcomeScanned) >= 10 {
				cancel()
			}
		}
	})
	if err := scanInto(ctx, sw, res1); err == nil {
		t.Fatal("interrupted sweep returned no error")
	}
	scanned1 := res1.count(OutcomeScanned)
	if scanned1 < 10 || scanned1 >= o.n {
		t.Fatalf("run 1 scanned %d", scanned1)
	}
	if got := open().Len(); got != scanned1 {
		t.Fatalf("state holds %d repositories, %d were scanned", got, scanned1)
	}

	// Run 2: the rest.
	res2 := newResult()
	sw = o.sweep(t, res2, func(op *Options) { op.State = open() })
	if err := scanInto(context.Background(), sw, res2); err != nil {
		t.Fatal(err)
	}
	for name, oc := range res1.outcomes {
		if oc == OutcomeScanned && res2.outcomes[name] != OutcomeSkipped {
			t.Errorf("%s: scanned in run 1, %s in run 2", name, res2.outcomes[name])
		}
	}
	total := o.n + 7
	if got := res2.count(OutcomeSkipped) + res2.count(OutcomeScanned) + res2.count(OutcomeFailed) + res2.count(OutcomeEmpty); got != total {
		t.Errorf("run 2 handled %d repositories, want %d", got, total)
	}
	if res2.count(OutcomeSkipped) != scanned1 {
		t.Errorf("run 2 skipped %d, want %d", res2.count(OutcomeSkipped), scanned1)
	}

	// Run 3: a new commit in keys-live; only it is scanned again (the
	// broken repository fails again, the empty one has no tip to record).
	if err := sweeptest.AddCommit(o.dirs["keys-live"]); err != nil {
		t.Fatal(err)
	}
	res3 := newResult()
	sw = o.sweep(t, res3, func(op *Options) { op.State = open() })
	if err := scanInto(context.Background(), sw, res3); err != nil {
		t.Fatal(err)
	}
	if res3.count(OutcomeScanned) != 1 || res3.outcomes["acme/keys-live"] != OutcomeScanned {
		t.Errorf("run 3 outcomes: scanned %d, keys-live %s", res3.count(OutcomeScanned), res3.outcomes["acme/keys-live"])
	}
	if got := res3.keyRepos(); len(got) != 1 || got[0] != "acme/keys-live" {
		t.Errorf("run 3 findings in %v", got)
	}
}

// TestSweepCacheDir keeps clones in a cache directory and fetches them on
// the next run.
func TestSweepCacheDir(t *testing.T) {
	o := newOrg(t, 2)
	cache := t.TempDir()
	run := func() *result {
		res := newResult()
		sw := o.sweep(t, res, func(op *Options) {
			op.CacheDir = cache
			op.Target = Target{Repos: []string{"acme/keys-live"}}
		})
		if err := scanInto(context.Background(), sw, res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	if got := run().keyRepos(); len(got) != 1 {
		t.Fatalf("run 1 findings: %v", got)
	}
	u := o.srv.CloneURL("acme", "keys-live")
	dir := cachePath(cache, Repo{Owner: "acme", Name: "keys-live", CloneURL: u})
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		t.Fatalf("no cached clone: %v", err)
	}
	if err := sweeptest.AddCommit(o.dirs["keys-live"]); err != nil {
		t.Fatal(err)
	}
	want, err := githubfake.Head(o.dirs["keys-live"], "main")
	if err != nil {
		t.Fatal(err)
	}
	if got := run().keyRepos(); len(got) != 1 {
		t.Fatalf("run 2 findings: %v", got)
	}
	got, err := githubfake.Head(dir, "main")
	if err != nil || got != want {
		t.Errorf("cache not fetched: main at %s, want %s (%v)", got, want, err)
	}
}

func TestNameOrigin(t *testing.T) {
	r := Repo{FullName: "acme/x", HTMLURL: "https://github.com/acme/x"}
	c := strings.Repeat("a", 40)
	cases := []struct {
		name string
		in   location.Location
		want string
	}{
		{"file", location.Location{Repo: "/tmp/clone", Path: "dir/a b.txt", Commit: c}, "https://github.com/acme/x/blob/" + c + "/dir/a%20b.txt"},
		{"commit message", location.Location{Kind: "commit-message", Commit: c}, "https://github.com/acme/x/commit/" + c},
		{"archive member", location.Location{Path: "a.zip!in/k.txt", Archive: "a.zip", Commit: c}, "https://github.com/acme/x/blob/" + c + "/a.zip"},
		{"! in a file name", location.Location{Path: "s/report!final.txt", Commit: c}, "https://github.com/acme/x/blob/" + c + "/s/report%21final.txt"},
		{"tag message", location.Location{Kind: "tag-message", Commit: c}, ""},
		{"no commit", location.Location{Path: "a"}, ""},
		{"submodule", location.Location{Repo: "acme/x//vendor/lib", Path: "a", Commit: c}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			got := nameOrigin(r, &in)
			if got.HTMLURL != tc.want {
				t.Errorf("html_url %q, want %q", got.HTMLURL, tc.want)
			}
			if !strings.HasPrefix(got.Repo, "acme/x") {
				t.Errorf("repo %q", got.Repo)
			}
			if in.HTMLURL != "" {
				t.Error("the original origin was modified")
			}
		})
	}
}
