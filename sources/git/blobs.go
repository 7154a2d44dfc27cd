package git

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bks-dev/bks/sources"
)

// itemName names an item in error messages: "repo@commit:path".
func itemName(o *sources.Origin) string {
	c := o.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if c == "" {
		return o.Repo + ":" + o.Path
	}
	return o.Repo + "@" + c + ":" + o.Path
}

// goGitReader reads blobs with go-git. It must not share a Repository with
// another goroutine.
type goGitReader struct {
	h    *history
	repo *gogit.Repository
	buf  []byte
}

func (r *goGitReader) scan(it item, yield func(sources.Chunk) error) error {
	o := r.h.s.opts
	obj, err := r.repo.Storer.EncodedObject(plumbing.BlobObject, it.blob)
	if err != nil {
		r.h.s.onError(itemName(it.origin), fmt.Errorf("read blob %s: %w", it.blob, err))
		return nil
	}
	if o.MaxBlobSize > 0 && obj.Size() > o.MaxBlobSize {
		r.h.s.onError(itemName(it.origin), fmt.Errorf("blob %s: %d bytes, over the %d-byte cap: skipped", it.blob, obj.Size(), o.MaxBlobSize))
		return nil
	}
	rd, err := obj.Reader()
	if err != nil {
		r.h.s.onError(itemName(it.origin), fmt.Errorf("read blob %s: %w", it.blob, err))
		return nil
	}
	defer rd.Close()
	// Read the whole blob before yielding, so that a corrupt object yields
	// nothing rather than half its chunks.
	n := int(obj.Size())
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	data := r.buf[:n]
	if _, err := io.ReadFull(rd, data); err != nil {
		r.h.s.onError(itemName(it.origin), fmt.Errorf("read blob %s: %w", it.blob, err))
		return nil
	}
	if cap(r.buf) > 64<<20 {
		r.buf = nil // do not pin one huge blob
	}
	r.h.countBlob(int64(n))
	return o.Chunker.SplitBytes(data, it.origin, yield)
}

func (h *history) countBlob(n int64) {
	if st := h.s.opts.Stats; st != nil {
		st.Blobs++
		st.BlobBytes += n
	}
}

// gitEnv is the environment for the git CLI: the repository is named by -C,
// never by variables a hook may have set.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
			"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0")
}

// catFile is a running `git cat-file --batch`.
type catFile struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	in     *bufio.Writer
	out    *bufio.Reader
	stderr *bytes.Buffer
	dead   atomic.Bool
}

func startCatFile(ctx context.Context, dir string) (*catFile, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "git", "-C", abs, "cat-file", "--batch")
	cmd.Env = gitEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cf := &catFile{cmd: cmd, stdin: stdin, in: bufio.NewWriterSize(stdin, 4096), out: bufio.NewReaderSize(stdout, 1<<20), stderr: &bytes.Buffer{}}
	cmd.Stderr = &limitedBuffer{b: cf.stderr, max: 4096}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start git cat-file: %w", err)
	}
	return cf, nil
}

// request asks for one object; errors mark the process dead.
func (cf *catFile) request(id plumbing.Hash) {
	if cf.dead.Load() {
		return
	}
	var line [41]byte
	copy(line[:], id.String())
	line[40] = '\n'
	if _, err := cf.in.Write(line[:]); err != nil {
		cf.dead.Store(true)
		return
	}
	if err := cf.in.Flush(); err != nil {
		cf.dead.Store(true)
	}
}

var errMissing = errors.New("object missing")

// read reads the response for id into buf.
func (cf *catFile) read(id plumbing.Hash, buf []byte, max int64) ([]byte, int64, error) {
	header, err := cf.out.ReadString('\n')
	if err != nil {
		return nil, 0, fmt.Errorf("git cat-file: %w", err)
	}
	fields := strings.Fields(header)
	if len(fields) == 2 && fields[1] == "missing" {
		return nil, 0, errMissing
	}
	if len(fields) != 3 || fields[0] != id.String() {
		return nil, 0, fmt.Errorf("git cat-file: unexpected answer %q for %s", strings.TrimSpace(header), id)
	}
	size, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil || size < 0 {
		return nil, 0, fmt.Errorf("git cat-file: bad size in %q", strings.TrimSpace(header))
	}
	if fields[1] != "blob" || (max > 0 && size > max) {
		if _, err := cf.out.Discard(int(size) + 1); err != nil {
			return nil, 0, fmt.Errorf("git cat-file: %w", err)
		}
		if fields[1] != "blob" {
			return nil, size, fmt.Errorf("object %s is a %s, not a blob", id, fields[1])
		}
		return nil, size, errTooBig
	}
	if int64(cap(buf)) < size+1 {
		buf = make([]byte, size+1)
	}
	buf = buf[:size+1]
	if _, err := io.ReadFull(cf.out, buf); err != nil {
		return nil, 0, fmt.Errorf("git cat-file: %w", err)
	}
	return buf[:size], size, nil
}

