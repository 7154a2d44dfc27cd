package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/bks-dev/bks/sources/reposweep"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fetcher fills the per-repository bare cache (Dir/owner/name) over git's
// smart HTTP, one ref at a time: a push fetches the pushed ref only, so
// what travels is the pushed commits (the objects the cache lacks). The
// first fetch of a repository also fetches its branches, so that a new
// branch can be scanned for the commits no other ref has.
//
// The token is sent as HTTP basic auth (user x-access-token, the token as
// password), which GitHub accepts for personal access tokens and App
// installation tokens alike ("git clone https://x-access-token:TOKEN@…",
// docs.github.com/en/apps/creating-github-apps/authenticating-with-a-
// github-app/authenticating-as-a-github-app-installation). It travels in
// http.extraHeader set through GIT_CONFIG_* variables: never on a command
// line (ps), in the cache's config or in a message.
type Fetcher struct {
	// Dir is the cache root.
	Dir string
	// BaseURL is where repositories are cloned from: BaseURL+"owner/name.git"
	// ("https://github.com/"). The payload's clone_url is not used.
	BaseURL string
	// Auth gives the token of the fetch: the App installation's that the
	// delivery names, or the personal access token (nil or no token:
	// anonymous, public repositories).
	Auth *GitHubAuth
	// Timeout bounds one repository's fetch (2 minutes).
	Timeout time.Duration

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// lock serializes the fetches of one repository in this process (git's
// own ref locks refuse, rather than wait for, a concurrent fetch).
func (f *Fetcher) lock(name string) func() {
	f.mu.Lock()
	if f.locks == nil {
		f.locks = map[string]*sync.Mutex{}
	}
	m := f.locks[name]
	if m == nil {
		m = &sync.Mutex{}
		f.locks[name] = m
	}
	f.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// fetchChecked brings refs (full ref names, validated by the caller with
// validRef) and the commits wants (ids) of repository fullName (of the App
// installation installation; 0 with a personal access token) into the
// cache and returns its directory. A want the refs did not bring is asked
// for by id (a commit force-pushed away since the push). A ref that no
// longer exists on the server is not an error (the branch was deleted
// since); the caller checks for the commits it needs.
//
// It also returns which of wants and maybe (commit ids) the cache holds
// after it, from the one object check it runs after fetching the refs;
// nil when it then fetched a want by id, which may have brought more (the
// caller checks again).
func (f *Fetcher) fetchChecked(ctx context.Context, fullName string, installation int64, refs, wants, maybe []string) (string, map[string]bool, error) {
	dir, err := repoDir(f.Dir, fullName)
	if err != nil {
		return "", nil, err
	}
	defer f.lock(fullName)()
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	first := false
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", nil, fmt.Errorf("cache %s: %w", fullName, err)
		}
		if _, err := runGit(ctx, dir, nil, "init", "-q", "--bare"); err != nil {
			return "", nil, fmt.Errorf("cache %s: %w", fullName, err)
		}
		first = true
	}
	url := strings.TrimSuffix(f.BaseURL, "/") + "/" + fullName + ".git"
	token, err := f.Auth.token(ctx, installation)
	if err != nil {
		return "", nil, fmt.Errorf("fetch %s: %w", fullName, err)
	}
	// fetch runs git fetch with the token; an installation token GitHub
	// refuses before its hour (revoked) is replaced once.
	fetch := func(args ...string) error {
		_, err := runGit(ctx, dir, gitEnv(token), args...)
		if err != nil && authRefused(err) && f.Auth.forget(installation, token) {
			var terr error
			if token, terr = f.Auth.token(ctx, installation); terr != nil {
				return terr
			}
			_, err = runGit(ctx, dir, gitEnv(token), args...)
		}
		return err
	}
	var specs []string
	if first {
		specs = append(specs, "+refs/heads/*:refs/heads/*")
	}
	for _, r := range refs {
		specs = append(specs, "+"+r+":"+r)
	}
	if len(specs) > 0 {
		// --no-tags: only what was asked; a missing ref is reported by git
		// as "couldn't find remote ref", retried without it below.
		if err := fetch(append([]string{"fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--end-of-options", url}, specs...)...); err != nil {
			if ctx.Err() != nil {
				return "", nil, fmt.Errorf("fetch %s: timed out after %s: %w", fullName, timeout, err)
			}
			if !strings.Contains(err.Error(), "couldn't find remote ref") {
				return "", nil, fmt.Errorf("fetch %s: %w", fullName, err)
			}
		}
	}
	have, err := commitsIn(ctx, dir, append(append([]string(nil), wants...), maybe...))
	if err != nil {
		return "", nil, fmt.Errorf("cache %s: %w", fullName, err)
	}
	checked := have
	for _, w := range wants {
		if checked[w] {
			continue
		}
		have = nil
		if err := fetch("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--end-of-options", url, w); err != nil {
			return "", nil, fmt.Errorf("fetch %s commit %s: %w", fullName, w, err)
		}
	}
	return dir, have, nil
}

