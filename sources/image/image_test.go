package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/internal/testregistry"
	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/files"
	"github.com/bks-dev/bks/sources/image"
)

func key(seed uint64) string {
	return testkeys.LongTerm(testkeys.ConsoleUser(seed), "123456789012", testkeys.Secret(seed))
}

// hit is a key found in a chunk, with its chunk's origin.
type hit struct {
	key    string
	origin location.Location
}

// result is what one scan saw: the keys (of want) in chunks, and the
// errors reported.
type result struct {
	mu   sync.Mutex
	hits []hit
	errs []string
}

func (r *result) find(k string) []location.Location {
	var out []location.Location
	for _, h := range r.hits {
		if h.key == k {
			out = append(out, h.origin)
		}
	}
	return out
}

func scan(t *testing.T, opts image.Options, keys ...string) *result {
	t.Helper()
	res := &result{}
	opts.OnError = func(path string, err error) {
		res.mu.Lock()
		res.errs = append(res.errs, path+": "+err.Error())
		res.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	split := sources.Chunker{Size: 64 << 10, Overlap: 512}
	err := image.New(opts).Chunks(ctx, split, func(c sources.Chunk) error {
		for _, k := range keys {
			if bytes.Contains(c.Data, []byte(k)) {
				res.mu.Lock()
				res.hits = append(res.hits, hit{k, *c.Origin})
				res.mu.Unlock()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Chunks: %v", err)
	}
	return res
}

func appendLayer(t *testing.T, img v1.Image, createdBy string, fs ...testregistry.File) (v1.Image, v1.Hash) {
	t.Helper()
	l := testregistry.Layer(t, fs...)
	img, err := mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: createdBy, Created: v1.Time{Time: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return img, d
}

// deletedKeyImage has a key in /app/.env, deleted by the next layer, and
// another key in /app/keep.env still in the final image.
func deletedKeyImage(t *testing.T, gone, kept string) (v1.Image, v1.Hash) {
	img, d := appendLayer(t, empty.Image, "COPY . /app # buildkit",
		testregistry.File{Name: "app/"},
		testregistry.File{Name: "app/.env", Data: []byte("AWS_BEARER_TOKEN_BEDROCK=" + gone + "\n")},
		testregistry.File{Name: "app/keep.env", Data: []byte("KEY=" + kept + "\n")})
	img, _ = appendLayer(t, img, "RUN /bin/sh -c rm /app/.env", testregistry.File{Name: "app/.wh..env"})
	return img, d
}

func TestRegistryKeyInDeletedLayer(t *testing.T) {
	host := testregistry.Start(t)
	gone, kept := key(1), key(2)
	img, layer := deletedKeyImage(t, gone, kept)
	ref := host + "/acme/app:v1"
	testregistry.Push(t, ref, img)

	res := scan(t, image.Options{Refs: []string{ref}}, gone, kept)
	if len(res.errs) > 0 {
		t.Fatalf("errors: %q", res.errs)
	}
	g := res.find(gone)
	if len(g) != 1 {
		t.Fatalf("deleted key found %d times, want 1: %+v", len(g), res.hits)
	}
	l := g[0]
	if l.Path != "/app/.env" || l.Repo != ref || l.Commit != layer.String() || l.InHead == nil || *l.InHead ||
		l.Message != "COPY . /app # buildkit" || l.Date == nil {
		t.Errorf("deleted key's location = %+v (in_head %v); want /app/.env in layer %s, not in the final image, with its history", l, deref(l.InHead), layer)
	}
	k := res.find(kept)
	if len(k) != 1 || k[0].Path != "/app/keep.env" || k[0].InHead == nil || !*k[0].InHead {
		t.Errorf("kept key: %+v, want /app/keep.env in the final image", k)
	}
}

func deref(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func TestRegistryKeyInConfigEnvAndHistory(t *testing.T) {
	host := testregistry.Start(t)
	k := key(3)
	img, _ := appendLayer(t, empty.Image, "ENV AWS_BEARER_TOKEN_BEDROCK="+k, testregistry.File{Name: "etc/motd", Data: []byte("hello\n")})
	img, err := mutate.Config(img, v1.Config{Env: []string{"PATH=/usr/bin", "AWS_BEARER_TOKEN_BEDROCK=" + k}})
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/acme/env:latest"
	testregistry.Push(t, ref, img)

	res := scan(t, image.Options{Refs: []string{ref}}, k)
	paths := map[string]bool{}
	for _, l := range res.find(k) {
		if l.Kind != image.KindConfig || l.Repo != ref {
			t.Errorf("config finding %+v: want kind %s, repo %s", l, image.KindConfig, ref)
		}
		paths[l.Path] = true
	}
	if !paths["Config.Env"] || !paths["history"] || len(paths) != 2 {
		t.Errorf("key found in %v, want Config.Env and history", paths)
	}
}

func TestRegistryMultiArchIndex(t *testing.T) {
	host := testregistry.Start(t)
	shared := key(10)
	base, sharedLayer := appendLayer(t, empty.Image, "COPY shared.env /", testregistry.File{Name: "shared.env", Data: []byte(shared + "\n")})
	keys := map[string]string{"amd64": key(11), "arm64": key(12)}
	idx := v1.ImageIndex(empty.Index)
	for _, arch := range []string{"amd64", "arm64"} {
		img, _ := appendLayer(t, base, "COPY "+arch, testregistry.File{Name: arch + ".env", Data: []byte(keys[arch] + "\n")})
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	ref := host + "/acme/multi:1"
	testregistry.Push(t, ref, idx)

	res := scan(t, image.Options{Refs: []string{ref}}, shared, keys["amd64"], keys["arm64"])
	for arch, k := range keys {
		got := res.find(k)
		if len(got) != 1 || got[0].Repo != ref+" [linux/"+arch+"]" || got[0].Path != "/"+arch+".env" {
			t.Errorf("%s key: %+v", arch, got)
		}
	}
	if s := res.find(shared); len(s) != 1 || s[0].Commit != sharedLayer.String() {
		t.Errorf("shared layer's key found %+v, want once (layers deduplicated by digest)", s)
	}

	one := scan(t, image.Options{Refs: []string{ref}, Platform: "linux/arm64"}, keys["amd64"], keys["arm64"])
	if len(one.find(keys["amd64"])) != 0 || len(one.find(keys["arm64"])) != 1 {
		t.Errorf("--platform linux/arm64 found %+v", one.hits)
	}
	none := scan(t, image.Options{Refs: []string{ref}, Platform: "windows/amd64"})
	if len(none.errs) != 1 || !strings.Contains(none.errs[0], "no image for platform windows/amd64") {
		t.Errorf("unknown platform: errors %q", none.errs)
	}
}

func TestTarballDockerSaveAndOCILayout(t *testing.T) {
	gone, kept := key(20), key(21)
	img, layer := deletedKeyImage(t, gone, kept)
	dir := t.TempDir()
	tarPath := filepath.Join(dir, "app.tar")
	tag, err := name.NewTag("acme/app:dev")
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(tarPath, tag, img); err != nil {
		t.Fatal(err)
	}
	ociDir := filepath.Join(dir, "oci")
	writeLayout(t, ociDir, img)

	for _, tc := range []struct{ path, repo string }{
		{tarPath, tarPath + "!acme/app:dev"},
		{ociDir, ociDir},
	} {
		res := scan(t, image.Options{Tarballs: []string{tc.path}}, gone, kept)
		if len(res.errs) > 0 {
			t.Errorf("%s: errors %q", tc.path, res.errs)
		}
		g := res.find(gone)
		if len(g) != 1 || g[0].Repo != tc.repo || g[0].Commit != layer.String() || g[0].Path != "/app/.env" || *g[0].InHead {
			t.Errorf("%s: deleted key %+v, want in %s layer %s", tc.path, g, tc.repo, layer)
		}
		if len(res.find(kept)) != 1 {
			t.Errorf("%s: kept key not found once: %+v", tc.path, res.hits)
		}
	}
}

// TestLayerBombAndBadInputsGoOn: a layer over the limits, a registry
// answering 401, one answering 429 (go-containerregistry retries it, with
// backoff, before giving up) and an unknown image are each reported, and
// the images after them are still scanned.
func TestLayerBombAndBadInputsGoOn(t *testing.T) {
	host := testregistry.Start(t)
	k := key(30)
	bomb, _ := appendLayer(t, empty.Image, "RUN fallocate", testregistry.File{Name: "zeros", Data: make([]byte, 8<<20)})
	testregistry.Push(t, host+"/acme/bomb:1", bomb)
	good, _ := appendLayer(t, empty.Image, "COPY", testregistry.File{Name: "k.env", Data: []byte(k + "\n")})
	testregistry.Push(t, host+"/acme/good:1", good)

	deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		http.Error(w, "denied", http.StatusUnauthorized)
	}))
	defer deny.Close()
	denied := deny.Listener.Addr().String() + "/private/app:1"
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "0")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}))
	defer busy.Close()
	limited := busy.Listener.Addr().String() + "/busy/app:1"

	res := scan(t, image.Options{
		Refs:          []string{host + "/acme/bomb:1", denied, limited, host + "/acme/missing:1", host + "/acme/good:1"},
		ArchiveLimits: files.ArchiveLimits{RatioWindow: 1 << 20},
	}, k)
	t.Logf("reported: %q", res.errs)
	if len(res.find(k)) != 1 {
		t.Errorf("the image after the bad ones was not scanned: %+v", res.hits)
	}
	want := []string{"MaxRatio", "401", "429", "acme/missing:1"}
	if len(res.errs) != len(want) {
		t.Fatalf("errors %q, want one per bad item (%q)", res.errs, want)
	}
	for _, w := range want { // in any order: images are scanned in parallel
		if !slices.ContainsFunc(res.errs, func(e string) bool { return strings.Contains(e, w) }) {
			t.Errorf("errors %q: none mentions %q", res.errs, w)
		}
	}
}

