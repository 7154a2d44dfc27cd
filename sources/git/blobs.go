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

	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
)

// itemName names an item in error messages: "repo@commit:path".
func itemName(o *location.Location) string {
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
	data, ok := r.read(it.blob, it.origin)
	if !ok {
		return nil
	}
	r.h.countBlob(int64(len(data)))
	return r.h.split.SplitBytes(data, it.origin, yield)
}

// read reads a whole blob; what cannot be read is reported, named by
// origin, and read returns false.
func (r *goGitReader) read(id plumbing.Hash, origin *location.Location) ([]byte, bool) {
	o := r.h.s.opts
	obj, err := r.repo.Storer.EncodedObject(plumbing.BlobObject, id)
	if err != nil {
		r.h.onError(itemName(origin), fmt.Errorf("read blob %s: %w", id, err))
		return nil, false
	}
	if o.MaxBlobSize > 0 && obj.Size() > o.MaxBlobSize {
		r.h.onError(itemName(origin), fmt.Errorf("blob %s: %d bytes, over the %d-byte cap: skipped", id, obj.Size(), o.MaxBlobSize))
		return nil, false
	}
	rd, err := obj.Reader()
	if err != nil {
		r.h.onError(itemName(origin), fmt.Errorf("read blob %s: %w", id, err))
		return nil, false
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
		r.h.onError(itemName(origin), fmt.Errorf("read blob %s: %w", id, err))
		return nil, false
	}
	if cap(r.buf) > 64<<20 {
		r.buf = nil // do not pin one huge blob
	}
	return data, true
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
	// A scan never downloads what a partial clone lacks (git 2.44+ obeys
	// GIT_NO_LAZY_FETCH; the blob-first scan asks rev-list, which never
	// fetches, what is missing, and reads only what is there).
	return append(env, "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0", "GIT_NO_LAZY_FETCH=1")
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

func startCatFile(ctx context.Context, dir string, tuning ...string) (*catFile, error) {
	return startCatFileArgs(ctx, dir, nil, tuning...)
}

// startCatFileArgs starts `git cat-file --batch` with more arguments
// (e.g. --buffer) and -c settings (tuning).
func startCatFileArgs(ctx context.Context, dir string, extra []string, tuning ...string) (*catFile, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	args := append([]string{"-C", abs}, gitTuning...)
	args = append(args, tuning...)
	args = append(args, "cat-file", "--batch")
	cmd := exec.CommandContext(ctx, "git", append(args, extra...)...)
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
	growPipe(stdout)
	return cf, nil
}

var errMissing = errors.New("object missing")

// gitTuning bounds the memory of the git processes a scan starts (the
// pack windows git maps count in its resident set) and keeps user
// configuration from changing what they print.
var gitTuning = []string{
	"-c", "core.packedGitWindowSize=32m", "-c", "core.packedGitLimit=192m",
	"-c", "core.deltaBaseCacheLimit=128m", "-c", "log.showSignature=false",
	"-c", "diff.ignoreSubmodules=none", "-c", "diff.relative=false",
}

// read reads the response for id into buf.
func (cf *catFile) read(id plumbing.Hash, buf []byte, max int64) ([]byte, int64, error) {
	data, typ, size, err := cf.readObject(id, buf, max)
	if (err == nil || errors.Is(err, errTooBig)) && typ != "blob" {
		return nil, size, fmt.Errorf("object %s is a %s, not a blob", id, typ)
	}
	return data, size, err
}

// readObject reads the response for id, of any type, into buf.
func (cf *catFile) readObject(id plumbing.Hash, buf []byte, max int64) ([]byte, string, int64, error) {
	return cf.readHex(id.String(), buf, max)
}

// readHex is readObject for an id in hex, of any length (SHA-1 or SHA-256).
func (cf *catFile) readHex(id string, buf []byte, max int64) ([]byte, string, int64, error) {
	header, err := cf.out.ReadString('\n')
	if err != nil {
		return nil, "", 0, fmt.Errorf("git cat-file: %w", err)
	}
	fields := strings.Fields(header)
	if len(fields) == 2 && fields[1] == "missing" {
		return nil, "", 0, errMissing
	}
	if len(fields) != 3 || fields[0] != id {
		return nil, "", 0, fmt.Errorf("git cat-file: unexpected answer %q for %s", strings.TrimSpace(header), id)
	}
	size, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil || size < 0 {
		return nil, "", 0, fmt.Errorf("git cat-file: bad size in %q", strings.TrimSpace(header))
	}
	typ := fields[1]
	if max > 0 && size > max {
		if _, err := cf.out.Discard(int(size) + 1); err != nil {
			return nil, typ, 0, fmt.Errorf("git cat-file: %w", err)
		}
		return nil, typ, size, errTooBig
	}
	if int64(cap(buf)) < size+1 {
		buf = make([]byte, size+1)
	}
	buf = buf[:size+1]
	if _, err := io.ReadFull(cf.out, buf); err != nil {
		return nil, typ, 0, fmt.Errorf("git cat-file: %w", err)
	}
	return buf[:size], typ, size, nil
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
