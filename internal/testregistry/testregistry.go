// Package testregistry gives tests a container registry on loopback and
// builds test images, with no Docker daemon and no network: the real CNCF
// distribution registry (Debian's docker-registry package, which
// scripts/install-test-tools.sh installs) on a free 127.0.0.1 port with a
// temporary storage directory, or, when it is not installed or does not
// start, go-containerregistry's in-memory registry served on 127.0.0.1
// (the test log says which).
package testregistry

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Start returns the host:port of a registry that lives until the test ends.
func Start(t testing.TB) string {
	t.Helper()
	host, err := startDistribution(t)
	if err == nil {
		return host
	}
	t.Logf("testregistry: the docker-registry package's registry is not usable (%v); using go-containerregistry's in-memory registry (run scripts/install-test-tools.sh for the real one)", err)
	srv := httptest.NewServer(registry.New(registry.Logger(nopLogger())))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// startDistribution starts /usr/bin/docker-registry on a free port.
func startDistribution(t testing.TB) (string, error) {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return "", err
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	host := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "storage"), host)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return "", err
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop := func() {
		cmd.Process.Kill()
		<-done
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-done:
			return "", fmt.Errorf("docker-registry exited: %s", bytes.TrimSpace(logs.Bytes()))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("docker-registry did not answer on %s: %s", host, bytes.TrimSpace(logs.Bytes()))
		}
	}
	t.Cleanup(stop)
	return host, nil
}

// Layer returns a gzip-compressed layer holding files, in the order given:
// names ending in "/" are directories, others regular files (a name
// ".wh.X" is a whiteout deleting X).
func Layer(t testing.TB, files ...File) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Mode: 0o644, Size: int64(len(f.Data)), Typeflag: tar.TypeReg}
		if f.Name[len(f.Name)-1] == '/' {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// File is one entry of a test layer.
type File struct {
	Name string
	Data []byte
}

// Push writes img (a v1.Image or v1.ImageIndex) to ref on the registry.
func Push(t testing.TB, ref string, img any) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	switch v := img.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(r, v)
	case v1.Image:
		err = remote.Write(r, v)
	default:
		t.Fatalf("Push: %T is neither an image nor an index", img)
	}
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

func nopLogger() *log.Logger { return log.New(io.Discard, "", 0) }