// rawLayer is a layer of the given compressed bytes, which need not
// decompress (a truncated or corrupt layer).
type rawLayer struct{ data []byte }

func (l rawLayer) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(l.data))
	return h, err
}
func (l rawLayer) DiffID() (v1.Hash, error) {
	h, _, err := v1.SHA256(strings.NewReader("diff"))
	return h, err
}
func (l rawLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.data)), nil
}
func (l rawLayer) Uncompressed() (io.ReadCloser, error) { return nil, errors.New("unused") }
func (l rawLayer) Size() (int64, error)                 { return int64(len(l.data)), nil }
func (l rawLayer) MediaType() (types.MediaType, error)  { return types.DockerLayer, nil }

// truncatedLayer is the first half of a gzip layer holding /big, 1 MiB.
func truncatedLayer(t *testing.T) rawLayer {
	t.Helper()
	full := testregistry.Layer(t, testregistry.File{Name: "big", Data: []byte(testkeys.SourceText(1<<20, 1))})
	rc, err := full.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	return rawLayer{data[:len(data)/2]}
}

// TestTruncatedLayerGoesOn: a truncated layer is reported with its digest
// and the image's other layers are still scanned.
func TestTruncatedLayerGoesOn(t *testing.T) {
	host := testregistry.Start(t)
	k := key(40)
	img, _ := appendLayer(t, empty.Image, "COPY", testregistry.File{Name: "k.env", Data: []byte(k + "\n")})
	cut := truncatedLayer(t)
	img, err := mutate.Append(img, mutate.Addendum{Layer: cut})
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/acme/trunc:1"
	testregistry.Push(t, ref, img)

	res := scan(t, image.Options{Refs: []string{ref}}, k)
	t.Logf("reported: %q", res.errs)
	d, _ := cut.Digest()
	if len(res.errs) != 1 || !strings.Contains(res.errs[0], d.String()) || !strings.Contains(res.errs[0], "truncated") {
		t.Errorf("errors %q, want one naming the truncated layer %s", res.errs, d)
	}
	if len(res.find(k)) != 1 {
		t.Errorf("the layer below the truncated one was not scanned: %+v", res.hits)
	}
}

