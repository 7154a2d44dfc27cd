package reposweep

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/githubfake"
)

// TestTipWithoutDefaultBranch: a host that does not say its default
// branch (the Hugging Face Hub's listing) gets the same tip from the
// server's refs as from the clone's, so --resume skips it the next time.
func TestTipWithoutDefaultBranch(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r.git")
	if err := githubfake.BuildRepo(dir, []githubfake.Commit{{Files: map[string][]byte{"a": []byte("a\n")}}}); err != nil {
		t.Fatal(err)
	}
	g := &gitRunner{protocols: "file"} // a local path, deliberately
	ctx := context.Background()
	r := Repo{FullName: "o/r", CloneURL: "file://" + dir}
	r, err := g.resolveHead(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if r.DefaultBranch != "main" {
		t.Errorf("default branch %q, want main", r.DefaultBranch)
	}
	remote, err := g.remoteTip(ctx, r, DefaultRefspecs)
	if err != nil {
		t.Fatal(err)
	}
	clone := filepath.Join(t.TempDir(), "c.git")
	if err := g.fetch(ctx, r, clone, DefaultRefspecs); err != nil {
		t.Fatal(err)
	}
	local, err := g.localTip(ctx, clone, r.DefaultBranch, DefaultRefspecs)
	if err != nil {
		t.Fatal(err)
	}
	if remote != local || remote.Head == "" || remote.Refs == "" {
		t.Errorf("remote tip %+v, local %+v", remote, local)
	}
	head, err := g.run(ctx, clone, "symbolic-ref", "HEAD")
	if err != nil || strings.TrimSpace(string(head)) != "refs/heads/main" {
		t.Errorf("clone's HEAD %q %v", head, err)
	}
}
