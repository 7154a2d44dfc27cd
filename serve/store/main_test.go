package store

import (
	"os"
	"testing"

	"github.com/bks-dev/bks/internal/testpg"
)

// TestMain stops the PostgreSQL cluster the tests started (testpg).
func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }
