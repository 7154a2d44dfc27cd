package git

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testbin"
)

const zeroSHA = "0000000000000000000000000000000000000000"

// actionWorld is a remote ("GitHub"), a developer clone that pushes to it,
// and fresh shallow checkouts like actions/checkout makes.
type actionWorld struct {
	t      *testing.T
	remote string
	dev    *repo
}

func newActionWorld(t *testing.T) *actionWorld {
	t.Helper()
	needTool(t, "jq")
	w := &actionWorld{t: t, dev: newRepo(t)}
	w.remote = filepath.Join(t.TempDir(), "origin.git")
	w.dev.Git("init", "-q", "--bare", "-b", "main", w.remote)
	w.dev.Git("remote", "add", "origin", "file://"+w.remote)
	return w
}

func (w *actionWorld) commitFile(name, body, msg string) string {
	w.t.Helper()
	w.dev.Write(name, body)
	w.dev.Git("add", "-A")
	w.dev.Tick++
	if code, out := w.dev.TryCommit(msg, "--no-verify"); code != 0 {
		w.t.Fatalf("commit: %s", out)
	}
	return w.dev.Git("rev-parse", "HEAD")
}

// checkout makes a depth-1 checkout of sha, as actions/checkout does.
func (w *actionWorld) checkout(sha, branch string) *repo {
	w.t.Helper()
	ci := newRepo(w.t)
	ci.Git("remote", "add", "origin", "file://"+w.remote)
	ci.Git("fetch", "-q", "--no-tags", "--depth=1", "origin", "+"+sha+":refs/remotes/origin/"+branch)
	ci.Git("checkout", "-q", "--detach", sha)
	if ci.Git("rev-parse", "--is-shallow-repository") != "true" {
		w.t.Fatal("checkout is not shallow")
	}
	return ci
}

type actionResult struct {
	code    int
	out     string
	outputs string
	sarif   string
}

func runAction(t *testing.T, ci *repo, event string, payload any, env ...string) actionResult {
	t.Helper()
	dir := t.TempDir()
	ep := filepath.Join(dir, "event.json")
	b, _ := json.Marshal(payload)
	if err := os.WriteFile(ep, b, 0o644); err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(dir, "github_output")
	sarif := filepath.Join(dir, "bks.sarif")
	env = append([]string{
		"BKS=" + testbin.BKS(t),
		"GITHUB_EVENT_NAME=" + event, "GITHUB_EVENT_PATH=" + ep, "GITHUB_OUTPUT=" + outFile,
		"RUNNER_TEMP=" + dir, "INPUT_SARIF=true", "INPUT_SARIF_FILE=" + sarif,
	}, env...)
	code, out := ci.Exec(env, "bash", filepath.Join(testbin.ModuleRoot(), "scripts", "action", "run.sh"))
	o, _ := os.ReadFile(outFile)
	s, _ := os.ReadFile(sarif)
	return actionResult{code: code, out: out, outputs: string(o), sarif: string(s)}
}

func (r actionResult) annotations() []string {
	var a []string
	for _, line := range strings.Split(r.out, "\n") {
		if strings.HasPrefix(line, "::error ") {
			a = append(a, line)
		}
	}
	return a
}

func checkNoKeys(t *testing.T, r actionResult, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if strings.Contains(r.out, k) || strings.Contains(r.outputs, k) || strings.Contains(r.sarif, k) {
			t.Errorf("a key was printed")
		}
	}
}

