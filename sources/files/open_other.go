//go:build !unix

package files

import "os"

// openFile opens path for reading. Non-regular files are rejected by the
// walk and again after opening.
func openFile(j job) (file, error) {
	f, err := os.Open(j.path)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// osFile adapts *os.File to file.
type osFile struct{ *os.File }

func (f osFile) Stat() (fileInfo, error) {
	st, err := f.File.Stat()
	if err != nil {
		return fileInfo{}, err
	}
	return fileInfo{size: st.Size(), regular: st.Mode().IsRegular()}, nil
}
