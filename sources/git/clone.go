package git

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
)

var scpLike = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/]`)

// IsURL reports whether s names a remote repository (scheme://… or
// user@host:path) rather than a local path.
func IsURL(s string) bool {
	if strings.Contains(s, "://") {
		return true
	}
	if scpLike.MatchString(s) {
		if _, err := os.Stat(s); err != nil {
			return true
		}
	}
	return false
}

// RedactURL hides a password or token in a URL, for messages.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		return u.Redacted()
	}
	if strings.Contains(u.Scheme, "http") {
		u.User = url.User("xxxxx")
		return u.String()
	}
	return s
}

// Clone mirrors the repository at rawURL (every ref: branches, tags,
// notes) and returns the local bare repository's path and a cleanup
// function. With cacheDir, the mirror lives there, keyed by URL, and is
// fetched again on the next call instead of cloned; cleanup then keeps it.
func Clone(ctx context.Context, rawURL, cacheDir string) (string, func(), error) {
	noop := func() {}
	dst := ""
	cleanup := noop
	if cacheDir != "" {
		sum := sha256.Sum256([]byte(rawURL))
		name := filepath.Base(strings.TrimSuffix(strings.TrimSuffix(rawURL, "/"), ".git"))
		name = regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(name, "_")
		dst = filepath.Join(cacheDir, name+"-"+hex.EncodeToString(sum[:6])+".git")
		if err := os.MkdirAll(cacheDir, 0o755); err != nil {
			return "", noop, fmt.Errorf("cache dir: %w", err)
		}
		if _, err := os.Stat(filepath.Join(dst, "HEAD")); err == nil {
			if err := fetchMirror(ctx, dst); err != nil {
				return "", noop, fmt.Errorf("update %s in %s: %w", RedactURL(rawURL), dst, err)
			}
			return dst, noop, nil
		}
	} else {
		tmp, err := os.MkdirTemp("", "bks-clone-")
		if err != nil {
			return "", noop, fmt.Errorf("clone: %w", err)
		}
		dst = filepath.Join(tmp, "repo.git")
		cleanup = func() { os.RemoveAll(tmp) }
	}
	if err := cloneMirror(ctx, rawURL, dst); err != nil {
		cleanup()
		if cacheDir != "" {
			os.RemoveAll(dst)
		}
		return "", noop, fmt.Errorf("clone %s: %w", RedactURL(rawURL), err)
	}
	return dst, cleanup, nil
}

func cloneMirror(ctx context.Context, rawURL, dst string) error {
	if _, err := exec.LookPath("git"); err == nil {
		cmd := exec.CommandContext(ctx, "git", "clone", "--mirror", "--quiet", "--", rawURL, dst)
		cmd.Env = gitEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git clone: %w: %s", err, redactOutput(out, rawURL))
		}
		return nil
	}
	_, err := gogit.PlainCloneContext(ctx, dst, true, &gogit.CloneOptions{URL: rawURL, Mirror: true})
	return err
}

func fetchMirror(ctx context.Context, dir string) error {
	if _, err := exec.LookPath("git"); err == nil {
		cmd := exec.CommandContext(ctx, "git", "-C", dir, "fetch", "--prune", "--quiet", "origin")
		cmd.Env = gitEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git fetch: %w: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		return err
	}
	err = repo.FetchContext(ctx, &gogit.FetchOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{"+refs/*:refs/*"}, Prune: true, Force: true})
	if err == gogit.NoErrAlreadyUpToDate {
		return nil
	}
	return err
}

func redactOutput(out []byte, rawURL string) string {
	s := strings.TrimSpace(string(out))
	if r := RedactURL(rawURL); r != rawURL {
		s = strings.ReplaceAll(s, rawURL, r)
	}
	return s
}
