// Package git scans git repositories: the whole history (every commit
// reachable from any ref, the stash and its reflog, tags and their messages,
// notes) and the staged content of a pre-commit.
//
// History is scanned by unique blob, as Nosey Parker does: every blob is read
// once, however many commits contain it, and is attributed to the first
// commit (in topological order, oldest first) that has it, at the path it had
// there. A blob that first appears in a merge commit (a conflict resolution,
// an "evil merge") is attributed to that merge. Memory holds blob and tree ids
// and one (commit, path) per blob, never blob contents.
//
// go-git opens the repository and resolves refs and tags. With the git CLI
// installed, git reads commits (`cat-file --batch`), the blobs each commit
// introduced (`log --raw -c`) and blob contents (`cat-file --batch`); see
// fast.go. Without it, or when git cannot read the history (a corrupt
// repository), go-git walks commits and trees and reads blobs.
package git

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bks-dev/bks/sources/git/internal/pack"
	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"

	"github.com/bks-dev/bks/sources"
)

// Blob readers.
const (
	ReaderAuto  = ""       // the git CLI when installed, else go-git
	ReaderGit   = "git"    // git cat-file --batch (falls back to go-git if it fails)
	ReaderGoGit = "go-git" // go-git's object reader only
)

// Options select what part of the history a Source scans.
type Options struct {
	// Path is a worktree (or any directory inside it), a linked worktree,
	// a bare repository or a .git directory.
	Path string
	// Repo names the repository in findings; Path when empty.
	Repo string
	// Range "BASE..HEAD" scans only what the commits reachable from HEAD
	// and not from BASE introduced. BASE may be empty ("..HEAD": HEAD and
	// all its ancestors).
	Range string
	// Exclude, with Range or Branch, leaves out the history of these
	// revisions too (git's "--not REV…"): a pushed new branch scans only
	// the commits no other ref has.
	Exclude []string
	// Since skips commits committed before it (zero: no limit). Blobs such
	// commits already had are not reported again by later commits.
	Since time.Time
	// Branch scans only the history of this branch (or any revision)
	// instead of every ref.
	Branch string
	// Submodules also scans checked-out submodules, recursively.
	Submodules bool
	// MaxBlobSize skips blobs larger than this many bytes (0: no cap); each
	// skipped blob is reported to OnError.
	MaxBlobSize int64
	// Reader chooses how blob contents are read: ReaderAuto, ReaderGit,
	// ReaderGoGit.
	Reader string
	// Matcher, when set, says what the consumer looks for (the detector
	// engine). With the git CLI, blobs and messages without a match are
	// not yielded, which lets blobs be read while the history is walked.
	// Nil: everything is yielded.
	Matcher Matcher
	// OnError receives what could not be read (a missing or corrupt
	// object, named by its id); the rest of the history is still scanned.
	OnError sources.ErrorHandler
	// Warn receives notes that are not errors, e.g. a shallow clone.
	Warn func(msg string)
	// Stats, when not nil, is filled while scanning.
	Stats *Stats

	// catFileBlobs makes the blob-first scan read blobs with git cat-file
	// instead of in process (tests run both).
	catFileBlobs bool
	// logAttribution makes the blob-first scan attribute with the git log
	// walk even when it could in process (for comparisons).
	logAttribution bool
}

// Matcher is what the git source asks of the detector engine, which
// satisfies it.
type Matcher interface {
	// HasMatch says whether data may hold something to find: true for
	// any bytes in which the consumer could find a match.
	HasMatch(data []byte) bool
	// HasAnchor says whether data holds any of the literals, at most
	// MaxAnchorLen bytes long, without which HasMatch is false. Blobs
	// stored as deltas against a blob without one are then checked only
	// where the delta changed them.
	HasAnchor(data []byte) bool
	MaxAnchorLen() int
}

// prefilter is the Matcher's HasMatch, or nil without a Matcher.
func (o *Options) prefilter() func([]byte) bool {
	if o.Matcher == nil {
		return nil
	}
	return o.Matcher.HasMatch
}

// Stats counts what a scan read.
type Stats struct {
	Commits   int
	Blobs     int
	BlobBytes int64
	Reader    string // the blob reader used: "git" or "go-git"
	// BlobFirst: the blobs were read before attribution (blobfirst.go);
	// Attributed: the walk that finds which commit introduced each blob
	// ran (always, except in a blob-first scan where no blob had a
	// candidate).
	BlobFirst, Attributed bool
	// Packs: the blobs were read in process from the object store (every
	// blob in it, reachable or not), not through git cat-file.
	Packs bool
	// Streamed counts the blobs over the in-memory limit that were
	// streamed through the chunker instead of held whole (large.go).
	Streamed int
	// MissingChecked: git rev-list looked for missing objects (a partial
	// clone, or a store with loose objects or refs naming trees or blobs;
	// missing.go).
	MissingChecked bool
	// Phases is where a blob-first scan's wall time went (timings.go).
	Phases Phases
}

