package reposweep

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// ErrEmptyRepository says a repository has no commits.
var ErrEmptyRepository = errors.New("empty repository (no commits)")

// ErrNotFound says the host answered a git request with 404: the
// repository does not exist (or the token may not see it).
var ErrNotFound = errors.New("repository not found")

// gitRunner runs the git CLI with the token passed in the environment
// (never on the command line, never in a URL or a config file) and every
// prompt disabled.
type gitRunner struct {
	git   string // path of git; "git" when empty
	user  string // the user name sent with token
	token string
	// protocols are the transports git may use (GIT_ALLOW_PROTOCOL):
	// allowedProtocols when empty. Only tests cloning a local path add
	// "file".
	protocols string
}

// allowedProtocols are the transports a sweep's git may use: the clone
// URLs are checked (Hosts) before git sees them, and this holds for what
// git itself would go to besides (submodules, ext::, file://, ssh).
const allowedProtocols = "http:https"

func (g *gitRunner) env() []string {
	user := g.user
	if user == "" {
		user = DefaultGitUser
	}
	return append(os.Environ(), GitEnv(user, g.token, cmp.Or(g.protocols, allowedProtocols))...)
}

// GitEnv is the environment a git that talks to a hosting service with a
// token runs with, added to its own: no prompt and no askpass, only the
// protocols named (GIT_ALLOW_PROTOCOL, "http:https" for a sweep), no
// credential helper, redirects not followed, and the token (if any) as a
// Basic Authorization header of user. The sweeps and bks serve's fetch
// share it.
func GitEnv(user, token, protocols string) []string {
	env := []string{
		"GIT_TERMINAL_PROMPT=0",
		"GCM_INTERACTIVE=never",
		"GIT_ASKPASS=",
		"SSH_ASKPASS=",
		"LC_ALL=C",
		"GIT_ALLOW_PROTOCOL=" + protocols,
	}
	// Configuration through the environment (git >= 2.31): no credential
	// helper, and the token as an Authorization header.
	// Redirects are not followed: after a redirect of its first request
	// git sends every later one, with http.extraHeader (the token), to
	// the host redirected to, which may be any host.
	cfg := [][2]string{{"credential.helper", ""}, {"core.askPass", ""}, {"http.followRedirects", "false"}}
	if token != "" {
		basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + token))
		cfg = append(cfg, [2]string{"http.extraHeader", "Authorization: Basic " + basic})
	}
	env = append(env, fmt.Sprintf("GIT_CONFIG_COUNT=%d", len(cfg)))
	for i, kv := range cfg {
		env = append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	return env
}

// run runs git and returns its standard output; the error carries the last
// lines of its standard error.
func (g *gitRunner) run(ctx context.Context, dir string, args ...string) ([]byte, error) {
	bin := g.git
	if bin == "" {
		bin = "git"
	}
	if dir != "" {
		args = append([]string{"--git-dir", dir}, args...)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = g.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 && len(msg) > 400 {
			msg = msg[i+1:]
		}
		if msg == "" {
			return nil, fmt.Errorf("git %s: %w", args[0], err)
		}
		// git's words for a 404 over HTTP (LC_ALL=C): "fatal:
		// repository 'URL/' not found".
		if strings.Contains(msg, "fatal: repository '") && strings.HasSuffix(msg, "' not found") {
			return nil, fmt.Errorf("git %s: %w: %w: %s", args[0], err, ErrNotFound, msg)
		}
		return nil, fmt.Errorf("git %s: %w: %s", args[0], err, msg)
	}
	return stdout.Bytes(), nil
}

