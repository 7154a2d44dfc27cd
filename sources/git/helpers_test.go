package git

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/scan"
)

// testRepo drives the git CLI in a temporary directory with fixed
// identities and a clock that advances one minute per commit, so ids are
// deterministic.
type testRepo struct {
	t    testing.TB
	dir  string
	tick int
}

func needGit(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git CLI not installed (scripts/install-test-tools.sh installs it)")
	}
}

func newTestRepo(t testing.TB, args ...string) *testRepo {
	t.Helper()
	needGit(t)
	r := &testRepo{t: t, dir: t.TempDir()}
	r.git(append([]string{"init", "-q", "-b", "main"}, args...)...)
	return r
}

func (r *testRepo) env() []string {
	when := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.tick) * time.Minute).Format(time.RFC3339)
	env := []string{
		"GIT_AUTHOR_NAME=Ann Author", "GIT_AUTHOR_EMAIL=ann@example.com", "GIT_AUTHOR_DATE=" + when,
		"GIT_COMMITTER_NAME=Cy Committer", "GIT_COMMITTER_EMAIL=cy@example.com", "GIT_COMMITTER_DATE=" + when,
		"GIT_CONFIG_NOSYSTEM=1", "HOME=" + r.dir, "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_PROTOCOL_FROM_USER=1",
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GIT_") || k == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	return runGit(r.t, r.dir, r.env(), args...)
}

func runGit(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "protocol.file.allow=always", "-c", "gc.auto=0", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *testRepo) write(path, content string) {
	r.t.Helper()
	p := filepath.Join(r.dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// commit stages everything and commits; it returns the new commit id.
func (r *testRepo) commit(msg string) string {
	r.t.Helper()
	r.tick++
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// key returns a distinct long-term key with a fake secret.
func key(n int) string {
	return testkeys.LongTerm(fmt.Sprintf("BedrockAPIKey-t%03d", n), "123456789012", testkeys.Secret(uint64(n)))
}

// result is what a test checks of a finding.
type result struct {
	Key, Commit, Path, Kind string
	Author                  string // "Ann Author" when empty
	InHead                  *bool
	Line                    int
}

type scanOut struct {
	mu     sync.Mutex
	found  []findings.Finding
	errs   []string
	warns  []string
	byKey  map[string][]findings.Finding
	stats  Stats
	source *Source
}

func scanRepo(t testing.TB, opts Options) *scanOut {
	t.Helper()
	out := &scanOut{byKey: map[string][]findings.Finding{}}
	eng := detectors.New(detectors.Options{})
	opts.OnError = func(path string, err error) {
		out.mu.Lock()
		defer out.mu.Unlock()
		out.errs = append(out.errs, path+": "+err.Error())
	}
	opts.Warn = func(msg string) {
		out.mu.Lock()
		defer out.mu.Unlock()
		out.warns = append(out.warns, msg)
	}
	opts.Stats = &out.stats
	switch opts.Reader {
	case readerGitPrefilter, readerGitCatFile:
		opts.catFileBlobs = opts.Reader == readerGitCatFile
		opts.Reader = ReaderGit
		opts.Matcher = eng
	}
	out.source = New(opts)
	err := scan.Scanner{Engine: eng, ChunkSize: 4096}.Run(context.Background(), out.source, func(f findings.Finding) error {
		out.mu.Lock()
		defer out.mu.Unlock()
		out.found = append(out.found, f)
		out.byKey[f.RawKey()] = append(out.byKey[f.RawKey()], f)
		return nil
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out
}

func (o *scanOut) keys() []string {
	var ks []string
	for k := range o.byKey {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func boolp(b bool) *bool { return &b }

// readerGitPrefilter is, for scanRepo, the git CLI walk with the
// detector engine as Matcher (as bks detect git runs it: the blob-first
// scan reads blobs in process); readerGitCatFile is the same with blobs
// read by git cat-file.
const (
	readerGitPrefilter = "git+prefilter"
	readerGitCatFile   = "git+prefilter+cat-file"
)

// readers runs f once per way of reading history.
func readers(t *testing.T, f func(t *testing.T, reader string)) {
	for _, r := range []string{ReaderGit, readerGitPrefilter, readerGitCatFile, ReaderGoGit} {
		t.Run(r, func(t *testing.T) { f(t, r) })
	}
}
