package imagebuild_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bks-dev/bks/internal/imagebuild"
	"github.com/bks-dev/bks/internal/testbin"
	"github.com/bks-dev/bks/internal/testregistry"
)

const testVersion = "v0.0.0-imagetest"

// TestMakeImage runs `make image` as a user would, pushing to the local
// registry, pulls the image back, checks its config and files, runs the
// binary from its layer, and builds it a second time: same digest.
func TestMakeImage(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	root := testbin.ModuleRoot()
	host := testregistry.Start(t)
	repo := host + "/bks/image-test"
	dirA := filepath.Join(t.TempDir(), "a")
	digestA := makeImage(t, root, dirA, repo)

	ref, err := name.ParseReference(repo + ":" + testVersion)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if d, _ := img.Digest(); d != digestA {
		t.Fatalf("pulled digest %s, built %s", d, digestA)
	}
	t.Run("config", func(t *testing.T) { checkConfig(t, root, img) })
	files := extract(t, img)
	t.Run("files", func(t *testing.T) { checkFiles(t, files) })
	t.Run("run binary from layer", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "bks")
		if err := os.WriteFile(bin, files[imagebuild.BinaryPath[1:]], 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "--version").CombinedOutput()
		if err != nil {
			t.Fatalf("bks --version from the image: %v\n%s", err, out)
		}
		t.Logf("bks --version (from the image's layer): %s", bytes.TrimSpace(out))
		if !strings.Contains(string(out), testVersion) {
			t.Fatalf("bks --version printed %q, want the version %s", out, testVersion)
		}
	})
	t.Run("on a base image", func(t *testing.T) {
		bin, err := os.ReadFile(filepath.Join(dirA, "linux", "bks"))
		if err != nil {
			t.Fatal(err)
		}
		checkBase(t, host, bin)
	})
	t.Run("reproducible", func(t *testing.T) {
		digestB := makeImage(t, root, filepath.Join(t.TempDir(), "b"), "")
		if digestB != digestA {
			t.Fatalf("two builds of the same commit: %s then %s", digestA, digestB)
		}
		t.Logf("two builds, one digest: %s", digestA)
	})
}

// makeImage runs `make image` into dir (pushing to repo when set) and
// returns the digest of the image in the OCI layout it wrote.
func makeImage(t *testing.T, root, dir, repo string) v1.Hash {
	t.Helper()
	cmd := exec.Command("make", "--no-print-directory", "-C", root, "image", "IMAGE_DIR="+dir, "VERSION="+testVersion, "IMAGE_REPO="+repo)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Logf("make image:\n%s", out)
	if _, err := os.Stat(filepath.Join(dir, "bks.tar")); err != nil {
		t.Fatalf("make image wrote no tarball: %v", err)
	}
	p, err := layout.FromPath(filepath.Join(dir, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("OCI layout holds %d manifests, want 1", len(m.Manifests))
	}
	return m.Manifests[0].Digest
}

func checkConfig(t *testing.T, root string, img v1.Image) {
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	uid, _, _ := strings.Cut(c.User, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("User = %q, want a numeric non-root uid", c.User)
	}
	if len(c.Entrypoint) != 1 || filepath.Base(c.Entrypoint[0]) != "bks" {
		t.Errorf("Entrypoint = %q, want bks", c.Entrypoint)
	}
	if cf.OS != "linux" || cf.Architecture == "" {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}
	revision, created := gitHead(t, root)
	want := map[string]string{
		imagebuild.LabelVersion:  testVersion,
		imagebuild.LabelRevision: revision,
		imagebuild.LabelSource:   "https://github.com/bks-dev/bks",
		imagebuild.LabelCreated:  created.Format(time.RFC3339),
	}
	for k, v := range want {
		if got := c.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	if !slices.Contains(c.Env, "XDG_STATE_HOME="+filepath.Dir(imagebuild.StateDir)) {
		t.Errorf("Env %q: bks's state directory is not %s", c.Env, imagebuild.StateDir)
	}
	if !cf.Created.Time.Equal(created) {
		t.Errorf("config created %s, want the commit time %s", cf.Created.Time, created)
	}
	js, _ := json.MarshalIndent(cf.Config, "", "  ")
	t.Logf("config: %s", js)
}

// gitHead returns HEAD's commit and commit time, or "" and the epoch
// outside a git checkout (what make image then labels).
func gitHead(t *testing.T, root string) (string, time.Time) {
	out, err := exec.Command("git", "-C", root, "log", "-1", "--format=%H %ct").Output()
	if err != nil {
		return "", time.Unix(0, 0).UTC()
	}
	sha, ct, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	n, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return sha, time.Unix(n, 0).UTC()
}

// extract returns the regular files of the image's flattened filesystem.
func extract(t *testing.T, img v1.Image) map[string][]byte {
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[h.Name] = data
		}
	}
	return files
}