// tarDir writes the files below dir to a tarball at dst.
func tarDir(t *testing.T, dir, dst string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = os.WriteFile(dst, buf.Bytes(), 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestTarballOfOCILayout: an OCI layout packed in a tarball (no
// manifest.json) is unpacked to a temporary directory and scanned; a file
// that is no image is reported.
func TestTarballOfOCILayout(t *testing.T) {
	gone, kept := key(50), key(51)
	img, layer := deletedKeyImage(t, gone, kept)
	dir := t.TempDir()
	writeLayout(t, filepath.Join(dir, "oci"), img)
	p := filepath.Join(dir, "oci.tar")
	tarDir(t, filepath.Join(dir, "oci"), p)
	junk := filepath.Join(dir, "junk.tar")
	if err := os.WriteFile(junk, []byte("not a tarball"), 0o600); err != nil {
		t.Fatal(err)
	}

	res := scan(t, image.Options{Tarballs: []string{junk, p}}, gone, kept)
	if len(res.errs) != 1 || !strings.Contains(res.errs[0], junk) {
		t.Errorf("errors %q, want one naming %s", res.errs, junk)
	}
	g := res.find(gone)
	if len(g) != 1 || g[0].Repo != p || g[0].Commit != layer.String() || *g[0].InHead {
		t.Errorf("deleted key %+v, want in %s layer %s", g, p, layer)
	}
	if len(res.find(kept)) != 1 {
		t.Errorf("kept key: %+v", res.hits)
	}
}

// TestLinksInLayersAreNotFollowed: a symbolic link (to a file outside the
// image, or to one inside) and a hard link are not read; the key is
// reported once, at the file itself.
func TestLinksInLayersAreNotFollowed(t *testing.T) {
	k := key(60)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "etc/passwd-link", Typeflag: tar.TypeSymlink, Linkname: "../../../../etc/passwd"},
		{Name: "app/.env", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(k) + 1)},
		{Name: "app/env-link", Typeflag: tar.TypeSymlink, Linkname: ".env"},
		{Name: "app/env-hard", Typeflag: tar.TypeLink, Linkname: "app/.env"},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(k + "\n"))
		}
	}
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeLayout(t, dir, img)
	res := scan(t, image.Options{Tarballs: []string{dir}}, k)
	if got := res.find(k); len(got) != 1 || got[0].Path != "/app/.env" || len(res.errs) != 0 {
		t.Errorf("found %+v, errors %q; want /app/.env once", got, res.errs)
	}
}

