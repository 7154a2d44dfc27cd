package git

import (
	"fmt"
	"os"
	"testing"

	"github.com/bks-dev/bks/sources/git/internal/pack"
)

// TestMain fails the package when a scan left a pack mapped (a Store
// never closed).
func TestMain(m *testing.M) {
	code := m.Run()
	if n := pack.LiveMaps(); code == 0 && n != 0 {
		fmt.Fprintf(os.Stderr, "%d pack mapping(s) never unmapped (a Store not closed)\n", n)
		code = 1
	}
	os.Exit(code)
}
