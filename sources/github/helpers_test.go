package github

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	gh "github.com/google/go-github/v62/github"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/scan"
	"github.com/bks-dev/bks/sources"
)

// org is a fake organization "acme" of n plain repositories plus special
// ones:
//
//	acme/keys-live     a key at HEAD in config/.env
//	acme/keys-history  a key added then deleted (history only)
//	acme/keys-branch   a key on a branch other than the default
//	acme/broken        every git request fails with 500 (clone fails)
//	acme/empty         no commits
//	acme/forked        a fork, acme/old an archived repository,
//	acme/secret-sauce  private, acme/tagged has topic "payments"
type org struct {
	srv  *githubfake.Server
	keys map[string]string // repo full name -> the key it holds
	dirs map[string]string // special repo -> its bare repository
	n    int
}

const token = "test-token"

func newOrg(t *testing.T, n int) *org {
	t.Helper()
	srv := newFake(t)
	root := t.TempDir()
	o := &org{srv: srv, keys: map[string]string{}, dirs: map[string]string{}, n: n}
	build := func(name string, commits []githubfake.Commit) string {
		dir := filepath.Join(root, name+".git")
		if err := githubfake.BuildRepo(dir, commits); err != nil {
			t.Fatal(err)
		}
		o.dirs[name] = dir
		return dir
	}
	plain := build("plain", []githubfake.Commit{
		{Files: map[string][]byte{"README.md": []byte("# plain\n"), "main.go": []byte("package main\n\nfunc main() {}\n")}},
		{Files: map[string][]byte{"main.go": []byte("package main\n\nfunc main() { println(1) }\n")}},
	})
	key := func(seed uint64) string {
		return testkeys.LongTerm(testkeys.ConsoleUser(seed), "123456789012", testkeys.Secret(seed))
	}
	kLive, kHist, kBranch := key(1), key(2), key(3)
	o.keys["acme/keys-live"] = kLive
	o.keys["acme/keys-history"] = kHist
	o.keys["acme/keys-branch"] = kBranch
	live := build("keys-live", []githubfake.Commit{
		{Files: map[string][]byte{"README.md": []byte("x\n")}},
		{Files: map[string][]byte{"config/.env": []byte("AWS_BEARER_TOKEN_BEDROCK=" + kLive + "\n")}},
	})
	hist := build("keys-history", []githubfake.Commit{
		{Files: map[string][]byte{"app/settings.py": []byte("KEY = \"" + kHist + "\"\n")}},
		{Files: map[string][]byte{"app/settings.py": []byte("KEY = os.environ[\"KEY\"]\n")}},
	})
	branch := build("keys-branch", []githubfake.Commit{
		{Files: map[string][]byte{"README.md": []byte("y\n")}},
		{Branch: "wip", Files: map[string][]byte{"notes.txt": []byte("try " + kBranch + "\n")}},
	})
	empty := build("empty", nil)
	var repos []*githubfake.Repo
	for i := range n {
		repos = append(repos, &githubfake.Repo{Owner: "acme", Name: fmt.Sprintf("svc-%03d", i), Dir: plain, SizeKB: 1})
	}
	repos = append(repos,
		&githubfake.Repo{Owner: "acme", Name: "keys-live", Dir: live},
		&githubfake.Repo{Owner: "acme", Name: "keys-history", Dir: hist},
		&githubfake.Repo{Owner: "acme", Name: "keys-branch", Dir: branch},
		&githubfake.Repo{Owner: "acme", Name: "broken", Dir: plain, CloneStatus: 500},
		&githubfake.Repo{Owner: "acme", Name: "empty", Dir: empty},
		&githubfake.Repo{Owner: "acme", Name: "forked", Dir: plain, Fork: true},
		&githubfake.Repo{Owner: "acme", Name: "old", Dir: plain, Archived: true},
		&githubfake.Repo{Owner: "acme", Name: "secret-sauce", Dir: plain, Private: true},
		&githubfake.Repo{Owner: "acme", Name: "tagged", Dir: plain, Topics: []string{"payments", "go"}},
		&githubfake.Repo{Owner: "other", Name: "elsewhere", Dir: live},
	)
	srv.Add(repos...)
	return o
}

func (o *org) client(t *testing.T) *gh.Client {
	t.Helper()
	c, err := NewClient(o.srv.APIURL(), token, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// result collects what a sweep produced.
type result struct {
	mu       sync.Mutex
	findings []findings.Finding
	errors   map[string]string
	logs     []string
	outcomes map[string]string
}

func newResult() *result {
	return &result{errors: map[string]string{}, outcomes: map[string]string{}}
}

func (r *result) onError(path string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors[path] = err.Error()
}

func (r *result) log(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, msg)
}

func (r *result) onRepo(repo Repo, outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes[repo.FullName] = outcome
}

func (r *result) count(outcome string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, o := range r.outcomes {
		if o == outcome {
			n++
		}
	}
	return n
}

// keyRepos returns the repositories findings were made in, sorted.
func (r *result) keyRepos() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, f := range r.findings {
		out = append(out, f.Repo)
	}
	sort.Strings(out)
	return out
}

func (r *result) logged(sub string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.logs {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

var engine = detectors.New(detectors.Options{})

// scanInto runs src through the detectors into res.
func scanInto(ctx context.Context, src sources.Source, res *result) error {
	return scan.Run(ctx, src, engine, func(f findings.Finding) error {
		res.mu.Lock()
		defer res.mu.Unlock()
		res.findings = append(res.findings, f)
		return nil
	})
}