// TestZstdAndGzipLayers: zstd and gzip layers in one image are both
// inflated (the compression is sniffed from the blob).
func TestZstdAndGzipLayers(t *testing.T) {
	host := testregistry.Start(t)
	kz, kg := key(90), key(91)
	tarOf := func(k string) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: "k.env", Mode: 0o644, Size: int64(len(k) + 1)})
		tw.Write([]byte(k + "\n"))
		tw.Close()
		return buf.Bytes()
	}
	zdata, gdata := tarOf(kz), tarOf(kg)
	zl, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(zdata)), nil },
		tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
	if err != nil {
		t.Fatal(err)
	}
	gl, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(gdata)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, zl, gl)
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/acme/zstd:1"
	testregistry.Push(t, ref, img)
	res := scan(t, image.Options{Refs: []string{ref}}, kz, kg)
	if len(res.errs) > 0 || len(res.find(kz)) != 1 {
		t.Errorf("zstd layer: found %+v, errors %q", res.hits, res.errs)
	}
	// Both layers write /k.env: the lower one's is not in the final image.
	if g := res.find(kg); len(g) != 1 || !*g[0].InHead {
		t.Errorf("gzip layer: found %+v", g)
	}
	if z := res.find(kz); len(z) == 1 && *z[0].InHead {
		t.Errorf("/k.env of the lower layer, replaced by the upper one, is said to be in the final image")
	}
}

