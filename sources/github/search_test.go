package github

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/internal/githubfake"
)

// TestSearch finds keys with code search over several result pages,
// through a secondary rate limit, fetches each file and decodes the key.
func TestSearch(t *testing.T) {
	o := newOrg(t, 3)
	o.srv.MaxPerPage = 1 // every result on its own page
	limit := &githubfake.Fault{PathContains: "/git/blobs/", After: 1, Kind: "429"}
	o.srv.AddFault(limit)
	res := newResult()
	src := NewSearch(SearchOptions{
		Client:  o.client(t),
		Target:  Target{Orgs: []string{"acme"}},
		Terms:   testTerms,
		OnError: res.onError,
		Log:     res.log,
	})
	if err := scanInto(context.Background(), src, res); err != nil {
		t.Fatal(err)
	}
	// keys-live holds the key at HEAD; the history-only and branch-only
	// keys are out of reach of code search.
	if got, want := res.keyRepos(), []string{"acme/keys-live"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("findings in %v, want %v", got, want)
	}
	f := res.findings[0]
	if f.RawKey() != o.keys["acme/keys-live"] || f.Key == nil || f.Key.AccountID != "123456789012" {
		t.Errorf("key not decoded: %+v", f.Key)
	}
	if f.Path != "config/.env" || len(f.Commit) != 40 || !strings.HasSuffix(f.HTMLURL, "/blob/"+f.Commit+"/config/.env") {
		t.Errorf("location %+v", f.Location)
	}
	if !res.logged("default branch") {
		t.Errorf("no default-branch notice: %q", res.logs)
	}
	if o.srv.Fired(limit) != 1 || !res.logged("waiting until") {
		t.Errorf("rate limit: fired %d, logs %q", o.srv.Fired(limit), res.logs)
	}
	if len(res.errors) != 0 {
		t.Errorf("errors %q", res.errors)
	}
	if got := len(src.Queries()); got != len(testTerms) {
		t.Errorf("%d queries", got)
	}
}

// testTerms are what bks detect github --search passes (detectors.SearchTerms).
var testTerms = detectors.SearchTerms()

func TestCommitFromBlobURL(t *testing.T) {
	c := strings.Repeat("0a", 20)
	for in, want := range map[string]string{
		"https://github.com/a/b/blob/" + c + "/x/y.txt": c,
		"https://github.com/a/b/blob/main/x":            "",
		"https://github.com/a/b":                        "",
	} {
		if got := commitFromBlobURL(in); got != want {
			t.Errorf("%s: %q", in, got)
		}
	}
}
