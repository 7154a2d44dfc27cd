package scan

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/bks-dev/bks/"

// bksImports lists the bks packages the non-test files of the package in
// dir (relative to the module root) import.
func bksImports(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	files, err := filepath.Glob(filepath.Join("..", dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if rest, ok := strings.CutPrefix(p, module); ok {
				out = append(out, rest)
			}
		}
	}
	return out
}

// The pipeline's boundaries: the finding type imports nothing of the
// pipeline but detectors (for the decoded key) and the leaf location; the
// sources import only sources and location, so neither the detectors nor
// findings nor the scan, even through another package.
func TestPipelineBoundaries(t *testing.T) {
	// A renamed package would leave nothing to check, and the test green.
	for _, dir := range []string{"findings", "location", "sources", "sources/git"} {
		if files, _ := filepath.Glob(filepath.Join("..", dir, "*.go")); len(files) == 0 {
			t.Fatalf("no Go files in %s", dir)
		}
	}
	for _, p := range bksImports(t, "findings") {
		if p != "detectors" && p != "location" {
			t.Errorf("findings imports %s", p)
		}
	}
	if ps := bksImports(t, "location"); len(ps) > 0 {
		t.Errorf("location, a leaf, imports %v", ps)
	}
	err := filepath.WalkDir(filepath.Join("..", "sources"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		dir, _ := filepath.Rel("..", path)
		for _, p := range bksImports(t, dir) {
			if p != "location" && p != "sources" && !strings.HasPrefix(p, "sources/") {
				t.Errorf("%s imports %s", filepath.ToSlash(dir), p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
