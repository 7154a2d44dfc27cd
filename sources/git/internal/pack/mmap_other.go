//go:build !unix

package pack

import (
	"errors"
	"os"
)

// mapFile does not map here: packs are read with ReadAt.
func mapFile(*os.File, int64) ([]byte, error) { return nil, errors.New("mmap not supported") }

func unmapFile([]byte) error { return nil }
