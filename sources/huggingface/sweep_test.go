package huggingface

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/fakefault"
	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/hffake"
	"github.com/bks-dev/bks/internal/sweeptest"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/sources/reposweep"
)

const token = "hf_test_token"

func key(seed uint64) string {
	return testkeys.LongTerm(testkeys.ConsoleUser(seed), "123456789012", testkeys.Secret(seed))
}

// hub is a fake Hub with organization "acme":
//
//	model   acme/m-NN         n plain models
//	space   acme/demo         a key in app.py, removed in a later commit
//	dataset acme/data         a key in an LFS object (train/config.json)
//	model   acme/weights      10,000 LFS pointers: 9,998 to 5 GB objects,
//	                          two small ones (one holds a key)
//	model   acme/private      hidden from the token
//	space   acme/broken       git answers 500
type hub struct {
	srv  *hffake.Server
	keys map[string]string
}

func newHub(t *testing.T, n int) *hub {
	t.Helper()
	srv, err := hffake.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.Token = token
	h := &hub{srv: srv, keys: map[string]string{"spaces/acme/demo": key(21), "datasets/acme/data": key(22), "acme/weights": key(23)}}
	root := t.TempDir()
	build := func(name string, commits []githubfake.Commit) string {
		return sweeptest.Build(t, root, name, commits)
	}
	plain := build("plain", []githubfake.Commit{{Files: map[string][]byte{"README.md": []byte("---\nlicense: mit\n---\n")}}})
	demo := build("demo", []githubfake.Commit{
		{Files: map[string][]byte{"app.py": []byte("import os\nos.environ['AWS_BEARER_TOKEN_BEDROCK'] = '" + key(21) + "'\n")}},
		{Files: map[string][]byte{"app.py": []byte("import os\n")}},
	})
	data := build("data", []githubfake.Commit{{Files: map[string][]byte{
		"README.md":         []byte("# data\n"),
		"train/config.json": srv.AddLFS([]byte(`{"bedrock_key": "` + key(22) + `"}`)),
	}}})
	files := map[string][]byte{
		"small/clean.txt": srv.AddLFS([]byte("nothing here\n")),
		"small/notes.txt": srv.AddLFS([]byte("key " + key(23) + "\n")),
	}
	for i := range 9998 {
		files[fmt.Sprintf("shards/model-%05d.safetensors", i)] = hffake.Pointer(fmt.Sprintf("%064x", i+1), 5<<30)
	}
	weights := build("weights", []githubfake.Commit{{Files: files}})
	var repos []*hffake.Repo
	for i := range n {
		repos = append(repos, &hffake.Repo{Kind: "model", ID: fmt.Sprintf("acme/m-%02d", i), Dir: plain})
	}
	repos = append(repos,
		&hffake.Repo{Kind: "space", ID: "acme/demo", Dir: demo},
		&hffake.Repo{Kind: "dataset", ID: "acme/data", Dir: data},
		&hffake.Repo{Kind: "model", ID: "acme/weights", Dir: weights},
		&hffake.Repo{Kind: "model", ID: "acme/private", Dir: plain, Hidden: true},
		&hffake.Repo{Kind: "space", ID: "acme/broken", Dir: plain, CloneStatus: http.StatusInternalServerError},
		&hffake.Repo{Kind: "model", ID: "other/elsewhere", Dir: demo},
	)
	srv.Add(repos...)
	return h
}

func (h *hub) sweep(t *testing.T, res *sweeptest.Result, target Target, mod func(*Options)) *reposweep.Sweep[reposweep.Repo] {
	t.Helper()
	c, err := NewClient(h.srv.URL, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Log = res.Log
	c.serverWait = time.Millisecond
	o := Options{
		Client:   c,
		Target:   target,
		History:  reposweep.HistoryScanner[reposweep.Repo](reposweep.HistoryOptions{OnError: res.OnError}),
		Run:      res.Run(t, 4),
		pageSize: 4,
	}
	if mod != nil {
		mod(&o)
	}
	return NewSweep(o)
}

// TestSweepOrg sweeps an organization's models, datasets and Spaces (the
// models over several Link pages, through a 429 and a 503), plus a named
// private model the token cannot read: keys in a Space's history, a
// dataset's LFS object and a model's LFS object are found; the 9,998 LFS
// objects over the cap are counted and said, not fetched.
func TestSweepOrg(t *testing.T) {
	h := newHub(t, 9)
	limited := &hffake.Fault{Trigger: fakefault.Trigger{PathContains: "/api/models?", After: 2}, Status: http.StatusTooManyRequests, RetryAfter: time.Second}
	flaky := &hffake.Fault{Trigger: fakefault.Trigger{PathContains: "/api/spaces?", After: 1}, Status: http.StatusServiceUnavailable}
	h.srv.AddFault(limited)
	h.srv.AddFault(flaky)
	res := sweeptest.New()
	sw := h.sweep(t, res, Target{Authors: []string{"acme"}, Models: []string{"acme/private"}}, nil)
	start := time.Now()
	if err := res.Scan(context.Background(), sw); err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	if h.srv.Fired(limited) != 1 || h.srv.Fired(flaky) != 1 || !res.Logged("Hugging Face rate limit reached") || el < time.Second {
		t.Errorf("faults: 429 %d, 503 %d, logs %q, took %s", h.srv.Fired(limited), h.srv.Fired(flaky), res.Logs, el)
	}
	p := sw.Progress()
	// 9 + weights models, demo and broken Spaces, data dataset.
	if p.Total.Load() != 13 || p.Done.Load() != 13 {
		t.Errorf("total %d done %d, want 13", p.Total.Load(), p.Done.Load())
	}
	for item, sub := range map[string]string{"model acme/private": "401", "spaces/acme/broken": "500"} {
		if !strings.Contains(res.Errors[item], sub) {
			t.Errorf("%s: error %q, want %s", item, res.Errors[item], sub)
		}
	}
	if len(res.Errors) != 2 {
		t.Errorf("errors %q", res.Errors)
	}
	if !res.Logged("acme/weights: 9998 LFS object(s) over the 10.0 MiB cap not scanned (largest 5.0 GiB)") {
		t.Errorf("LFS cap not said: %q", res.Logs)
	}
	// Two batch requests (the dataset's object, the model's two small
	// ones), three downloads: nothing over the cap was asked for.
	if b, d := h.srv.Count("batch"), h.srv.Count("download"); b != 2 || d != 3 {
		t.Errorf("LFS: %d batch requests, %d downloads; want 2 and 3", b, d)
	}
	got := res.ByRepo()
	if len(got) != 3 {
		t.Fatalf("findings in %v", got)
	}
	for repo, k := range h.keys {
		f, ok := got[repo]
		if !ok || f.RawKey() != k {
			t.Errorf("%s: key not found (%v)", repo, ok)
		}
	}
	demo := got["spaces/acme/demo"]
	if want := h.srv.URL + "/spaces/acme/demo/blob/" + demo.Commit + "/app.py"; demo.HTMLURL != want {
		t.Errorf("html_url %q, want %q", demo.HTMLURL, want)
	}
	if got["datasets/acme/data"].Path != "train/config.json" || got["acme/weights"].Path != "small/notes.txt" {
		t.Errorf("LFS findings at %q, %q", got["datasets/acme/data"].Path, got["acme/weights"].Path)
	}
	if el > 60*time.Second {
		t.Errorf("sweep took %s", el)
	}
	for _, e := range res.Errors {
		if strings.Contains(e, token) {
			t.Errorf("token in error %q", e)
		}
	}
}
