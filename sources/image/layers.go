package image

import (
	"archive/tar"
	"path"
	"strings"
)

// Whiteout names (the OCI image spec's and Docker's): ".wh.NAME" deletes
// NAME from the layers below; ".wh..wh..opq" in a directory hides all the
// lower layers' content of that directory.
const (
	whiteoutPrefix = ".wh."
	opaqueWhiteout = ".wh..wh..opq"
)

// changes is what one layer does to the layers below it.
type changes struct {
	present []string // files (any type but directories) it adds or replaces
	deleted []string // paths it whites out
	opaque  []string // directories it makes opaque
}

// note records hdr in c and returns the entry's path in the image
// ("/app/.env"), or "" for a whiteout.
func (c *changes) note(hdr *tar.Header) string {
	p := path.Clean("/" + hdr.Name)
	dir, base := path.Split(p)
	switch {
	case base == opaqueWhiteout:
		c.opaque = append(c.opaque, path.Clean(dir))
		return ""
	case strings.HasPrefix(base, whiteoutPrefix):
		c.deleted = append(c.deleted, dir+strings.TrimPrefix(base, whiteoutPrefix))
		return ""
	case hdr.Typeflag != tar.TypeDir:
		c.present = append(c.present, p)
	}
	return p
}

// shadow is what the layers above the one being read hide: a file of that
// layer is in the final image unless a layer above replaced it, deleted it
// or one of its directories, or made one of its directories opaque.
type shadow struct {
	present, deleted, opaque map[string]bool
}

func newShadow() *shadow {
	return &shadow{present: map[string]bool{}, deleted: map[string]bool{}, opaque: map[string]bool{}}
}

// add takes in the changes of a layer once it was read (nil: none).
func (s *shadow) add(c *changes) {
	if c == nil {
		return
	}
	for _, p := range c.present {
		s.present[p] = true
	}
	for _, p := range c.deleted {
		s.deleted[p] = true
	}
	for _, p := range c.opaque {
		s.opaque[p] = true
	}
}

// hides reports whether the file at p of a lower layer is not in the
// final image.
func (s *shadow) hides(p string) bool {
	if s.present[p] || s.deleted[p] {
		return true
	}
	for d := path.Dir(p); ; d = path.Dir(d) {
		if s.deleted[d] || s.opaque[d] || s.present[d] {
			return true
		}
		if d == "/" {
			return false
		}
	}
}
