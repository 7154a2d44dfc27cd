package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOnlyDemoReachesEmulator checks that the demo's emulator, scenario
// and GitHub fake, linked into the product binary for `bks demo` and `bks
// serve --demo`, are reached by no other command: outside tests, only the
// demos' and the hidden dev command's files import them.
func TestOnlyDemoReachesEmulator(t *testing.T) {
	allowed := map[string]bool{
		"internal/cli/demo.go":            true, // bks demo
		"internal/cli/demo_pipeline.go":   true, // bks demo: the pipeline against the emulator
		"internal/cli/dev.go":             true, // bks dev aws-emulator (hidden)
		"internal/demo/pipeline.go":       true, // the demo's scenario seeds the emulator
		"internal/cli/serve_demo.go":      true, // bks serve --demo: the service against the emulator and the GitHub fake
		"internal/sweeptest/sweeptest.go": true, // a test helper (imported by tests only) that runs sweeps on the GitHub fake
		// make bench-serve's driver (its own binary, internal/servebench/cmd,
		// never linked into bks): bks serve against the emulator and the fake.
		"internal/servebench/bks.go":   true,
		"internal/servebench/setup.go": true,
	}
	const mod = "github.com/bks-dev/bks/"
	watched := []string{mod + "internal/awsemu", mod + "internal/demo", mod + "internal/githubfake"}
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "testdata" || rel == "internal/awsemu" || rel == "internal/githubfake" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, w := range watched {
				if p == w && !allowed[rel] {
					t.Errorf("%s imports %s: only `bks demo` and `bks dev` may reach the demo's emulator", rel, p)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCommandsReadNoProcessEnvironment checks that commands read the
// environment through cmdutil.IO only (tests and the demo give them
// another one) and never change it.
func TestCommandsReadNoProcessEnvironment(t *testing.T) {
	banned := map[string]bool{"Getenv": true, "LookupEnv": true, "Setenv": true, "Unsetenv": true, "Clearenv": true, "Environ": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "os" && banned[sel.Sel.Name] {
					t.Errorf("%s: os.%s: read the environment through cmdutil.IO.Env", name, sel.Sel.Name)
				}
			}
			return true
		})
	}
}