// TestAttestationBlobs: a buildx-style index holds, beside the image, an
// attestation manifest (platform unknown/unknown) whose layer is in-toto
// JSON, not a tar: its bytes are scanned (provenance records build args)
// and no error is reported.
func TestAttestationBlobs(t *testing.T) {
	host := testregistry.Start(t)
	k := key(97)
	img, _ := appendLayer(t, empty.Image, "COPY", testregistry.File{Name: "etc/motd", Data: []byte("hi\n")})
	prov := `{"predicate":{"buildDefinition":{"externalParameters":{"request":{"args":{"build-arg:AWS_BEARER_TOKEN_BEDROCK":"` + k + `"}}}}}}`
	att, err := mutate.AppendLayers(empty.Image, static.NewLayer([]byte(prov), "application/vnd.in-toto+json"))
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"}}})
	ref := host + "/acme/attested:1"
	testregistry.Push(t, ref, idx)
	res := scan(t, image.Options{Refs: []string{ref}}, k)
	if len(res.errs) > 0 {
		t.Errorf("errors %q", res.errs)
	}
	if g := res.find(k); len(g) != 1 || g[0].Path != "application/vnd.in-toto+json" || g[0].InHead != nil {
		t.Errorf("build arg in provenance: found %+v", g)
	}
}

// TestSharedLayersAcrossImages: a layer shared by two images is scanned
// once; once the cache of layer changes is past its bound, it is scanned
// again, and the whiteout above it still says its file is gone.
func TestSharedLayersAcrossImages(t *testing.T) {
	host := testregistry.Start(t)
	gone, kept := key(98), key(99)
	img, _ := deletedKeyImage(t, gone, kept)
	testregistry.Push(t, host+"/acme/one:1", img)
	testregistry.Push(t, host+"/acme/two:1", img)
	refs := []string{host + "/acme/one:1", host + "/acme/two:1"}

	if res := scan(t, image.Options{Refs: refs}, gone); len(res.find(gone)) != 1 {
		t.Errorf("shared layer scanned %d times, want once", len(res.find(gone)))
	}
	defer image.SetMaxSeenPaths(1)()
	// One worker: the second image is read once the first is done (in
	// parallel, the layer in flight is waited for, not scanned again).
	res := scan(t, image.Options{Refs: refs, Workers: 1}, gone)
	g := res.find(gone)
	if len(g) != 2 {
		t.Fatalf("past the cache bound: found %d times, want 2 (scanned again)", len(g))
	}
	for _, l := range g {
		if *l.InHead {
			t.Errorf("%s: deleted file said to be in the final image", l.Repo)
		}
	}
}

// TestMaxFileSizeInLayers: --max-file-size skips (and reports) layer files
// above it, as for files on disk.
func TestMaxFileSizeInLayers(t *testing.T) {
	k := key(100)
	img, _ := appendLayer(t, empty.Image, "COPY", testregistry.File{Name: "big.env", Data: []byte(k + "\n")},
		testregistry.File{Name: "small.txt", Data: []byte("hi\n")})
	dir := t.TempDir()
	writeLayout(t, dir, img)
	res := scan(t, image.Options{Tarballs: []string{dir}, MaxFileSize: 10}, k)
	if len(res.find(k)) != 0 || len(res.errs) != 1 || !strings.Contains(res.errs[0], "/big.env") || !strings.Contains(res.errs[0], "larger than the size cap") {
		t.Errorf("found %+v, errors %q; want /big.env skipped and reported", res.hits, res.errs)
	}
}

// writeLayout writes img as an OCI image layout in dir.
func writeLayout(tb testing.TB, dir string, img v1.Image) {
	tb.Helper()
	lp, err := layout.Write(dir, empty.Index)
	if err == nil {
		err = lp.AppendImage(img)
	}
	if err != nil {
		tb.Fatal(err)
	}
}
