package git

import (
	"strings"
	"testing"
)

// Issue 14, the PR-silencing test: a pull request that adds an allow-all
// .bks.toml together with a key, run through the Action's script. The job
// fails, and an annotation names the configuration change.
func TestActionPullRequestCannotSilenceBks(t *testing.T) {
	w := newActionWorld(t)
	key := e2eKey(140)
	mainHead := w.commitFile("README.md", "main\n", "main work")
	w.dev.Git("push", "-q", "origin", "main")

	w.dev.Git("checkout", "-q", "-b", "silence", mainHead)
	w.dev.Write(".bks.toml", "[[allowlists]]\nregexes = [\".*\"]\npaths = [\"**\"]\n")
	head := w.commitFile("app/settings.env", "AWS_BEARER_TOKEN_BEDROCK="+key+"\n", "settings (and a config)")
	w.dev.Git("push", "-q", "origin", "silence")
	ev := map[string]any{"pull_request": map[string]any{
		"base": map[string]any{"sha": mainHead, "ref": "main"},
		"head": map[string]any{"sha": head, "ref": "silence"},
	}}

	r := runAction(t, w.checkout(head, "silence"), "pull_request", ev)
	t.Logf("action log:\n%s", r.out)
	if r.code != 1 {
		t.Errorf("the job passed: exit %d", r.code)
	}
	ann := strings.Join(r.annotations(), "\n")
	if !strings.Contains(ann, "file=app/settings.env,line=1,") {
		t.Errorf("the key is not annotated:\n%s", ann)
	}
	if !strings.Contains(ann, "title=bks%3A configuration change::this change widens the allowlist") || !strings.Contains(ann, ".bks.toml") || !strings.Contains(ann, `regexes[0] \".*\"`) && !strings.Contains(ann, `regexes[0] ".*"`) {
		t.Errorf("no annotation names the config change:\n%s", ann)
	}
	checkNoKeys(t, r, key)

	// A reviewer who accepts the change: the head's config applies.
	r = runAction(t, w.checkout(head, "silence"), "pull_request", ev, "INPUT_TRUST_HEAD_CONFIG=true")
	if r.code != 0 || len(r.annotations()) != 0 {
		t.Errorf("trust-head-config: exit %d\n%s", r.code, r.out)
	}
}

// A key the pull request marks bks:allow is not a finding (as for bks),
// but the review sees a warning annotation for it.
func TestActionInlineAllowIsShown(t *testing.T) {
	w := newActionWorld(t)
	key := e2eKey(141)
	mainHead := w.commitFile("README.md", "main\n", "main work")
	w.dev.Git("push", "-q", "origin", "main")
	w.dev.Git("checkout", "-q", "-b", "inline", mainHead)
	head := w.commitFile("test/fixture.env", "K="+key+" # bks:allow\n", "a fixture")
	w.dev.Git("push", "-q", "origin", "inline")
	ev := map[string]any{"pull_request": map[string]any{
		"base": map[string]any{"sha": mainHead, "ref": "main"},
		"head": map[string]any{"sha": head, "ref": "inline"},
	}}
	r := runAction(t, w.checkout(head, "inline"), "pull_request", ev)
	if r.code != 0 || len(r.annotations()) != 0 || !strings.Contains(r.out, "::warning file=test/fixture.env,line=1,title=bks%3A allowed inline") {
		t.Errorf("exit %d\n%s", r.code, r.out)
	}
	checkNoKeys(t, r, key)
}
