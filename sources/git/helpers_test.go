package git

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testgit"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/scan"
)

// testRepo is a repository made with the git CLI, with internal/testgit's
// defaults: fixed identities and a clock that advances one minute per
// commit, so ids are deterministic.
type testRepo = testgit.Repo

func newTestRepo(t testing.TB) *testRepo { return testgit.New(t, testgit.Options{}) }

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

// storeHistory opens dir's history as bks detect git reads it, for the
// benchmarks: the in-process object store, the default engine, errors
// ignored. It skips when the store cannot be read in process.
func storeHistory(b *testing.B, dir string) *history {
	b.Helper()
	repo, closeRepo, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(closeRepo)
	s := New(Options{Path: dir, Reader: ReaderGit, Matcher: detectors.New(detectors.Options{}),
		OnError: func(string, error) {}, Warn: func(string) {}})
	h, err := newHistory(context.Background(), s, repo, dir, "repo")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(h.closeStore)
	if h.store == nil {
		b.Skip("the object store is not read in process here")
	}
	return h
}
