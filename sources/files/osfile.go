package files

import (
	"errors"
	"os"
)

// errSkip from an open function means: skip the file silently.
var errSkip = errors.New("skip")

// osFile adapts *os.File to file.
type osFile struct{ *os.File }

func (f osFile) Stat() (fileInfo, error) {
	st, err := f.File.Stat()
	if err != nil {
		return nil, err
	}
	return osInfo{st}, nil
}

type osInfo struct{ os.FileInfo }

func (i osInfo) IsRegular() bool { return i.Mode().IsRegular() }
