// Package imagebuild packages a static Linux bks binary as an OCI container
// image with go-containerregistry, with no Docker daemon and no network (so
// `make image` runs in CI and offline): an empty base (or, when asked, a
// base image, e.g. one with git for `detect github`) plus one layer holding
// the binary, an /etc/passwd and /etc/group naming a non-root user, the
// directories bks writes to, and the build machine's CA bundle (bks talks
// TLS to AWS and GitHub, and an empty base has no roots).
//
// The image is reproducible: every timestamp (file times, config, history)
// is the commit time the caller passes, tar entries are written in a fixed
// order with fixed owners, and gzip output is deterministic, so the same
// binary and the same options give the same digest.
package imagebuild

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's fixed layout: where the binary, the user and bks's state live.
const (
	BinaryPath = "/usr/local/bin/bks"
	CertsPath  = "/etc/ssl/certs/ca-certificates.crt" // where Go's crypto/x509 looks first on Linux
	UID        = 65532                                // distroless's "nonroot", a common convention
	UserName   = "bks"
	HomeDir    = "/home/bks"
	StateDir   = "/var/lib/bks" // $XDG_STATE_HOME/bks: serve.db, triage state, audit log; mount a volume here
)

// The OCI annotation keys used as config labels
// (https://github.com/opencontainers/image-spec/blob/main/annotations.md).
const (
	LabelVersion  = "org.opencontainers.image.version"
	LabelRevision = "org.opencontainers.image.revision"
	LabelSource   = "org.opencontainers.image.source"
	LabelCreated  = "org.opencontainers.image.created"
	LabelTitle    = "org.opencontainers.image.title"
)

// Options says what goes into the image.
type Options struct {
	Binary   []byte    // a static (CGO_ENABLED=0) Linux ELF build of bks
	CACerts  []byte    // PEM bundle copied to CertsPath; empty leaves TLS without roots
	Version  string    // the version the binary was built with (label)
	Revision string    // the commit (label)
	Source   string    // the repository URL (label)
	Created  time.Time // the commit time: every timestamp in the image
	// Base is the image to build on; nil is the empty base. Its
	// /etc/passwd and /etc/group are kept, with the bks user appended.
	Base v1.Image
}

// Build returns the image. The platform is linux and the binary's own
// architecture, read from its ELF header; a binary that is not a static
// Linux ELF is refused, since it could not run on an empty base.
func Build(o Options) (v1.Image, error) {
	arch, err := BinaryArch(o.Binary)
	if err != nil {
		return nil, err
	}
	base, accounts, err := baseOf(o.Base, arch)
	if err != nil {
		return nil, err
	}
	created := o.Created.UTC()
	layer, err := rootLayer(o, accounts, created)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: created}, CreatedBy: "bks internal/imagebuild", Comment: "bks " + o.Version},
	})
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: created}
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", UID, UID),
		Entrypoint: []string{BinaryPath},
		WorkingDir: HomeDir,
		Env: []string{
			"PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin",
			"HOME=" + HomeDir,
			"XDG_STATE_HOME=" + path.Dir(StateDir), // bks appends "bks"
			"SSL_CERT_FILE=" + CertsPath,
		},
		Volumes: map[string]struct{}{StateDir: {}},
		Labels: map[string]string{
			LabelTitle:    "bks",
			LabelVersion:  o.Version,
			LabelRevision: o.Revision,
			LabelSource:   o.Source,
			LabelCreated:  created.Format(time.RFC3339),
		},
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	return img, nil
}

// elfArch maps ELF machines to GOARCH names, for the platforms Go builds
// static Linux binaries for that container runtimes commonly run.
var elfArch = map[elf.Machine]string{
	elf.EM_X86_64:  "amd64",
	elf.EM_AARCH64: "arm64",
	elf.EM_386:     "386",
	elf.EM_ARM:     "arm",
	elf.EM_PPC64:   "ppc64le",
	elf.EM_S390:    "s390x",
	elf.EM_RISCV:   "riscv64",
}

