package git

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
)

// The git-CLI-only scan, for repositories go-git cannot open: SHA-256
// ones (`git init --object-format=sha256`; go-git v5 knows only SHA-1
// and rejects their objectformat extension). Ids are hex strings of any
// length. The history is one `git log --reverse --topo-order --raw -c`
// (oldest first: each blob's first appearance is the commit and path that
// introduced it, as in fast.go), blobs at HEAD are read first, then the
// others, then the commit messages; blobs and the staged content are read
// by git cat-file --batch; then annotated tag messages and every stash
// entry (the stash reflog), as the in-process reader does. Not read here:
// submodules.

// objectFormat asks git for the repository's object format ("sha1",
// "sha256"); "" when git cannot tell.
func objectFormat(ctx context.Context, path string) string {
	out, err := gitOutput(ctx, path, "rev-parse", "--show-object-format")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// needsCLI says whether a repository go-git failed to open (openErr) is
// one the git CLI reads: a SHA-256 one.
func needsCLI(ctx context.Context, path string, openErr error) bool {
	if openErr == nil {
		return false
	}
	if _, err := exec.LookPath("git"); err != nil {
		return false
	}
	return objectFormat(ctx, path) == "sha256"
}

// cliCommit is one commit of the git log.
type cliCommit struct {
	id, author, email, subject, message string
	date                                *time.Time
}

// cliRecord is a blob and the commit (index) and path that introduced it.
type cliRecord struct {
	blob   string
	commit int
	path   string
}

// cliLogArgs are the limits and revisions of the git log the options ask
// for, checked as the SHA-1 path checks them (parseRange). A revision
// never reads as an option: it comes after --end-of-options.
func (o *Options) cliLogArgs() ([]string, error) {
	var args []string
	if !o.Since.IsZero() {
		args = append(args, "--since="+o.Since.Format(time.RFC3339))
	}
	switch {
	case o.Range != "":
		base, head, err := o.parseRange()
		if err != nil {
			return nil, err
		}
		if base != "" {
			head = base + ".." + head
		}
		args = append(args, "--end-of-options", head)
	case o.Branch != "":
		args = append(args, "--end-of-options", o.Branch)
	default:
		args = append(args, "--all")
	}
	return args, nil
}

// cliStashReflog returns every stash entry (refs/stash names only the
// newest): revisions for git log beside --all.
func cliStashReflog(ctx context.Context, path string) []string {
	out, err := gitOutput(ctx, path, "log", "-g", "--format=%H", "refs/stash", "--")
	if err != nil {
		return nil // no stash
	}
	return strings.Fields(out)
}

// cliTag is an annotated tag: its message and who tagged what.
type cliTag struct {
	ref, target, tagger, email, message string
	date                                *time.Time
}

// cliTags lists the annotated tags of the repository.
func cliTags(ctx context.Context, path string) ([]cliTag, error) {
	out, err := gitOutput(ctx, path, "for-each-ref", "--format=%(objecttype)%01%(refname)%01%(*objectname)%01%(taggername)%01%(taggeremail:trim)%01%(taggerdate:iso-strict)%01%(contents)%00", "refs/tags")
	if err != nil {
		return nil, err
	}
	var tags []cliTag
	for _, e := range strings.Split(out, "\x00") {
		f := strings.SplitN(strings.TrimLeft(e, "\n"), "\x01", 7)
		if len(f) != 7 || f[0] != "tag" {
			continue
		}
		t := cliTag{ref: f[1], target: f[2], tagger: f[3], email: f[4], message: f[6]}
		if d, err := time.Parse(time.RFC3339, f[5]); err == nil {
			t.date = location.Date(d)
		}
		tags = append(tags, t)
	}
	return tags, nil
}

// scanCLI scans the history of the repository at path with the git CLI.
func (s *Source) scanCLI(ctx context.Context, path, repoName string, split sources.Chunker, yield func(sources.Chunk) error) error {
	if s.opts.Submodules {
		s.warn("%s: SHA-256 repository: submodules are not scanned", repoName)
	}
	logArgs, err := s.opts.cliLogArgs()
	if err != nil {
		return err
	}
	all := s.opts.Range == "" && s.opts.Branch == ""
	if all {
		logArgs = append(logArgs, cliStashReflog(ctx, path)...)
	}
	commits, recs, err := cliLog(ctx, path, logArgs)
	if err != nil {
		return err
	}
	head := cliHeadBlobs(ctx, path)
	if st := s.opts.Stats; st != nil {
		st.Reader, st.Commits, st.Attributed = ReaderGit, len(commits), true
	}
	t, f := true, false
	origin := func(c int) *location.Location {
		m := commits[c]
		return &location.Location{Repo: repoName, Commit: m.id, Author: m.author, Email: m.email, Date: m.date, Message: m.subject}
	}
	cf, err := startCatFile(ctx, path)
	if err != nil {
		return err
	}
	defer cf.kill()
	var buf []byte
	for _, atHead := range []bool{true, false} {
		for i := range recs {
			r := &recs[i]
			if _, ok := head[r.blob]; ok != atHead {
				continue
			}
			o := origin(r.commit)
			o.Path, o.InHead = r.path, &f
			if atHead {
				o.InHead = &t
			}
			data, err := cf.readBlobHex(r.blob, buf, s.opts.MaxBlobSize)
			if err != nil {
				if errors.Is(err, errCatFileDead) {
					return err
				}
				s.onError(itemName(o), err)
				continue
			}
			if st := s.opts.Stats; st != nil {
				st.Blobs++
				st.BlobBytes += int64(len(data))
			}
			if err := split.SplitBytes(data, o, yield); err != nil {
				return err
			}
			buf = data[:0]
		}
	}
	_ = cf.close()
	for i := range commits {
		o := origin(i)
		o.Kind = "commit-message"
		if err := split.SplitBytes([]byte(commits[i].message), o, yield); err != nil {
			return err
		}
	}
	if !all {
		return nil
	}
	tags, err := cliTags(ctx, path)
	if err != nil {
		s.onError("refs/tags", err)
	}
	for _, t := range tags {
		o := &location.Location{Repo: repoName, Path: t.ref, Commit: t.target, Author: t.tagger, Email: t.email,
			Date: t.date, Message: firstLine(t.message), Kind: "tag-message"}
		if err := split.SplitBytes([]byte(t.message), o, yield); err != nil {
			return err
		}
	}
	return nil
}

// errCatFileDead: git cat-file stopped answering; nothing more can be read.
var errCatFileDead = errors.New("git cat-file stopped")

// readBlobHex asks cf for the blob id and reads it (max: the size cap, 0
// for none).
func (cf *catFile) readBlobHex(id string, buf []byte, max int64) ([]byte, error) {
	if _, err := cf.in.WriteString(id + "\n"); err != nil {
		return nil, fmt.Errorf("%w: %v", errCatFileDead, err)
	}
	if err := cf.in.Flush(); err != nil {
		return nil, fmt.Errorf("%w: %v", errCatFileDead, err)
	}
	data, typ, size, err := cf.readHex(id, buf, max)
	switch {
	case errors.Is(err, errMissing):
		return nil, fmt.Errorf("blob %s: missing from the object store", id)
	case errors.Is(err, errTooBig):
		return nil, fmt.Errorf("blob %s: %d bytes, over the %d-byte cap: skipped", id, size, max)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", errCatFileDead, err)
	case typ != "blob":
		return nil, fmt.Errorf("object %s is a %s, not a blob", id, typ)
	}
	return data, nil
}

// cliHeadBlobs is the set of blobs in HEAD's tree (empty without HEAD).
func cliHeadBlobs(ctx context.Context, path string) map[string]struct{} {
	out := map[string]struct{}{}
	b, err := gitOutput(ctx, path, "ls-tree", "-r", "-z", "--full-tree", "HEAD")
	if err != nil {
		return out
	}
	for _, e := range strings.Split(b, "\x00") {
		meta, _, ok := strings.Cut(e, "\t")
		if f := strings.Fields(meta); ok && len(f) == 3 && f[1] == "blob" {
			out[f[2]] = struct{}{}
		}
	}
	return out
}

// cliLog runs git log over revs, oldest first, and returns the commits
// and the first record of each blob.
func cliLog(ctx context.Context, path string, revs []string) ([]cliCommit, []cliRecord, error) {
	args := []string{"log", "--reverse", "--topo-order", "-z", "--raw", "-c", "--root", "--no-renames",
		"--no-abbrev", "--no-color", "--no-ext-diff", "--no-textconv", "--no-mailmap",
		"--format=commit %H%x01%an%x01%ae%x01%aI%x01%B"}
	args = append(append(args, revs...), "--")
	cmd, stdout, stderr, err := startGit(ctx, path, nil, args...)
	if err != nil {
		return nil, nil, err
	}
	commits, recs, perr := parseCLILog(bufio.NewReaderSize(stdout, 1<<20))
	if perr != nil {
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	if werr != nil {
		return nil, nil, fmt.Errorf("git log %s: %v: %s", strings.Join(revs, " "), werr, strings.TrimSpace(stderr.String()))
	}
	return commits, recs, perr
}

// parseCLILog reads cliLog's output (parseRawLog): the commits, and the
// first record of each blob.
func parseCLILog(r *bufio.Reader) ([]cliCommit, []cliRecord, error) {
	var commits []cliCommit
	var recs []cliRecord
	seen := map[string]struct{}{}
	err := parseRawLog(r, func(header []byte) error {
		commits = append(commits, parseCLICommit(string(header)))
		return nil
	}, func(id string, path []byte) error {
		if _, dup := seen[id]; !dup {
			seen[id] = struct{}{}
			recs = append(recs, cliRecord{blob: id, commit: len(commits) - 1, path: string(path)})
		}
		return nil
	})
	return commits, recs, err
}

// parseCLICommit reads "id\x01author\x01email\x01date\x01message".
func parseCLICommit(s string) cliCommit {
	f := strings.SplitN(s, "\x01", 5)
	for len(f) < 5 {
		f = append(f, "")
	}
	c := cliCommit{id: f[0], author: f[1], email: f[2], message: strings.TrimSuffix(f[4], "\n")}
	c.subject = firstLine(c.message)
	if t, err := time.Parse(time.RFC3339, f[3]); err == nil {
		c.date = location.Date(t)
	}
	return c
}

// chunksCLI is Staged.Chunks with the git CLI only (a SHA-256 repository).
func (s *Staged) chunksCLI(ctx context.Context, split sources.Chunker, yield func(sources.Chunk) error) error {
	root, err := gitOutput(ctx, s.opts.Path, "rev-parse", "--show-toplevel")
	if err != nil {
		return fmt.Errorf("staged changes: %w", err)
	}
	root = strings.TrimSpace(root)
	cf, err := startCatFile(ctx, root)
	if err != nil {
		return err
	}
	defer cf.kill()
	read := func(path, id string) error {
		data, err := cf.readBlobHex(id, nil, s.opts.MaxBlobSize)
		if errors.Is(err, errCatFileDead) {
			return err
		}
		if err != nil {
			s.onError(path, fmt.Errorf("read staged blob: %w", err))
			return nil
		}
		return split.SplitBytes(data, &location.Location{Path: path}, yield)
	}
	if len(s.opts.Files) > 0 {
		out, err := gitOutput(ctx, root, "ls-files", "-s", "-z")
		if err != nil {
			return fmt.Errorf("read the index: %w", err)
		}
		byName := map[string]string{}
		for _, e := range strings.Split(out, "\x00") {
			meta, name, ok := strings.Cut(e, "\t")
			f := strings.Fields(meta)
			if _, dup := byName[name]; ok && len(f) == 3 && f[0] != "160000" && (!dup || f[2] == "0") {
				byName[name] = f[1]
			}
		}
		staged := func(rel string) (func() error, bool) {
			id, ok := byName[rel]
			return func() error { return read(rel, id) }, ok
		}
		return s.files(ctx, root, staged, split, yield)
	}
	out, err := gitOutput(ctx, root, "diff", "--cached", "--raw", "-z", "--no-renames", "--no-abbrev", "--no-ext-diff", "--no-textconv", "--ignore-submodules=none")
	if err != nil {
		return fmt.Errorf("staged changes: %w", err)
	}
	toks := strings.Split(out, "\x00")
	seen := map[string]struct{}{}
	for i := 0; i+1 < len(toks); i += 2 {
		if err := ctx.Err(); err != nil {
			return err
		}
		id, names, err := rawEntryBlob([]byte(strings.TrimLeft(toks[i], "\n")))
		if err != nil {
			return fmt.Errorf("staged changes: %w", err)
		}
		path := toks[i+1]
		if _, dup := seen[id]; dup || !names {
			continue
		}
		seen[id] = struct{}{}
		if err := read(path, id); err != nil {
			return err
		}
	}
	return cf.close()
}

// gitOutput runs git in dir and returns its output.
func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", abs}, args...)...)
	cmd.Env = gitEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{b: &stderr, max: 4096}
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