// authRefused reports whether git's error is the server refusing the
// credentials (401: git then asks for a user name, which it may not).
func authRefused(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "terminal prompts disabled") || strings.Contains(msg, "Authentication failed") ||
		strings.Contains(msg, "returned error: 401")
}

// gitEnv is the environment of a fetch: reposweep's (the sweeps'), with
// the token as GitHub's x-access-token user: no prompt, no credential
// helper, only HTTP(S), and no redirect followed (git would send the
// token to the host redirected to).
func gitEnv(token string) []string {
	return reposweep.GitEnv("x-access-token", token, "http:https")
}

// deleteRef removes ref from the cache (a deleted branch), if it is there.
func deleteRef(ctx context.Context, dir, ref string) error {
	_, err := runGit(ctx, dir, nil, "update-ref", "-d", "--end-of-options", ref)
	return err
}

// otherRefs lists the cache's branch and tag refs but skip.
func otherRefs(ctx context.Context, dir, skip string) ([]string, error) {
	out, err := runGit(ctx, dir, nil, "for-each-ref", "--format=%(refname)", "refs/heads/", "refs/tags/")
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, r := range strings.Fields(out) {
		if r != skip {
			refs = append(refs, r)
		}
	}
	return refs, nil
}

// hasCommit reports whether the commit id is in the cache.
func hasCommit(ctx context.Context, dir, id string) bool {
	_, err := runGit(ctx, dir, nil, "cat-file", "-e", "--end-of-options", id+"^{commit}")
	return err == nil
}

// commitsIn reports which of ids (hexadecimal commit ids: the callers
// check them with commitID, so that none carries a newline into git's
// input) are commits in the cache, with one git process for them all
// (cat-file --batch-check; a process costs about 15 ms, mostly its
// start). An id git answers anything but "<id> commit <size>" for
// (missing, ambiguous, another type) is not there.
func commitsIn(ctx context.Context, dir string, ids []string) (map[string]bool, error) {
	in := map[string]bool{}
	var input strings.Builder
	for _, id := range ids {
		if !commitID().MatchString(id) {
			return nil, fmt.Errorf("commit id %q: not hexadecimal", id)
		}
		if _, seen := in[id]; !seen {
			in[id] = false
			input.WriteString(id + "^{commit}\n")
		}
	}
	if len(in) == 0 {
		return in, nil
	}
	out, err := runGitInput(ctx, dir, nil, strings.NewReader(input.String()), "cat-file", "--batch-check=%(objectname) %(objecttype)")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if id, typ, _ := strings.Cut(line, " "); typ == "commit" {
			if _, asked := in[id]; asked {
				in[id] = true
			}
		}
	}
	return in, nil
}

// countCommits is the number of commits of spec (rev-list arguments).
func countCommits(ctx context.Context, dir string, spec ...string) (int, error) {
	out, err := runGit(ctx, dir, nil, append([]string{"rev-list", "--count", "--end-of-options"}, spec...)...)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(out))
}

// runGit runs git in dir with only env added to a clean environment (no
// GIT_DIR and such from ours), and returns its output; an error carries
// the first 512 bytes of its standard error.
func runGit(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	return runGitInput(ctx, dir, env, nil, args...)
}

// runGitInput is runGit with stdin as git's standard input.
func runGitInput(ctx context.Context, dir string, env []string, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = stdin
	// On a timeout git's helper (git-remote-http) may outlive git and
	// hold the pipes open: give up on them shortly after the kill.
	cmd.WaitDelay = time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 512 {
			msg = msg[:512] + "…"
		}
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, msg)
	}
	return out.String(), nil
}

// cleanEnv is our environment without git's repository variables and
// config injections.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// repoName is what a repository's full_name must look like to name a
// directory in the cache: owner/name of GitHub's characters, neither part
// "." or "..", nor starting with '-' or '.'.
var repoName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*/[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
})

// repoDir is the directory of the repository fullName in cache.
func repoDir(cache, fullName string) (string, error) {
	if !repoName().MatchString(fullName) || len(fullName) > 200 {
		return "", fmt.Errorf("repository %q: not owner/name", fullName)
	}
	return filepath.Join(cache, filepath.FromSlash(fullName)), nil
}

// commitID is a full commit id (SHA-1 or SHA-256).
var commitID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`) })

// validRef accepts the full ref names a payload may bring (refs/heads/…,
// refs/tags/…) under git's check-ref-format rules, and nothing that git
// could read as an option or a revision expression.
func validRef(ref string) error {
	rest, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		rest, ok = strings.CutPrefix(ref, "refs/tags/")
	}
	bad := !ok || rest == "" || len(ref) > 255 ||
		strings.ContainsAny(ref, " ~^:?*[\\\x7f") || strings.Contains(ref, "..") ||
		strings.Contains(ref, "@{") || strings.Contains(ref, "//") ||
		strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".") || strings.HasSuffix(ref, ".lock") ||
		strings.Contains(ref, "/.") || strings.Contains(ref, ".lock/") || strings.HasPrefix(rest, "-")
	for _, c := range ref {
		bad = bad || c < 0x20
	}
	if bad {
		return errors.New("not a branch or tag ref name")
	}
	return nil
}