// Source scans a repository's history. It calls yield from one goroutine.
type Source struct {
	opts Options
}

var _ sources.Source = (*Source)(nil)

// New returns a history source.
func New(opts Options) *Source { return &Source{opts: opts} }

// Chunks implements sources.Source.
func (s *Source) Chunks(ctx context.Context, split sources.Chunker, yield func(sources.Chunk) error) error {
	return s.scan(ctx, s.opts.Path, s.repoName(), split, yield, 0)
}

func (s *Source) repoName() string {
	if s.opts.Repo != "" {
		return s.opts.Repo
	}
	return s.opts.Path
}

func (s *Source) onError(path string, err error) {
	if s.opts.OnError != nil {
		s.opts.OnError(path, err)
	}
}

func (s *Source) warn(format string, args ...any) {
	if s.opts.Warn != nil {
		s.opts.Warn(fmt.Sprintf(format, args...))
	}
}

// Open opens the repository at path the way every source here does: it
// finds the enclosing repository, supports linked worktrees and bare
// repositories, and keeps pack files open while scanning (go-git otherwise
// reopens a pack for every object). Call close when done.
func Open(path string) (repo *gogit.Repository, close func(), err error) {
	if path == "" {
		path = "."
	}
	r, err := gogit.PlainOpenWithOptions(path, &gogit.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, gogit.ErrRepositoryNotExists) {
		// A bare repository or a .git directory is not found by walking up.
		r, err = gogit.PlainOpenWithOptions(path, &gogit.PlainOpenOptions{EnableDotGitCommonDir: true})
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open git repository %s: %w", path, err)
	}
	st, ok := r.Storer.(*filesystem.Storage)
	if !ok {
		return r, func() {}, nil
	}
	var wtfs billy.Filesystem
	if wt, err := r.Worktree(); err == nil {
		wtfs = wt.Filesystem
	}
	kept := filesystem.NewStorageWithOptions(st.Filesystem(), cache.NewObjectLRUDefault(), filesystem.Options{KeepDescriptors: true, ExclusiveAccess: true})
	var storer storage.Storer = kept
	closeAll := func() { _ = kept.Close() }
	if alts := openAlternates(st.Filesystem().Root()); len(alts) > 0 {
		storer = &altStorage{Storage: kept, alts: alts}
		closeAll = func() {
			_ = kept.Close()
			for _, a := range alts {
				_ = a.Close()
			}
		}
	}
	r2, err := gogit.Open(storer, wtfs)
	if err != nil {
		closeAll()
		return r, func() {}, nil
	}
	return r2, closeAll, nil
}

// altStorage reads objects from the repository, then from the object
// directories it borrows from (git clone --shared or --reference). go-git
// finds alternates itself only when they are relative to the .git
// directory, and then builds a new object storage for each lookup, which
// rereads the pack index every time (measured: a clone --shared of
// git/git took over 300 s to resolve its 1,000 refs).
type altStorage struct {
	*filesystem.Storage
	alts []*filesystem.ObjectStorage
}

func (s *altStorage) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	o, err := s.Storage.EncodedObject(t, h)
	if !errors.Is(err, plumbing.ErrObjectNotFound) {
		return o, err
	}
	for _, a := range s.alts {
		if o, aerr := a.EncodedObject(t, h); aerr == nil {
			return o, nil
		}
	}
	return nil, err
}

func (s *altStorage) HasEncodedObject(h plumbing.Hash) error {
	err := s.Storage.HasEncodedObject(h)
	if !errors.Is(err, plumbing.ErrObjectNotFound) {
		return err
	}
	for _, a := range s.alts {
		if a.HasEncodedObject(h) == nil {
			return nil
		}
	}
	return err
}

func (s *altStorage) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	n, err := s.Storage.EncodedObjectSize(h)
	if !errors.Is(err, plumbing.ErrObjectNotFound) {
		return n, err
	}
	for _, a := range s.alts {
		if n, aerr := a.EncodedObjectSize(h); aerr == nil {
			return n, nil
		}
	}
	return n, err
}

