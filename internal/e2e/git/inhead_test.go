package git

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testbin"
)

// in_head is a property of the key: a key still at HEAD (in a.txt) is
// in_head true also where it was found in an old, since-edited version of
// b.txt; a key only in deleted history is in_head false. The old b.txt is
// committed first, so a source that yielded blobs in history order would
// show it before the HEAD blob.
func TestDetectGitInHeadPerKey(t *testing.T) {
	r := newRepo(t)
	atHead, gone := e2eKey(40), e2eKey(41)
	r.Write("b.txt", "config\nkey="+atHead+"\n")
	r.Write("gone.txt", "old="+gone+"\n")
	r.Git("add", "-A")
	if code, out := r.TryCommit("old b"); code != 0 {
		t.Fatalf("commit: %s", out)
	}
	oldB := r.Git("rev-parse", "HEAD")
	r.Write("b.txt", "config\nkey=${FROM_VAULT}\n")
	r.Git("rm", "-q", "gone.txt")
	r.Git("add", "-A")
	if code, out := r.TryCommit("edit b, drop gone"); code != 0 {
		t.Fatalf("commit: %s", out)
	}
	r.Write("a.txt", "k: "+atHead+"\n")
	r.Git("add", "-A")
	if code, out := r.TryCommit("add a"); code != 0 {
		t.Fatalf("commit: %s", out)
	}
	addA := r.Git("rev-parse", "HEAD")

	type found struct {
		Path   string `json:"path"`
		Commit string `json:"commit"`
		InHead *bool  `json:"in_head"`
	}
	for _, reader := range []string{"git", "go-git"} {
		t.Run(reader, func(t *testing.T) {
			code, out := r.Exec(nil, testbin.BKS(t), "detect", "git", "--blob-reader", reader, "--format", "jsonl", ".")
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, out)
			}
			got := map[string]found{}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var f found
				if err := json.Unmarshal([]byte(line), &f); err != nil {
					t.Fatalf("%v: %s", err, line)
				}
				if _, dup := got[f.Path]; dup {
					t.Errorf("two findings in %s", f.Path)
				}
				got[f.Path] = f
			}
			want := map[string]found{
				"a.txt":    {Path: "a.txt", Commit: addA, InHead: boolp(true)},
				"b.txt":    {Path: "b.txt", Commit: oldB, InHead: boolp(true)},
				"gone.txt": {Path: "gone.txt", Commit: oldB, InHead: boolp(false)},
			}
			if len(got) != len(want) {
				t.Errorf("findings: %+v", got)
			}
			for p, w := range want {
				g, ok := got[p]
				if !ok || g.Commit != w.Commit || g.InHead == nil || *g.InHead != *w.InHead {
					t.Errorf("%s: got %+v (in_head %v), want commit %s in_head %v", p, g, deref(g.InHead), w.Commit, *w.InHead)
				}
			}
		})
	}
}

func boolp(b bool) *bool { return &b }

func deref(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}
