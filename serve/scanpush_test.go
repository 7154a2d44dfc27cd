package serve

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/bks-dev/bks/internal/testgit"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/serve/store"
)

// TestPushScope: which commits a push asks to scan: before..after when the
// cache has before (a push, a force push: the new commits), else the
// branch without what the other refs have (a new branch, or a before the
// cache never had).
func TestPushScope(t *testing.T) {
	const a, b, zero = "aaaa", "bbbb", "0000000000000000000000000000000000000000"
	others := []string{"refs/heads/main", "refs/tags/v1"}
	ev := func(ref, before, after string) pushEvent {
		var e pushEvent
		e.Ref, e.Before, e.After = ref, before, after
		return e
	}
	for _, c := range []struct {
		name string
		ev   pushEvent
		has  bool
		want scope
	}{
		{"push", ev("refs/heads/main", a, b), true, scope{rng: a + ".." + b, own: "refs/heads/main"}},
		{"new branch", ev("refs/heads/feature", zero, b), true, scope{branch: b, exclude: others, own: "refs/heads/feature"}},
		{"before not in the cache", ev("refs/heads/main", a, b), false, scope{branch: b, exclude: others, own: "refs/heads/main"}},
	} {
		got := pushScope(c.ev, func(string) bool { return c.has }, others)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %+v; want %+v", c.name, got, c.want)
		}
	}
}

// TestPushScannedFromRepoCache: a push to a repository in the cache is
// scanned (only the pushed commits), its key recorded as an incident with
// its decoded account, and the key itself is nowhere in the database
// files, though the payload quoted it.
func TestPushScannedFromRepoCache(t *testing.T) {
	cache, c1, c2, key := repoWithPushedKey(t)
	ts := startServer(t, "", Config{RepoCache: cache})
	// The payload quotes the commit message, and a message may hold a key:
	// the body must be gone from the files once the delivery is processed.
	body := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","before":%q,"after":%q,"commits":[{"id":%q,"message":"oops %s"}],"repository":{"full_name":"octo/repo","default_branch":"main"}}`, c1, c2, c2, key))
	if resp, _ := ts.post(t, "d-scan", "push", body, "sign"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	waitFor(t, "the push processed", func() bool {
		d, err := ts.st.GetDelivery(context.Background(), "d-scan")
		return err == nil && d.Status != store.DeliveryQueued
	})
	is, err := ts.st.ListIncidents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range is {
		t.Logf("incident %d: %s account %s principal %s, %d finding(s)", i.ID, i.Redacted, i.AccountID, i.Principal, i.Findings)
	}
	if len(is) != 1 || is[0].AccountID != pushedAccount || is[0].Principal != "BedrockAPIKey-x7k2" || is[0].Findings != 1 {
		t.Fatalf("incidents %+v; want the pushed key only, account %s", is, pushedAccount)
	}
	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(ts.dbPath + suffix)
		if err == nil && bytes.Contains(b, []byte(key)) {
			t.Errorf("the key is in %s", filepath.Base(ts.dbPath+suffix))
		}
	}
}

const pushedAccount = "111122223333"

// repoWithPushedKey makes cache/octo/repo: commit c1 holds a key of
// another account (before the push), c2 adds key (the push).
func repoWithPushedKey(t *testing.T) (cache, c1, c2, key string) {
	cache = t.TempDir()
	dir := filepath.Join(cache, "octo", "repo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := testgit.New(t, testgit.Options{}).At(dir)
	r.Git("init", "-q", "-b", "main")
	old := testkeys.LongTerm("BedrockAPIKey-old0", "444455556666", testkeys.Secret(3))
	r.Write("old.env", "KEY="+old+"\n")
	c1 = r.Commit("before the push")
	key = testkeys.LongTerm("BedrockAPIKey-x7k2", pushedAccount, testkeys.Secret(7))
	r.Write("config.env", "AWS_BEARER_TOKEN_BEDROCK="+key+"\n")
	c2 = r.Commit("the pushed commit")
	return cache, c1, c2, key
}

// TestPullRequestScannedFromRepoCache: an opened pull request is scanned
// base..head; a closed one is only recorded.
func TestPullRequestScannedFromRepoCache(t *testing.T) {
	cache, c1, c2, _ := repoWithPushedKey(t)
	ts := startServer(t, "", Config{RepoCache: cache})
	for _, action := range []string{"closed", "opened"} {
		body := []byte(fmt.Sprintf(`{"action":%q,"number":7,"pull_request":{"base":{"sha":%q},"head":{"sha":%q}},"repository":{"full_name":"octo/repo"}}`, action, c1, c2))
		id := "d-pr-" + action
		if resp, _ := ts.post(t, id, "pull_request", body, "sign"); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status %d", resp.StatusCode)
		}
		waitFor(t, "the pull request processed", func() bool {
			d, err := ts.st.GetDelivery(context.Background(), id)
			return err == nil && d.Status == store.DeliveryProcessed
		})
		is, err := ts.st.ListIncidents(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("after %s: %d incident(s)", action, len(is))
		if want := map[string]int{"closed": 0, "opened": 1}[action]; len(is) != want || want == 1 && is[0].AccountID != pushedAccount {
			t.Errorf("after %s: incidents %+v; want %d of account %s", action, is, want, pushedAccount)
		}
	}
}
