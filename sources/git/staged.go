package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
)

// StagedOptions select what a Staged source scans.
type StagedOptions struct {
	// Path is the worktree or any directory inside it.
	Path string
	// Files, when set, are scanned whether or not they are staged: the
	// staged (index) content of each, or the file on disk when git does
	// not track it. Relative names are relative to Dir (pre-commit passes
	// names relative to the worktree root and runs hooks there).
	Files []string
	// Dir resolves relative Files; the current directory when empty.
	Dir string
	// MaxBlobSize skips larger blobs (0: no cap), reported to OnError.
	MaxBlobSize int64
	OnError     sources.ErrorHandler
}

// Staged scans what a commit would add: every index entry whose content
// differs from HEAD's, read from the index (the object store), not from the
// working tree, so unstaged edits neither hide nor add findings. It calls
// yield from one goroutine.
type Staged struct {
	opts StagedOptions
}

var _ sources.Source = (*Staged)(nil)

// NewStaged returns a staged-content source.
func NewStaged(opts StagedOptions) *Staged { return &Staged{opts: opts} }

func (s *Staged) onError(path string, err error) {
	if s.opts.OnError != nil {
		s.opts.OnError(path, err)
	}
}

// Chunks implements sources.Source.
func (s *Staged) Chunks(ctx context.Context, split sources.Chunker, yield func(sources.Chunk) error) error {
	repo, closeRepo, err := Open(s.opts.Path)
	if needsCLI(ctx, s.opts.Path, err) {
		return s.chunksCLI(ctx, split, yield)
	}
	if err != nil {
		return err
	}
	defer closeRepo()
	wt, err := repo.Worktree()
	if err != nil {
		return fmt.Errorf("staged changes: %w", err)
	}
	root := wt.Filesystem.Root()
	idx, err := repo.Storer.Index()
	if err != nil {
		return fmt.Errorf("read the index: %w", err)
	}
	if len(s.opts.Files) > 0 {
		byName := make(map[string]*index.Entry, len(idx.Entries))
		for _, e := range idx.Entries {
			if e.Stage == index.Merged || byName[e.Name] == nil {
				byName[e.Name] = e
			}
		}
		staged := func(rel string) (func() error, bool) {
			e := byName[rel]
			if e == nil || e.Mode == filemode.Submodule || e.IntentToAdd {
				return nil, false
			}
			return func() error { return s.blob(repo, rel, e.Hash, split, yield) }, true
		}
		return s.files(ctx, root, staged, split, yield)
	}
	head, err := headEntries(repo)
	if err != nil {
		return err
	}
	seen := map[plumbing.Hash]struct{}{}
	for _, e := range idx.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.Mode == filemode.Submodule || e.IntentToAdd {
			continue
		}
		if h, ok := head[e.Name]; ok && h == e.Hash {
			continue
		}
		if _, dup := seen[e.Hash]; dup {
			continue
		}
		seen[e.Hash] = struct{}{}
		if err := s.blob(repo, e.Name, e.Hash, split, yield); err != nil {
			return err
		}
	}
	return nil
}

// headEntries maps every path of HEAD's tree to its blob; empty before the
// first commit.
func headEntries(repo *gogit.Repository) (map[string]plumbing.Hash, error) {
	out := map[string]plumbing.Hash{}
	ref, err := repo.Head()
	if err != nil {
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			return out, nil // no commit yet: everything staged is new
		}
		return nil, fmt.Errorf("resolve HEAD: %w", err)
	}
	c, err := object.GetCommit(repo.Storer, ref.Hash())
	if err != nil {
		return nil, fmt.Errorf("read HEAD commit %s: %w", ref.Hash(), err)
	}
	var walk func(id plumbing.Hash, prefix string) error
	walk = func(id plumbing.Hash, prefix string) error {
		t, err := object.GetTree(repo.Storer, id)
		if err != nil {
			return fmt.Errorf("read tree %s: %w", id, err)
		}
		for _, e := range t.Entries {
			p := prefix + e.Name
			if e.Mode == filemode.Dir {
				if err := walk(e.Hash, p+"/"); err != nil {
					return err
				}
				continue
			}
			out[p] = e.Hash
		}
		return nil
	}
	if err := walk(c.TreeHash, ""); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Staged) blob(repo *gogit.Repository, path string, id plumbing.Hash, split sources.Chunker, yield func(sources.Chunk) error) error {
	obj, err := repo.Storer.EncodedObject(plumbing.BlobObject, id)
	if err != nil {
		s.onError(path, fmt.Errorf("read staged blob %s: %w", id, err))
		return nil
	}
	if s.opts.MaxBlobSize > 0 && obj.Size() > s.opts.MaxBlobSize {
		s.onError(path, fmt.Errorf("%d bytes, over the %d-byte cap: skipped", obj.Size(), s.opts.MaxBlobSize))
		return nil
	}
	rd, err := obj.Reader()
	if err != nil {
		s.onError(path, fmt.Errorf("read staged blob %s: %w", id, err))
		return nil
	}
	defer rd.Close()
	data, err := io.ReadAll(rd)
	if err != nil {
		s.onError(path, fmt.Errorf("read staged blob %s: %w", id, err))
		return nil
	}
	return split.SplitBytes(data, &location.Location{Path: path}, yield)
}

// files scans the named files: their index content when tracked (staged
// returns what reads it), else the file on disk.
func (s *Staged) files(ctx context.Context, root string, staged func(rel string) (func() error, bool), split sources.Chunker, yield func(sources.Chunk) error) error {
	dir := s.opts.Dir
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return fmt.Errorf("staged files: %w", err)
		}
	}
	rootAbs, err := filepath.EvalSymlinks(root)
	if err != nil {
		rootAbs = root
	}
	for _, f := range s.opts.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		abs := f
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(dir, f)
		}
		rel, err := relTo(rootAbs, root, abs)
		if err != nil {
			s.onError(f, err)
			continue
		}
		if read, ok := staged(rel); ok {
			if err := read(); err != nil {
				return err
			}
			continue
		}
		if err := s.diskFile(abs, rel, split, yield); err != nil {
			return err
		}
	}
	return nil
}

// relTo returns abs as a slash path relative to the worktree root.
func relTo(rootAbs, root, abs string) (string, error) {
	dirAbs, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err == nil {
		abs = filepath.Join(dirAbs, filepath.Base(abs))
	}
	for _, r := range []string{rootAbs, root} {
		if rel, err := filepath.Rel(r, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return filepath.ToSlash(rel), nil
		}
	}
	return "", fmt.Errorf("not inside the worktree %s", root)
}

func (s *Staged) diskFile(abs, rel string, split sources.Chunker, yield func(sources.Chunk) error) error {
	fh, err := os.Open(abs)
	if err != nil {
		s.onError(rel, fmt.Errorf("not in the index and not readable: %w", err))
		return nil
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		s.onError(rel, err)
		return nil
	}
	if st.IsDir() {
		s.onError(rel, errors.New("is a directory"))
		return nil
	}
	if s.opts.MaxBlobSize > 0 && st.Size() > s.opts.MaxBlobSize {
		s.onError(rel, fmt.Errorf("%d bytes, over the %d-byte cap: skipped", st.Size(), s.opts.MaxBlobSize))
		return nil
	}
	var yerr error
	err = split.Split(fh, &location.Location{Path: rel}, nil, func(c sources.Chunk) error {
		if e := yield(c); e != nil {
			yerr = e
			return e
		}
		return nil
	})
	if yerr != nil {
		return yerr
	}
	if err != nil {
		s.onError(rel, fmt.Errorf("read: %w", err))
	}
	return nil
}