// BinaryArch checks that bin is a statically linked Linux ELF executable
// (no program interpreter) and returns its GOARCH.
func BinaryArch(bin []byte) (string, error) {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return "", fmt.Errorf("image: the binary is not an ELF executable (build it with GOOS=linux): %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", errors.New("image: the binary is dynamically linked; build it with CGO_ENABLED=0 (make image does)")
		}
	}
	arch, ok := elfArch[f.Machine]
	if !ok {
		return "", fmt.Errorf("image: unsupported ELF machine %v", f.Machine)
	}
	return arch, nil
}

// entry is one file or directory of the root layer.
type entry struct {
	name string
	mode int64
	uid  int
	data []byte // nil for a directory
}

// rootLayer writes the layer's tar in a fixed order with fixed times and owners.
func rootLayer(o Options, acc accounts, created time.Time) (v1.Layer, error) {
	passwd := acc.passwd + fmt.Sprintf("%s:x:%d:%d:%s:%s:/sbin/nologin\n", UserName, UID, UID, UserName, HomeDir)
	group := acc.group + fmt.Sprintf("%s:x:%d:\n", UserName, UID)
	entries := []entry{
		{name: "etc/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
	}
	if len(o.CACerts) > 0 {
		entries = append(entries, entry{name: CertsPath[1:], mode: 0o644, data: o.CACerts})
	}
	entries = append(entries,
		entry{name: "home/", mode: 0o755},
		entry{name: HomeDir[1:] + "/", mode: 0o700, uid: UID},
		entry{name: "tmp/", mode: 0o1777},
		entry{name: "usr/", mode: 0o755},
		entry{name: "usr/local/", mode: 0o755},
		entry{name: "usr/local/bin/", mode: 0o755},
		entry{name: BinaryPath[1:], mode: 0o755, data: o.Binary},
		entry{name: "var/", mode: 0o755},
		entry{name: "var/lib/", mode: 0o755},
		entry{name: StateDir[1:] + "/", mode: 0o700, uid: UID},
	)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: created, Format: tar.FormatPAX, Typeflag: tar.TypeDir}
		if e.data != nil {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("image layer: %w", err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("image layer: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	return l, nil
}

// ReadCACerts reads the first CA bundle found at the usual places of Linux
// distributions (Debian's first), the same list Go's crypto/x509 searches.
func ReadCACerts() ([]byte, string, error) {
	for _, p := range []string{
		"/etc/ssl/certs/ca-certificates.crt",
		"/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/ssl/ca-bundle.pem",
		"/etc/pki/tls/cacert.pem",
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
		"/etc/ssl/cert.pem",
	} {
		data, err := os.ReadFile(p)
		if err == nil && len(data) > 0 {
			return data, p, nil
		}
	}
	return nil, "", errors.New("image: no CA bundle found on this machine (install ca-certificates, or pass -ca-certs)")
}

// accounts is the /etc/passwd and /etc/group the bks user is appended to.
type accounts struct{ passwd, group string }

// emptyAccounts is what an empty base gets: root alone.
var emptyAccounts = accounts{passwd: "root:x:0:0:root:/root:/sbin/nologin\n", group: "root:x:0:\n"}

// baseOf returns the image to build on and its accounts files; a base
// image must be for the binary's platform.
func baseOf(base v1.Image, arch string) (v1.Image, accounts, error) {
	if base == nil {
		return empty.Image, emptyAccounts, nil
	}
	cf, err := base.ConfigFile()
	if err != nil {
		return nil, accounts{}, fmt.Errorf("base image: %w", err)
	}
	if cf.OS != "linux" || (cf.Architecture != "" && cf.Architecture != arch) {
		return nil, accounts{}, fmt.Errorf("base image is %s/%s, the binary linux/%s", cf.OS, cf.Architecture, arch)
	}
	files, err := readFiles(base, "etc/passwd", "etc/group")
	if err != nil {
		return nil, accounts{}, fmt.Errorf("base image: %w", err)
	}
	acc := accounts{passwd: withNewline(files["etc/passwd"]), group: withNewline(files["etc/group"])}
	if acc.passwd == "" {
		acc = emptyAccounts
	}
	return base, acc, nil
}

// readFiles returns the named regular files of img's final filesystem.
func readFiles(img v1.Image, names ...string) (map[string]string, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	got := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if !want[name] || h.Typeflag != tar.TypeReg || h.Size > 1<<20 {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		got[name] = string(data)
	}
}

func withNewline(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}