func checkFiles(t *testing.T, files map[string][]byte) {
	passwd := string(files["etc/passwd"])
	if !strings.Contains(passwd, "\nbks:x:65532:65532:") {
		t.Errorf("/etc/passwd has no bks user:\n%s", passwd)
	}
	if !bytes.Contains(files[imagebuild.CertsPath[1:]], []byte("-----BEGIN CERTIFICATE-----")) {
		t.Errorf("no CA bundle at %s", imagebuild.CertsPath)
	}
}

// TestBuildRefusesNonStaticBinary: an empty base has no libc or loader, so
// a binary built with cgo (or for another OS) could never start there.
func TestBuildRefusesNonStaticBinary(t *testing.T) {
	for _, tc := range []struct{ name, path, want string }{
		{"dynamic ELF", "/bin/sh", "CGO_ENABLED=0"},
		{"not ELF", "/etc/passwd", "GOOS=linux"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(tc.path)
			if err != nil {
				t.Skip(err)
			}
			_, err = imagebuild.Build(imagebuild.Options{Binary: data, Created: time.Unix(0, 0)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build(%s) = %v, want an error naming %s", tc.path, err, tc.want)
			}
		})
	}
}

// checkBase builds on a base image from the registry (IMAGE_BASE): the
// base's files stay, its /etc/passwd keeps its users and gains bks.
func checkBase(t *testing.T, host string, bin []byte) {
	base, err := mutate.AppendLayers(empty.Image, testregistry.Layer(t,
		testregistry.File{Name: "etc/"},
		testregistry.File{Name: "etc/passwd", Data: []byte("root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/:/bin/false")},
		testregistry.File{Name: "usr/"},
		testregistry.File{Name: "usr/bin/"},
		testregistry.File{Name: "usr/bin/git", Data: []byte("#!/bin/sh\n")},
	))
	if err != nil {
		t.Fatal(err)
	}
	base, err = mutate.ConfigFile(base, &v1.ConfigFile{OS: "linux", Architecture: runtime.GOARCH})
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/base/git:1"
	testregistry.Push(t, ref, base)
	pulled, err := imagebuild.PullBase(context.Background(), ref, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	img, err := imagebuild.Build(imagebuild.Options{Binary: bin, Version: testVersion, Created: time.Unix(0, 0), Base: pulled})
	if err != nil {
		t.Fatal(err)
	}
	files := extract(t, img)
	if _, ok := files["usr/bin/git"]; !ok {
		t.Error("the base's usr/bin/git is gone")
	}
	passwd := string(files["etc/passwd"])
	if !strings.Contains(passwd, "\ndaemon:x:1:1:") || !strings.Contains(passwd, "\nbks:x:65532:65532:") {
		t.Errorf("/etc/passwd lost the base's users or lacks bks:\n%s", passwd)
	}
	if m, _ := img.Manifest(); len(m.Layers) != 2 {
		t.Errorf("%d layers, want the base's and bks's", len(m.Layers))
	}
}
