package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// reportFile is the file a report is written to with -o. The report goes
// to a temporary file in the same directory, which replaces path only when
// the run completed (finish with complete set). An incomplete run
// (interrupted, or exit 2) never replaces path: path keeps its previous
// bytes and the partial report is kept beside it as path+".incomplete",
// so a report that looks complete always is.
type reportFile struct {
	*os.File
	path string
	mode os.FileMode
}

// incompleteSuffix names the partial report an incomplete run leaves.
const incompleteSuffix = ".incomplete"

// createReportFile opens the temporary file for path; mode is the final
// file's permission.
func createReportFile(path string, mode os.FileMode) (*reportFile, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".bks-*")
	if err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	return &reportFile{File: tmp, path: path, mode: mode}, nil
}

// finish closes the temporary file and moves it into place: over path
// when complete (removing a stale .incomplete), to path+".incomplete"
// otherwise. It returns where the report went.
func (r *reportFile) finish(complete bool) (string, error) {
	tmp := r.Name()
	dest := r.path
	if !complete {
		dest += incompleteSuffix
	}
	err := r.Close()
	if err == nil {
		err = os.Chmod(tmp, r.mode)
	}
	if err == nil {
		err = os.Rename(tmp, dest)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("output: %w", err)
	}
	if complete {
		if err := os.Remove(r.path + incompleteSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return dest, fmt.Errorf("output: %w", err)
		}
	}
	return dest, nil
}