// openAlternates opens, once, an object storage for each object directory
// the repository at gitDir borrows from (those named ".../objects", the
// only layout go-git reads).
func openAlternates(gitDir string) []*filesystem.ObjectStorage {
	dirs, err := pack.Alternates(filepath.Join(gitDir, "objects"))
	if err != nil {
		return nil
	}
	var out []*filesystem.ObjectStorage
	for _, d := range dirs {
		if filepath.Base(d) != "objects" {
			continue
		}
		dg := dotgit.NewWithOptions(osfs.New(filepath.Dir(d)), dotgit.Options{ExclusiveAccess: true})
		out = append(out, filesystem.NewObjectStorageWithOptions(dg, cache.NewObjectLRUDefault(), filesystem.Options{KeepDescriptors: true, ExclusiveAccess: true}))
	}
	return out
}

const maxSubmoduleDepth = 8

func (s *Source) scan(ctx context.Context, path, repoName string, split sources.Chunker, yield func(sources.Chunk) error, depth int) error {
	repo, closeRepo, err := Open(path)
	if needsCLI(ctx, path, err) {
		return s.scanCLI(ctx, path, repoName, split, yield)
	}
	if err != nil {
		return err
	}
	defer closeRepo()
	h, err := newHistory(ctx, s, repo, path, repoName)
	if err != nil {
		return err
	}
	defer h.closeStore()
	h.split = split
	if err := h.run(ctx, yield); err != nil {
		return err
	}
	if !s.opts.Submodules {
		if depth == 0 {
			s.noteSubmodules(repo, repoName)
		}
		return nil
	}
	if depth >= maxSubmoduleDepth {
		return nil
	}
	return s.scanSubmodules(ctx, repo, repoName, split, yield, depth)
}

// noteSubmodules says which submodules a scan without Options.Submodules
// leaves out: a key in one is not found, and nothing else would say so.
func (s *Source) noteSubmodules(repo *gogit.Repository, repoName string) {
	wt, err := repo.Worktree()
	if err != nil {
		return // bare: nothing checked out
	}
	subs, err := wt.Submodules()
	if err != nil || len(subs) == 0 {
		return
	}
	const shown = 3
	var paths []string
	for _, sub := range subs[:min(len(subs), shown)] {
		paths = append(paths, sub.Config().Path)
	}
	if len(subs) > shown {
		paths = append(paths, "…")
	}
	noun := "submodule"
	if len(subs) > 1 {
		noun += "s"
	}
	s.warn("%s: %d %s not scanned (%s): --submodules scans checked-out ones", repoName, len(subs), noun, strings.Join(paths, ", "))
}

func (s *Source) scanSubmodules(ctx context.Context, repo *gogit.Repository, repoName string, split sources.Chunker, yield func(sources.Chunk) error, depth int) error {
	wt, err := repo.Worktree()
	if err != nil {
		if errors.Is(err, gogit.ErrIsBareRepository) {
			s.warn("%s: bare repository: submodules are not checked out, not scanned", repoName)
			return nil
		}
		return fmt.Errorf("submodules of %s: %w", repoName, err)
	}
	subs, err := wt.Submodules()
	if err != nil {
		return fmt.Errorf("submodules of %s: %w", repoName, err)
	}
	root := wt.Filesystem.Root()
	for _, sub := range subs {
		cfg := sub.Config()
		dir := filepath.Join(root, filepath.FromSlash(cfg.Path))
		if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
			s.warn("%s: submodule %s is not checked out, not scanned (git submodule update --init)", repoName, cfg.Path)
			continue
		}
		if err := s.scan(ctx, dir, repoName+"//"+cfg.Path, split, yield, depth+1); err != nil {
			if ctx.Err() != nil {
				return err
			}
			s.onError(repoName+"//"+cfg.Path, err)
		}
	}
	return nil
}

// readStashReflog returns the commits of the stash's reflog (every stash
// entry, not only the newest that refs/stash names).
func readStashReflog(repo *gogit.Repository) ([]plumbing.Hash, error) {
	fs := storerFS(repo)
	if fs == nil {
		return nil, nil
	}
	f, err := fs.Open("logs/refs/stash")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read stash reflog: %w", err)
	}
	defer f.Close()
	return parseReflog(f)
}

// parseReflog reads "<old> <new> <ident> <time> <tz>\t<message>" lines and
// returns the new ids, skipping the zero id and malformed lines.
func parseReflog(r io.Reader) ([]plumbing.Hash, error) {
	var out []plumbing.Hash
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		id := fields[1]
		if !plumbing.IsHash(id) {
			continue
		}
		h := plumbing.NewHash(id)
		if h.IsZero() {
			continue
		}
		out = append(out, h)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read reflog: %w", err)
	}
	return out, nil
}
