//go:build unix

package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/testbin"
	"github.com/bks-dev/bks/internal/testgit"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/serve"
	"github.com/bks-dev/bks/serve/store"
)

// TestServeAsGitHubApp runs the built bks serve as a GitHub App
// (--app-id, --app-private-key) with a --config that allowlists fixtures/
// and adds a rule of its own. A push names the App's installation: the
// service mints the installation's token, fetches with it (the fake's
// operator token is not given to it), and writes one check run as the
// App, annotated with the key outside fixtures/ and the custom rule's
// match, not the allowlisted key.
func TestServeAsGitHubApp(t *testing.T) {
	testgit.Need(t)
	const secret, inst = "app-secret", 31337
	fake, err := githubfake.New()
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	fake.Token = "ghp_operator-not-given-to-serve"
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	fake.AddApp(&githubfake.App{ID: 808, Slug: "bks-scanner", Key: &key.PublicKey, Installations: map[int64]string{inst: "octo"}})
	bare := filepath.Join(t.TempDir(), "repo.git")
	testgit.Run(t, "", nil, "init", "-q", "--bare", "-b", "main", bare)
	fake.Add(&githubfake.Repo{Owner: "octo", Name: "repo", Dir: bare})
	work := testgit.New(t, testgit.Options{})
	work.Git("remote", "add", "origin", bare)
	work.Write("README.md", "hi\n")
	c1 := work.Commit("first")
	bedrock := testkeys.LongTerm("BedrockAPIKey-app1", "111122223333", testkeys.Secret(5))
	fixture := testkeys.LongTerm("BedrockAPIKey-fix1", "111122223333", testkeys.Secret(6))
	work.Write("app.env", "AWS_BEARER_TOKEN_BEDROCK="+bedrock+"\n")
	work.Write("fixtures/sample.env", "AWS_BEARER_TOKEN_BEDROCK="+fixture+"\n")
	work.Write("custom.txt", "ACME_TOKEN = \"acme_"+strings.Repeat("Qw3rTy9z", 4)+"\"\n")
	c2 := work.Commit("keys")
	work.Git("push", "-q", "origin", "main")

	dir := t.TempDir()
	keyPath := filepath.Join(dir, "app.pem")
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	cfgPath := filepath.Join(dir, "bks.toml")
	os.WriteFile(cfgPath, []byte(`
[[rules]]
id = "acme-api-token"
keywords = ["acme_"]
regex = '''acme_(?P<secret>[A-Za-z0-9]{32})\b'''

[[allowlists]]
id = "fixtures"
paths = ["fixtures/"]
`), 0o600)
	db := filepath.Join(dir, "serve.db")
	cmd := exec.Command(testbin.BKS(t), "serve", "--listen", "127.0.0.1:0", "--db", db,
		"--repo-cache", filepath.Join(dir, "cache"), "--git-url", fake.URL+"/git/", "--api-url", fake.APIURL(),
		"--config", cfgPath, "--app-id", "808", "--app-private-key", keyPath)
	cmd.Env = append(os.Environ(), "BKS_WEBHOOK_SECRET="+secret, "HOME="+dir, "GITHUB_TOKEN=", "GH_TOKEN=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // after Wait: a no-op
	logs := newLogLines(stderr)
	addr := logs.wait(t, "serving")["addr"].(string)

	body, _ := json.Marshal(map[string]any{"ref": "refs/heads/main", "before": c1, "after": c2,
		"repository": map[string]string{"full_name": "octo/repo"}, "installation": map[string]int64{"id": inst}})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook/github", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Delivery", "app-1")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", serve.Sign([]byte(secret), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, want 202", resp.StatusCode)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if d, err := st.GetDelivery(context.Background(), "app-1"); err == nil && d.Status != store.DeliveryQueued {
			t.Logf("delivery %s", d.Status)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not processed; logs:\n%s", logs)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
	waitExit(t, cmd, 30*time.Second)
	runs := fake.CheckRuns("octo", "repo")
	if len(runs) != 1 || runs[0].AppID != 808 || runs[0].HeadSHA != c2 {
		t.Fatalf("check runs %+v; want one by App 808 on %s; logs:\n%s", runs, c2, logs)
	}
	var paths []string
	for _, a := range runs[0].Annotations {
		paths = append(paths, a.Path)
	}
	sort.Strings(paths)
	t.Logf("check run %s, annotations %v; installation tokens minted %d", runs[0].Conclusion, paths, fake.Count("access_tokens"))
	if strings.Join(paths, ",") != "app.env,custom.txt" {
		t.Errorf("annotated %v; want app.env and custom.txt (fixtures/ is allowlisted)", paths)
	}
	if fake.Count("access_tokens") != 1 {
		t.Errorf("%d installation tokens minted, want 1 (cached for the fetch and the report)", fake.Count("access_tokens"))
	}
	if strings.Contains(logs.String(), bedrock) || strings.Contains(logs.String(), "BEGIN RSA") {
		t.Error("a log holds the key or the App's private key")
	}
}