var errTooBig = errors.New("over the size cap")

func (cf *catFile) close() error {
	cf.stdin.Close()
	err := cf.cmd.Wait()
	if err != nil && cf.stderr.Len() > 0 {
		return fmt.Errorf("git cat-file: %w: %s", err, strings.TrimSpace(cf.stderr.String()))
	}
	return err
}

func (cf *catFile) kill() {
	cf.dead.Store(true)
	if cf.cmd.Process != nil {
		_ = cf.cmd.Process.Kill()
	}
}

type limitedBuffer struct {
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// emitCatFile runs the walk in one goroutine, git cat-file in its process,
// and reads answers and yields in this one: the three overlap.
func (h *history) emitCatFile(ctx context.Context, yield func(sources.Chunk) error) error {
	cf, err := startCatFile(ctx, h.path)
	if err != nil {
		h.s.warn("git cat-file unavailable (%v): reading blobs with go-git", err)
		h.s.opts.Reader = ReaderGoGit
		return h.emit(ctx, yield)
	}
	if h.s.opts.Stats != nil {
		h.s.opts.Stats.Reader = ReaderGit
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := make(chan item, 512)
	walkErr := make(chan error, 1)
	go func() {
		defer close(items)
		send := func(it item) error {
			if !it.blob.IsZero() {
				cf.request(it.blob)
			}
			select {
			case items <- it:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		// Blobs still at HEAD go first (see emitGoGit).
		var head, rest []item
		err := h.produce(ctx, func(it item) error {
			switch {
			case it.blob.IsZero():
				return send(it)
			case it.origin.InHead != nil && *it.origin.InHead:
				head = append(head, it)
			default:
				rest = append(rest, it)
			}
			return nil
		})
		for _, list := range [][]item{head, rest} {
			for _, it := range list {
				if err != nil {
					break
				}
				err = send(it)
			}
		}
		walkErr <- err
	}()
	var (
		fallback *goGitReader
		buf      []byte
		max      = h.s.opts.MaxBlobSize
		yerr     error
	)
	for it := range items {
		if yerr != nil {
			continue // drain so the walker ends
		}
		if it.blob.IsZero() {
			yerr = h.s.opts.Chunker.SplitBytes([]byte(it.text), it.origin, yield)
			if yerr != nil {
				cancel()
			}
			continue
		}
		if !cf.dead.Load() {
			data, size, err := cf.read(it.blob, buf, max)
			switch {
			case err == nil:
				buf = data[:cap(data)]
				if cap(buf) > 64<<20 {
					buf = nil
				}
				h.countBlob(size)
				if yerr = h.s.opts.Chunker.SplitBytes(data, it.origin, yield); yerr != nil {
					cancel()
				}
				continue
			case errors.Is(err, errMissing):
				// git says "missing" for a corrupt object too: go-git
				// tells which, and reads what it can.
			case errors.Is(err, errTooBig):
				h.s.onError(itemName(it.origin), fmt.Errorf("blob %s: %d bytes, over the %d-byte cap: skipped", it.blob, size, max))
				continue
			case size > 0:
				h.s.onError(itemName(it.origin), err)
				continue
			default:
				// The process failed (a corrupt pack can make it die):
				// go on with go-git, which reports objects one by one.
				cf.kill()
				if ctx.Err() == nil {
					h.s.warn("git cat-file stopped at blob %s (%v): reading the rest with go-git", it.blob, strings.TrimSpace(cf.stderr.String()))
				}
			}
		}
		if fallback == nil {
			repo, closeRepo, err := Open(h.path)
			if err != nil {
				yerr = err
				cancel()
				continue
			}
			defer closeRepo()
			fallback = &goGitReader{h: h, repo: repo}
		}
		if yerr = fallback.scan(it, yield); yerr != nil {
			cancel()
		}
	}
	werr := <-walkErr
	if cf.dead.Load() {
		_ = cf.close()
	} else if err := cf.close(); err != nil && yerr == nil && werr == nil && ctx.Err() == nil {
		h.s.warn("%v", err)
	}
	if yerr != nil {
		return yerr
	}
	return werr
}
