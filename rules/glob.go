package rules

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
)

// glob is a path pattern in gitignore's spirit:
//   - '*', '?' and '[…]' match within one path segment, "**" any number of
//     segments;
//   - a pattern without '/' matches a name at any depth ("*.md", "testdata");
//   - a pattern matching a directory matches everything under it;
//   - a leading "/" or "./" anchors the pattern at the config's directory,
//     which a pattern with a '/' is anyway.
type glob struct {
	segs []string
}

func compileGlob(s string) (glob, error) {
	p := strings.ReplaceAll(s, "\\", "/")
	p = strings.TrimPrefix(p, "./")
	anchored := strings.HasPrefix(p, "/")
	p = strings.Trim(p, "/")
	if p == "" {
		return glob{}, errors.New("empty pattern")
	}
	segs := strings.Split(p, "/")
	if !anchored && len(segs) == 1 {
		segs = append([]string{"**"}, segs...)
	}
	for _, sg := range segs {
		if sg == "" {
			return glob{}, errors.New("empty path segment")
		}
		if sg == "**" {
			continue
		}
		if strings.Contains(sg, "**") {
			return glob{}, errors.New(`"**" must be a whole path segment`)
		}
		if _, err := path.Match(sg, ""); err != nil {
			return glob{}, err
		}
	}
	return glob{segs: segs}, nil
}

// match reports whether the pattern matches p (a slash-separated path
// relative to the config's directory) or one of its parent directories.
func (g glob) match(p string) bool {
	if p == "" {
		return false
	}
	return matchSegs(g.segs, strings.Split(p, "/"))
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			if len(rest) == 0 {
				return true
			}
			for i := 0; i <= len(name); i++ {
				if matchSegs(rest, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	// The pattern is used up: it matched the path or a directory of it.
	return true
}

// relPath turns a finding's path into the form globs match: slashes,
// relative to dir when it is under dir (a relative path is taken relative
// to root first, when root is given), no leading "./".
func relPath(p, root, dir string) string {
	if p == "" {
		return ""
	}
	if root != "" && !filepath.IsAbs(p) {
		p = filepath.Join(root, p)
	}
	if dir != "" && filepath.IsAbs(p) {
		if r, err := filepath.Rel(dir, p); err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			p = r
		}
	}
	p = strings.ReplaceAll(p, "\\", "/")
	for strings.HasPrefix(p, "./") {
		p = p[2:]
	}
	return strings.TrimPrefix(p, "/")
}
