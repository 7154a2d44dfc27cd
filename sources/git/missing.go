package git

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// Objects the history needs but the object store lacks: a blob deleted by
// hand, a corrupt store, or a partial clone (`git clone --filter`), whose
// promisor remote holds the blobs (or trees) it did not download. The
// blob-first scan lists them with `git rev-list --missing=print`, which
// neither fails on them nor fetches them, scans everything present, and
// reports them (a partial clone: their count and how to fetch them; any
// other repository: each by id, through the walk), so the exit says the
// scan is incomplete.

// promisorRemote is the remote a partial clone fetches missing objects
// from ("" when the repository is not a partial clone).
func (h *history) promisorRemote() string {
	h.promisor.once.Do(func() { h.promisor.name = h.readPromisorRemote() })
	return h.promisor.name
}

// readPromisorRemote reads it from the repository's config (go-git parses
// the file anew on each call).
func (h *history) readPromisorRemote() string {
	cfg, err := h.repo.Config()
	if err != nil || cfg.Raw == nil {
		return ""
	}
	if name := cfg.Raw.Section("extensions").Option("partialclone"); name != "" {
		return name
	}
	for _, sub := range cfg.Raw.Section("remote").Subsections {
		if strings.EqualFold(sub.Option("promisor"), "true") {
			return sub.Name
		}
	}
	return ""
}

// revListRoots is the stdin of a rev-list over the blob-first scan's
// roots: every ref's commit (with commits) and the trees and blobs refs
// name.
func (h *history) revListRoots(commits bool) *bytes.Buffer {
	var roots bytes.Buffer
	for _, id := range h.tips {
		if !commits {
			break
		}
		roots.WriteString(id.String() + "\n")
	}
	for _, l := range h.loose {
		roots.WriteString(l.hash.String() + "\n")
	}
	return &roots
}

// revListMissing runs `git rev-list --objects --missing=print` over the
// scan's roots and returns the ids of the missing objects.
//
// In a partial clone every reachable object is checked: the promisor
// remote may lack any of them. Elsewhere only what loose commits reach: a
// pack written by clone, fetch or gc carries what its commits reach, so a
// missing object is one deleted from the loose store, which this finds. A
// full check of a repository of git/git's size costs a second tree walk of
// the whole history (measured on a 203k-commit mirror: 9.3 s CPU and
// 671 MB for rev-list alone, against 7.5 s for the whole scan), which is
// `git fsck --connectivity-only`'s job.
//
// When the store holds no loose object, every commit is packed: from the
// commits, that rev-list would list nothing yet still walk every one of
// them (on git/git's 85k commits: 0.9-1.0 s CPU and 180 MB), so it is
// given only the trees and blobs refs name (--unpacked does not stop it
// from walking those), and not run when there are none.
func (h *history) revListMissing(ctx context.Context) ([]plumbing.Hash, error) {
	unpacked := h.promisorRemote() == ""
	commits := true
	if unpacked && h.store != nil {
		if any, err := h.store.HasLoose(); err == nil && !any {
			commits = false
		}
	}
	if !commits && len(h.loose) == 0 {
		return nil, nil
	}
	if st := h.s.opts.Stats; st != nil {
		st.MissingChecked = true // read after blobFirst waits for this goroutine
	}
	cmd, stdout, stderr, err := startGit(ctx, h.path, h.revListRoots(commits), revListArgs(unpacked)...)
	if err != nil {
		return nil, err
	}
	var missing []plumbing.Hash
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if id, ok := missingLine(sc.Bytes()); ok {
			missing = append(missing, id)
		}
	}
	serr := sc.Err()
	if serr != nil {
		_ = cmd.Process.Kill()
	}
	if err := cmd.Wait(); err != nil {
		return missing, fmt.Errorf("git rev-list: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return missing, serr
}

// revListArgs are the blob-first scan's rev-list's: every object
// reachable from its roots, blobs only, "?<id>" for a missing one; with
// unpacked, only what loose commits reach (rev-list does not walk packed
// commits' trees).
func revListArgs(unpacked bool) []string {
	args := []string{"rev-list", "--objects", "--no-object-names", "--missing=print", "--filter=object:type=blob", "--stdin"}
	if unpacked {
		args = append(args, "--unpacked")
	}
	return args
}

// startGit starts git (with gitTuning) in dir, stdin its input (or nil);
// stderr keeps the first 4 KiB of its errors.
func startGit(ctx context.Context, dir string, stdin io.Reader, args ...string) (cmd *exec.Cmd, stdout io.Reader, stderr *bytes.Buffer, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	cmd = exec.CommandContext(ctx, "git", append(append([]string{"-C", abs}, gitTuning...), args...)...)
	cmd.Env = gitEnv()
	cmd.Stdin = stdin
	if stdout, err = cmd.StdoutPipe(); err != nil {
		return nil, nil, nil, err
	}
	stderr = &bytes.Buffer{}
	cmd.Stderr = &limitedBuffer{b: stderr, max: 4096}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, fmt.Errorf("start git %s: %w", args[0], err)
	}
	return cmd, stdout, stderr, nil
}

// missingLine reads rev-list --missing=print's "?<id>" line.
func missingLine(line []byte) (plumbing.Hash, bool) {
	rest, ok := bytes.CutPrefix(line, []byte("?"))
	if !ok || !plumbing.IsHash(string(rest)) {
		return plumbing.Hash{}, false
	}
	return plumbing.NewHash(string(rest)), true
}

// missingErr handles the missing objects: in a partial clone, their count
// and how to fetch them are reported and the scan goes on; otherwise
// errFallback, as for any unreadable object: the walk reads the history
// again and names each one by id, with the commit and path that have it.
func (h *history) missingErr(missing []plumbing.Hash) error {
	if len(missing) == 0 {
		return nil
	}
	remote := h.promisorRemote()
	if remote == "" {
		return fmt.Errorf("%w: %d object(s) reachable from a ref are missing from the object store", errFallback, len(missing))
	}
	sort.Slice(missing, func(i, j int) bool { return bytes.Compare(missing[i][:], missing[j][:]) < 0 })
	h.onError(h.repoName, fmt.Errorf("partial clone (promisor remote %q): %d object(s) reachable from its refs are not in the local object store and were not scanned (first: %s); "+
		"to scan them, fetch them all (`git config --unset remote.%s.partialclonefilter && git fetch --refetch %s`, git 2.36+) or scan a full clone (without --filter)",
		remote, len(missing), missing[0], remote, remote))
	return nil
}
