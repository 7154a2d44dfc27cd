package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bks-dev/bks/sources/files"
)

// tarball scans the images saved at p: an OCI layout directory, a `docker
// save` tarball (each image in its manifest.json), or a tarball of an OCI
// layout (unpacked to a temporary directory, bounded by MaxTotalBytes and
// MaxEntries).
func (sw *sweep) tarball(ctx context.Context, p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		sw.onError(p, err)
		return nil
	}
	if fi.IsDir() {
		return sw.layoutDir(ctx, p, p)
	}
	opener := func() (io.ReadCloser, error) { return os.Open(p) }
	m, err := tarball.LoadManifest(opener)
	if err != nil || len(m) == 0 {
		// No manifest.json: an OCI layout in a tarball, or not an image.
		dir, err := sw.unpackLayout(p)
		if dir != "" {
			sw.later(func() { os.RemoveAll(dir) })
		}
		if err != nil {
			sw.onError(p, fmt.Errorf("neither a docker save tarball nor an OCI layout: %w", err))
			return nil
		}
		return sw.layoutDir(ctx, p, dir)
	}
	for i, d := range m {
		nm, tag := p, (*name.Tag)(nil)
		if len(d.RepoTags) > 0 {
			t, err := name.NewTag(d.RepoTags[0])
			if err == nil {
				nm, tag = p+"!"+d.RepoTags[0], &t
			}
		}
		if tag == nil && len(m) > 1 {
			sw.onError(fmt.Sprintf("%s image %d", p, i+1), errors.New("untagged image in a multi-image tarball: not scanned"))
			continue
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			sw.onError(nm, fmt.Errorf("tarball: %w", err))
			continue
		}
		if err := sw.submit(ctx, nm, img, readUncompressed); err != nil {
			return err
		}
	}
	return nil
}

// layoutDir scans the OCI layout in dir, reported as name.
func (sw *sweep) layoutDir(ctx context.Context, name, dir string) error {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		sw.onError(name, fmt.Errorf("OCI layout: %w", err))
		return nil
	}
	return sw.index(ctx, name, idx, readStored)
}

// unpackLayout unpacks the tarball p to a new temporary directory, which
// it returns (also with an error: the caller removes it). Only regular
// files and directories are written, only below the directory, within
// MaxTotalBytes and MaxEntries.
func (sw *sweep) unpackLayout(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	dir, err := os.MkdirTemp("", "bks-oci-*")
	if err != nil {
		return "", err
	}
	tr := tar.NewReader(f)
	var total, entries int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return dir, err
		}
		if entries++; entries > sw.limits.MaxEntries {
			return dir, &files.LimitError{Archive: p, Limit: "MaxEntries", Max: sw.limits.MaxEntries}
		}
		rel := path.Clean("/" + hdr.Name)
		if rel == "/" || !hdr.FileInfo().Mode().IsRegular() {
			continue
		}
		if total += hdr.Size; total > sw.limits.MaxTotalBytes {
			return dir, &files.LimitError{Archive: p, Limit: "MaxTotalBytes", Max: sw.limits.MaxTotalBytes}
		}
		dst := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(rel, "/")))
		if err := writeFile(dst, tr); err != nil {
			return dir, err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		return dir, errors.New("no manifest.json nor index.json")
	}
	return dir, nil
}

func writeFile(dst string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	w, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}
