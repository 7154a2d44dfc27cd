package image_test

import (
	"encoding/base64"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/bks-dev/bks/internal/testregistry"
	"github.com/bks-dev/bks/sources/image"
)

// TestRegistryAuth: a registry that wants credentials to pull is read
// with --registry-token (a bearer token) or with the Docker config's
// credentials, and refused (reported) anonymously. The registry is
// go-containerregistry's in-memory one behind a check of the
// Authorization header (once the image is pushed), to know exactly what was sent.
func TestRegistryAuth(t *testing.T) {
	const token, user, pass = "test-registry-token", "puller", "pull-secret"
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var locked atomic.Bool // after the push
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); locked.Load() && r.URL.Path != "/v2/" && a != "Bearer "+token && a != basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="bks-test"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := srv.Listener.Addr().String()
	k := key(95)
	img, _ := appendLayer(t, empty.Image, "COPY", testregistry.File{Name: "k.env", Data: []byte(k + "\n")})
	ref := host + "/private/app:1"
	testregistry.Push(t, ref, img)
	locked.Store(true)

	// No credentials anywhere: refused, reported.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	anon := scan(t, image.Options{Refs: []string{ref}}, k)
	if len(anon.hits) != 0 || len(anon.errs) != 1 || !strings.Contains(anon.errs[0], "401") {
		t.Errorf("anonymous: found %+v, errors %q; want one 401", anon.hits, anon.errs)
	}
	if tok := scan(t, image.Options{Refs: []string{ref}, Token: token}, k); len(tok.find(k)) != 1 {
		t.Errorf("--registry-token: found %+v, errors %q", tok.hits, tok.errs)
	}
	dir := t.TempDir()
	cfg := `{"auths": {"` + host + `": {"auth": "` + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)) + `"}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	if dc := scan(t, image.Options{Refs: []string{ref}}, k); len(dc.find(k)) != 1 {
		t.Errorf("Docker config credentials: found %+v, errors %q", dc.hits, dc.errs)
	}
}