// DefaultRefspecs are what a sweep fetches unless told otherwise:
// branches and tags.
var DefaultRefspecs = []string{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"}

// DefaultGitUser is the user name git sends with the token (GitHub's; the
// hosts that ignore it accept it too).
const DefaultGitUser = "x-access-token"

// keeps says whether ref is one that refspecs fetch: it matches the source
// side of one of them ("refs/pull/*/head" takes refs/pull/7/head).
func keeps(refspecs []string, ref string) bool {
	for _, rs := range refspecs {
		src, _, _ := strings.Cut(strings.TrimPrefix(rs, "+"), ":")
		pre, suf, glob := strings.Cut(src, "*")
		if !glob {
			if ref == src {
				return true
			}
			continue
		}
		if len(ref) > len(pre)+len(suf) && strings.HasPrefix(ref, pre) && strings.HasSuffix(ref, suf) {
			return true
		}
	}
	return false
}

// Tip identifies the state of a repository's refs: the commit HEAD names
// and a digest of every fetched ref and the object it names. Two scans of
// a repository at the same Tip see the same history.
type Tip struct {
	Head string `json:"head"`
	Refs string `json:"refs"`
}

// TipOf computes a Tip from "objectname refname" lines, HEAD's target
// branch and the refspecs fetched (only the refs they take count).
func TipOf(lines []string, headRef string, refspecs []string) Tip {
	var refs []string
	var t Tip
	for _, ln := range lines {
		obj, ref, ok := strings.Cut(strings.TrimSpace(ln), "\t")
		if !ok {
			obj, ref, ok = strings.Cut(strings.TrimSpace(ln), " ")
		}
		if !ok || strings.HasSuffix(ref, "^{}") {
			continue
		}
		if ref == headRef || (headRef == "" && ref == "HEAD") {
			t.Head = obj
		}
		if keeps(refspecs, ref) {
			refs = append(refs, obj+" "+ref)
		}
	}
	if len(refs) == 0 {
		return t
	}
	sort.Strings(refs)
	sum := sha256.Sum256([]byte(strings.Join(refs, "\n")))
	t.Refs = hex.EncodeToString(sum[:16])
	return t
}

// remoteTip asks the server for the repository's refs (git ls-remote: no
// API quota, one round trip).
func (g *gitRunner) remoteTip(ctx context.Context, r Repo, refspecs []string) (Tip, error) {
	out, err := g.run(ctx, "", "ls-remote", r.CloneURL)
	if err != nil {
		return Tip{}, fmt.Errorf("list refs: %w", err)
	}
	head := ""
	if r.DefaultBranch != "" {
		head = "refs/heads/" + r.DefaultBranch
	}
	return TipOf(strings.Split(string(out), "\n"), head, refspecs), nil
}

// localTip reads the refs of a clone.
func (g *gitRunner) localTip(ctx context.Context, dir, defaultBranch string, refspecs []string) (Tip, error) {
	out, err := g.run(ctx, dir, "for-each-ref", "--format=%(objectname)\t%(refname)")
	if err != nil {
		return Tip{}, fmt.Errorf("read refs: %w", err)
	}
	head := ""
	if defaultBranch != "" {
		head = "refs/heads/" + defaultBranch
	}
	return TipOf(strings.Split(string(out), "\n"), head, refspecs), nil
}

// fetch brings the refs refspecs name into the bare repository dir, creating it when it does not
// exist, and points HEAD at the default branch. An existing clone (a cache)
// is updated: new objects fetched, deleted refs pruned. It reports
// ErrEmptyRepository when the repository has no refs.
func (g *gitRunner) fetch(ctx context.Context, r Repo, dir string, refspecs []string) error {
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return fmt.Errorf("clone: %w", err)
		}
		if _, err := g.run(ctx, "", "init", "--quiet", "--bare", dir); err != nil {
			return fmt.Errorf("clone: %w", err)
		}
	}
	args := append([]string{"fetch", "--quiet", "--prune", "--no-write-fetch-head", "--", r.CloneURL}, refspecs...)
	if _, err := g.run(ctx, dir, args...); err != nil {
		return fmt.Errorf("clone: %w", err)
	}
	out, err := g.run(ctx, dir, "for-each-ref", "--count=1", "--format=%(refname)")
	if err != nil {
		return fmt.Errorf("clone: %w", err)
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return ErrEmptyRepository
	}
	if r.DefaultBranch != "" {
		if _, err := g.run(ctx, dir, "symbolic-ref", "HEAD", "refs/heads/"+r.DefaultBranch); err != nil {
			return fmt.Errorf("clone: set HEAD: %w", err)
		}
	}
	return nil
}

// CachePath is where a repository's clone lives under a cache directory:
// host/owner/name.git, from the clone URL.
func CachePath(cacheDir string, r Repo) string {
	host := "host"
	if u, err := url.Parse(r.CloneURL); err == nil && u.Host != "" {
		host = strings.ReplaceAll(u.Host, ":", "_")
	}
	return filepath.Join(cacheDir, safeName(host), safeName(r.Owner), safeName(r.Name)+".git")
}

// safeName keeps a path element from escaping its directory.
func safeName(s string) string {
	s = strings.Map(func(c rune) rune {
		if c == '/' || c == '\\' || c == 0 {
			return '_'
		}
		return c
	}, s)
	if s == "" || s == "." || s == ".." {
		return "_" + s
	}
	return s
}

// resolveHead fills in r's default branch, when the host's listing did not
// say it, from the branch the server's HEAD names.
func (g *gitRunner) resolveHead(ctx context.Context, r Repo) (Repo, error) {
	if r.DefaultBranch != "" {
		return r, nil
	}
	out, err := g.run(ctx, "", "ls-remote", "--symref", "--", r.CloneURL, "HEAD")
	if err != nil {
		return r, fmt.Errorf("read HEAD: %w", err)
	}
	for _, ln := range strings.Split(string(out), "\n") {
		// "ref: refs/heads/main\tHEAD"
		if ref, ok := strings.CutPrefix(ln, "ref: refs/heads/"); ok {
			if b, name, ok := strings.Cut(ref, "\t"); ok && name == "HEAD" {
				r.DefaultBranch = b
			}
		}
	}
	return r, nil
}
