package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ErrUnknownRevision is FileAt's error for a revision that names no
// commit.
var ErrUnknownRevision = errors.New("unknown revision")

// maxRevFile bounds what FileAt reads: it is for configuration files.
const maxRevFile = 64 << 20

// WorkTree returns the root of the working tree that path is in, or "" for
// a bare repository (or a .git directory), which has none.
func WorkTree(ctx context.Context, path string) (string, error) {
	repo, closeRepo, err := Open(path)
	if needsCLI(ctx, path, err) {
		if bare, _ := gitOutput(ctx, path, "rev-parse", "--is-bare-repository"); strings.TrimSpace(bare) == "true" {
			return "", nil
		}
		out, err := gitOutput(ctx, path, "rev-parse", "--show-toplevel")
		if err != nil {
			return "", nil // a .git directory: no working tree
		}
		return strings.TrimSpace(out), nil
	}
	if err != nil {
		return "", err
	}
	defer closeRepo()
	wt, err := repo.Worktree()
	if errors.Is(err, gogit.ErrIsBareRepository) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return wt.Filesystem.Root(), nil
}

// FileAt reads the file at name (a slash path from the repository's root)
// in the commit rev names, from the repository at repoPath. ok is false when
// the commit has no such file.
func FileAt(ctx context.Context, repoPath, rev, name string) (data []byte, ok bool, err error) {
	repo, closeRepo, err := Open(repoPath)
	if needsCLI(ctx, repoPath, err) {
		return fileAtCLI(ctx, repoPath, rev, name)
	}
	if err != nil {
		return nil, false, err
	}
	defer closeRepo()
	id, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, false, fmt.Errorf("%w %q: %w", ErrUnknownRevision, rev, err)
	}
	c, err := repo.CommitObject(*id)
	if err != nil {
		return nil, false, fmt.Errorf("%w %q: %w", ErrUnknownRevision, rev, err)
	}
	f, err := c.File(name)
	if errors.Is(err, object.ErrFileNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s:%s: %w", rev, name, err)
	}
	if f.Size > maxRevFile {
		return nil, false, fmt.Errorf("%s:%s: larger than %d bytes", rev, name, maxRevFile)
	}
	r, err := f.Reader()
	if err != nil {
		return nil, false, fmt.Errorf("%s:%s: %w", rev, name, err)
	}
	defer r.Close()
	data, err = io.ReadAll(r)
	if err != nil {
		return nil, false, fmt.Errorf("%s:%s: %w", rev, name, err)
	}
	return data, true, nil
}

// fileAtCLI is FileAt with the git CLI (SHA-256 repositories).
func fileAtCLI(ctx context.Context, repoPath, rev, name string) ([]byte, bool, error) {
	out, err := gitOutput(ctx, repoPath, "rev-parse", "--verify", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return nil, false, fmt.Errorf("%w %q: %w", ErrUnknownRevision, rev, err)
	}
	obj := strings.TrimSpace(out) + ":" + name
	if _, err := gitOutput(ctx, repoPath, "cat-file", "-e", obj); err != nil {
		return nil, false, nil
	}
	data, err := gitOutput(ctx, repoPath, "cat-file", "blob", obj)
	if err != nil {
		return nil, false, err
	}
	return []byte(data), true, nil
}