func TestActionScript(t *testing.T) {
	w := newActionWorld(t)
	k := func(n uint64) string { return e2eKey(100 + n) }
	// main: an old key, added and deleted long ago: not what any event brings.
	w.commitFile("old.env", "K="+k(0)+"\n", "old key")
	w.dev.Git("rm", "-q", "old.env")
	w.dev.Tick++
	w.dev.TryCommit("remove old key", "--no-verify")
	mainHead := w.commitFile("README.md", "main\n", "main work")
	w.dev.Git("push", "-q", "origin", "main")

	t.Run("pull-request-of-40-commits", func(t *testing.T) {
		w.dev.Git("checkout", "-q", "-b", "pr", mainHead)
		for i := 1; i <= 40; i++ {
			switch i {
			case 3:
				w.commitFile("early.txt", "header\n"+k(1)+"\n", fmt.Sprintf("pr %d", i))
			case 35:
				w.commitFile("late/config.yaml", "a: 1\nb: 2\nkey: "+k(2)+"\n", fmt.Sprintf("pr %d", i))
			case 38:
				w.dev.Git("rm", "-q", "early.txt")
				w.dev.Tick++
				w.dev.TryCommit("pr 38", "--no-verify")
			default:
				w.commitFile("pr.txt", fmt.Sprintf("step %d\n", i), fmt.Sprintf("pr %d", i))
			}
		}
		head := w.dev.Git("rev-parse", "HEAD")
		w.dev.Git("push", "-q", "origin", "pr")
		ci := w.checkout(head, "pr")
		ev := map[string]any{"pull_request": map[string]any{"base": map[string]any{"sha": mainHead, "ref": "main"}, "head": map[string]any{"sha": head, "ref": "pr"}}}
		r := runAction(t, ci, "pull_request", ev)
		if r.code != 1 {
			t.Fatalf("exit %d\n%s", r.code, r.out)
		}
		t.Logf("action log:\n%s", r.out)
		ann := strings.Join(r.annotations(), "\n")
		if len(r.annotations()) != 2 || !strings.Contains(ann, "file=early.txt,line=2,") || !strings.Contains(ann, "file=late/config.yaml,line=3,") {
			t.Errorf("annotations:\n%s", r.out)
		}
		if !strings.Contains(r.outputs, "findings=2") || !strings.Contains(r.outputs, "sarif-file=") || !strings.Contains(r.sarif, `"ruleId"`) {
			t.Errorf("outputs %q, sarif %d bytes", r.outputs, len(r.sarif))
		}
		checkNoKeys(t, r, k(0), k(1), k(2))

		r = runAction(t, w.checkout(head, "pr"), "pull_request", ev, "INPUT_FAIL_ON_FINDINGS=false", "INPUT_SARIF=false")
		if r.code != 0 || len(r.annotations()) != 2 || r.sarif != "" {
			t.Errorf("fail-on-findings=false: exit %d, %d annotations, sarif %q\n%s", r.code, len(r.annotations()), r.sarif, r.out)
		}
	})

	t.Run("push-new-branch", func(t *testing.T) {
		w.dev.Git("checkout", "-q", "-b", "topic", mainHead)
		w.commitFile("topic.txt", "clean\n", "topic 1")
		after := w.commitFile("topic.env", "T="+k(3)+"\n", "topic 2")
		w.dev.Git("push", "-q", "origin", "topic")
		ev := map[string]any{"ref": "refs/heads/topic", "before": zeroSHA, "after": after, "repository": map[string]any{"default_branch": "main"}}
		r := runAction(t, w.checkout(after, "topic"), "push", ev)
		if r.code != 1 || len(r.annotations()) != 1 || !strings.Contains(r.annotations()[0], "file=topic.env,line=1,") {
			t.Errorf("exit %d\n%s", r.code, r.out)
		}
		checkNoKeys(t, r, k(0), k(3))
	})

	t.Run("push-and-force-push", func(t *testing.T) {
		w.dev.Git("checkout", "-q", "-b", "feat", mainHead)
		before := w.commitFile("feat.env", "F="+k(4)+"\n", "feat with key")
		w.dev.Git("push", "-q", "origin", "feat")
		// A plain push on top: only the new commit.
		after := w.commitFile("more.txt", "M="+k(5)+"\n", "more")
		w.dev.Git("push", "-q", "origin", "feat")
		ev := map[string]any{"ref": "refs/heads/feat", "before": before, "after": after, "forced": false, "repository": map[string]any{"default_branch": "main"}}
		r := runAction(t, w.checkout(after, "feat"), "push", ev)
		if r.code != 1 || len(r.annotations()) != 1 || !strings.Contains(r.annotations()[0], "file=more.txt") {
			t.Errorf("push: exit %d\n%s", r.code, r.out)
		}
		// Rewrite the branch without the first key, then force-push: the
		// old commits are gone from the remote's refs.
		w.dev.Git("reset", "-q", "--hard", mainHead)
		rewritten := w.commitFile("feat.env", "F=${FROM_VAULT}\n", "feat, clean")
		w.dev.Git("push", "-q", "--force", "origin", "feat")
		ev = map[string]any{"ref": "refs/heads/feat", "before": after, "after": rewritten, "forced": true, "repository": map[string]any{"default_branch": "main"}}
		r = runAction(t, w.checkout(rewritten, "feat"), "push", ev)
		t.Logf("force-push log:\n%s", r.out)
		if r.code != 0 || len(r.annotations()) != 0 || !strings.Contains(r.outputs, "findings=0") {
			t.Errorf("force-push: exit %d\n%s", r.code, r.out)
		}
		checkNoKeys(t, r, k(4), k(5))
	})

	t.Run("base-equals-head", func(t *testing.T) {
		ci := w.checkout(mainHead, "main")
		for _, tc := range []struct {
			event   string
			payload map[string]any
		}{
			{"pull_request", map[string]any{"pull_request": map[string]any{"base": map[string]any{"sha": mainHead}, "head": map[string]any{"sha": mainHead}}}},
			{"push", map[string]any{"before": mainHead, "after": mainHead}},
			{"push", map[string]any{"before": mainHead, "after": zeroSHA}}, // branch deleted
		} {
			r := runAction(t, ci, tc.event, tc.payload)
			if r.code != 0 || !strings.Contains(r.out, "nothing to scan") || !strings.Contains(r.outputs, "findings=0") || !strings.Contains(r.sarif, `"version"`) {
				t.Errorf("%s %v: exit %d outputs %q\n%s", tc.event, tc.payload, r.code, r.outputs, r.out)
			}
		}
	})

	t.Run("refuses-show-secrets", func(t *testing.T) {
		r := runAction(t, w.checkout(mainHead, "main"), "workflow_dispatch", map[string]any{}, "INPUT_ARGS=--show-secrets")
		if r.code != 2 {
			t.Errorf("exit %d\n%s", r.code, r.out)
		}
	})

	// The first push of the default branch: no before, no merge base, so
	// all that after reaches (bks refuses --range ..AFTER: the script
	// passes --branch AFTER).
	t.Run("push-new-default-branch", func(t *testing.T) {
		ev := map[string]any{"ref": "refs/heads/main", "before": zeroSHA, "after": mainHead, "repository": map[string]any{"default_branch": "main"}}
		r := runAction(t, w.checkout(mainHead, "main"), "push", ev)
		if r.code != 1 || !strings.Contains(strings.Join(r.annotations(), "\n"), "file=old.env,line=1,") {
			t.Errorf("exit %d\n%s", r.code, r.out)
		}
	})

	t.Run("whole-history-otherwise", func(t *testing.T) {
		r := runAction(t, w.checkout(mainHead, "main"), "schedule", map[string]any{})
		// The checkout is deepened and every fetched ref scanned.
		if r.code != 1 || !strings.Contains(strings.Join(r.annotations(), "\n"), "file=old.env,line=1,") {
			t.Errorf("schedule: exit %d\n%s", r.code, r.out)
		}
	})
}
