package cli

import (
	"bufio"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/internal/testregistry"
)

// leakyImage has a key in /app/.env, deleted by the next layer (`RUN rm`),
// and another in an ENV instruction. It returns the image and the digest of
// the layer holding the deleted key.
func leakyImage(t *testing.T, deleted, env string) (v1.Image, string) {
	t.Helper()
	l := testregistry.Layer(t, testregistry.File{Name: "app/"},
		testregistry.File{Name: "app/.env", Data: []byte("AWS_BEARER_TOKEN_BEDROCK=" + deleted + "\n")})
	created := v1.Time{Time: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)}
	img, err := mutate.Append(empty.Image,
		mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "COPY .env /app/.env", Created: created}},
		mutate.Addendum{Layer: testregistry.Layer(t, testregistry.File{Name: "app/.wh..env"}), History: v1.History{CreatedBy: "RUN /bin/sh -c rm /app/.env", Created: created}})
	if err != nil {
		t.Fatal(err)
	}
	if img, err = mutate.Config(img, v1.Config{Env: []string{"AWS_BEARER_TOKEN_BEDROCK=" + env}}); err != nil {
		t.Fatal(err)
	}
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return img, d.String()
}

func jsonlFindings(t *testing.T, out string) []findings.Finding {
	t.Helper()
	var fs []findings.Finding
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var f findings.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		fs = append(fs, f)
	}
	return fs
}

// checkImageFindings checks the two keys of leakyImage were found in repo
// (the image as reported) with their locations.
func checkImageFindings(t *testing.T, fs []findings.Finding, repo, layer, deleted, env string) {
	t.Helper()
	var gotDeleted, gotEnv bool
	for _, f := range fs {
		switch {
		case f.Path == "/app/.env":
			gotDeleted = true
			if f.Repo != repo || f.Commit != layer || f.InHead == nil || *f.InHead || f.Message != "COPY .env /app/.env" || f.Line != 1 {
				t.Errorf("deleted key: %+v, want /app/.env:1 of %s layer %s, not in the final image", f.Location, repo, layer)
			}
			if f.Redacted == "" || strings.Contains(f.Redacted, deleted) {
				t.Errorf("deleted key not redacted: %q", f.Redacted)
			}
		case f.Path == "Config.Env":
			gotEnv = true
			if f.Repo != repo || f.Kind != "image-config" || f.Line != 1 {
				t.Errorf("ENV key: %+v", f.Location)
			}
		}
	}
	if !gotDeleted || !gotEnv {
		t.Errorf("deleted-layer key found: %v, ENV key found: %v; findings %+v", gotDeleted, gotEnv, fs)
	}
}

func imageKeys() (string, string) {
	return testkeys.LongTerm(testkeys.ConsoleUser(71), "123456789012", testkeys.Secret(71)),
		testkeys.LongTerm(testkeys.ConsoleUser(72), "123456789012", testkeys.Secret(72))
}

func TestDetectImageRegistry(t *testing.T) {
	host := testregistry.Start(t)
	deleted, env := imageKeys()
	img, layer := leakyImage(t, deleted, env)
	ref := host + "/ml/demo:v1"
	testregistry.Push(t, ref, img)

	code, out, stderr := runCLI(t, "", "detect", "image", ref, "--format", "jsonl")
	if code != ExitFound {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	checkImageFindings(t, jsonlFindings(t, out), ref, layer, deleted, env)

	// Text: the layer and its command, and that the file is gone.
	_, text, _ := runCLI(t, "", "detect", "image", ref)
	for _, want := range []string{ref + ": /app/.env:1:", "not in final image", "Layer", layer[:19], "COPY .env /app/.env"} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %q:\n%s", want, text)
		}
	}

	// Baseline: the same path as other sources.
	base := filepath.Join(t.TempDir(), "baseline.json")
	if code, _, stderr := runCLI(t, "", "detect", "image", ref, "--baseline-out", base); code != ExitFound {
		t.Fatalf("--baseline-out: exit %d: %s", code, stderr)
	}
	if code, out, stderr := runCLI(t, "", "detect", "image", ref, "--baseline", base); code != 0 || out != "" {
		t.Errorf("with the baseline: exit %d, out %q, stderr %s", code, out, stderr)
	}
}

func TestDetectImageTarballAndBadRef(t *testing.T) {
	deleted, env := imageKeys()
	img, layer := leakyImage(t, deleted, env)
	p := filepath.Join(t.TempDir(), "demo.tar")
	tag, err := name.NewTag("ml/demo:dev")
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
	// An unreachable registry first: reported, and the tarball still scanned.
	code, out, stderr := runCLI(t, "", "detect", "image", "127.0.0.1:1/nothing:here", "--tarball", p, "--format", "jsonl")
	if code != 2 || !strings.Contains(stderr, "127.0.0.1:1/nothing:here") {
		t.Errorf("exit %d (want 2: keys found, one image unreadable), stderr %s", code, stderr)
	}
	checkImageFindings(t, jsonlFindings(t, out), p+"!ml/demo:dev", layer, deleted, env)

	if code, _, stderr := runCLI(t, "", "detect", "image"); code != 2 || !strings.Contains(stderr, "--tarball") {
		t.Errorf("no image: exit %d, stderr %s", code, stderr)
	}
}

func TestDetectImageMultiArch(t *testing.T) {
	host := testregistry.Start(t)
	deleted, env := imageKeys()
	amd, layer := leakyImage(t, deleted, env)
	arm, err := mutate.Config(empty.Image, v1.Config{Env: []string{"AWS_BEARER_TOKEN_BEDROCK=" + env}})
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	ref := host + "/ml/multi:2"
	testregistry.Push(t, ref, idx)

	code, out, stderr := runCLI(t, "", "detect", "image", ref, "--format", "jsonl")
	if code != ExitFound {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	repos := map[string]bool{}
	var amdFindings []findings.Finding
	for _, f := range jsonlFindings(t, out) {
		repos[f.Repo] = true
		if f.Repo == ref+" [linux/amd64]" {
			amdFindings = append(amdFindings, f)
		}
	}
	checkImageFindings(t, amdFindings, ref+" [linux/amd64]", layer, deleted, env)
	if !repos[ref+" [linux/arm64]"] || len(repos) != 2 {
		t.Errorf("findings in %v, want both platforms", repos)
	}

	_, out, _ = runCLI(t, "", "detect", "image", ref, "--platform", "linux/arm64", "--format", "jsonl")
	for _, f := range jsonlFindings(t, out) {
		if f.Repo != ref+" [linux/arm64]" {
			t.Errorf("--platform linux/arm64: finding in %s", f.Repo)
		}
	}
}
