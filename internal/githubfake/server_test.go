package githubfake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gh "github.com/google/go-github/v62/github"
)

func newClient(t *testing.T, s *Server) *gh.Client {
	t.Helper()
	c, err := gh.NewClient(nil).WithAuthToken(s.Token).WithEnterpriseURLs(s.APIURL(), s.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestListPagesAndClone(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Token = "t0ken"
	dir := filepath.Join(t.TempDir(), "r.git")
	if err := BuildRepo(dir, []Commit{
		{Files: map[string][]byte{"a.txt": []byte("hello bedrock-api-key-xyz\n")}},
		{Branch: "dev", Files: map[string][]byte{"b.txt": []byte("b\n")}},
		{Files: map[string][]byte{"a.txt": nil}},
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		s.Add(&Repo{Owner: "acme", Name: fmt.Sprintf("r%02d", i), Dir: dir})
	}
	c := newClient(t, s)
	ctx := context.Background()
	var names []string
	opt := &gh.RepositoryListByOrgOptions{ListOptions: gh.ListOptions{PerPage: 3}}
	pages := 0
	for {
		rs, resp, err := c.Repositories.ListByOrg(ctx, "acme", opt)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range rs {
			names = append(names, r.GetFullName())
		}
		if resp.Rate.Limit != 5000 {
			t.Errorf("rate limit header not parsed: %+v", resp.Rate)
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	if pages != 3 || len(names) != 7 || names[6] != "acme/r06" {
		t.Fatalf("pages=%d names=%v", pages, names)
	}

	// Clone over smart HTTP with the token as basic-auth password.
	dst := filepath.Join(t.TempDir(), "clone")
	u := strings.Replace(s.CloneURL("acme", "r03"), "http://", "http://x:t0ken@", 1)
	if out, err := exec.Command("git", "clone", "-q", "--bare", u, dst).CombinedOutput(); err != nil {
		t.Fatalf("clone: %v: %s", err, out)
	}
	if _, err := Head(dst, "dev"); err != nil {
		t.Fatal(err)
	}
	// Without the token the clone is refused.
	dst2 := filepath.Join(t.TempDir(), "clone2")
	cmd := exec.Command("git", "clone", "-q", "--bare", s.CloneURL("acme", "r03"), dst2)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	if err := cmd.Run(); err == nil {
		t.Fatal("clone without token succeeded")
	}
}

func TestFaultsAndSearch(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir := filepath.Join(t.TempDir(), "r.git")
	if err := BuildRepo(dir, []Commit{{Files: map[string][]byte{
		"x/.env": []byte("AWS_BEARER_TOKEN_BEDROCK=bedrock-api-key-abc\n"),
		"y.txt":  []byte("nothing\n"),
	}}}); err != nil {
		t.Fatal(err)
	}
	s.Add(&Repo{Owner: "acme", Name: "one", Dir: dir}, &Repo{Owner: "other", Name: "two", Dir: dir})
	c := newClient(t, s)
	ctx := context.Background()

	f := &Fault{PathContains: "/orgs/", After: 1, Kind: "secondary"}
	s.AddFault(f)
	_, _, err = c.Repositories.ListByOrg(ctx, "acme", nil)
	var abuse *gh.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.RetryAfter == nil {
		t.Fatalf("want secondary limit error, got %v", err)
	}
	c = newClient(t, s) // go-github refuses requests client-side until Retry-After passes

	res, _, err := c.Search.Code(ctx, `"bedrock-api-key-" org:acme`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.GetTotal() != 1 || res.CodeResults[0].GetPath() != "x/.env" {
		t.Fatalf("search: %+v", res)
	}
	data, _, err := c.Git.GetBlobRaw(ctx, "acme", "one", res.CodeResults[0].GetSHA())
	if err != nil || !strings.Contains(string(data), "bedrock-api-key-abc") {
		t.Fatalf("blob: %q %v", data, err)
	}

	p := &Fault{PathContains: "/repos/", Kind: "primary"}
	s.AddFault(p)
	_, _, err = c.Repositories.Get(ctx, "acme", "one")
	var rl *gh.RateLimitError
	if !errors.As(err, &rl) || rl.Rate.Reset.IsZero() {
		t.Fatalf("want primary limit error, got %v", err)
	}
}
