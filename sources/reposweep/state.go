package reposweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// stateVersion is the version of the state file's format.
const stateVersion = 1

// State records which repositories a sweep has scanned, and at which Tip,
// so that an interrupted or repeated sweep (--resume) skips them. It is
// saved after every repository, atomically (write and rename), so an
// interruption loses at most the repositories being scanned at that
// moment.
type State struct {
	path string

	mu    sync.Mutex
	repos map[string]RepoState
}

// RepoState is what the state file keeps about one repository.
type RepoState struct {
	Tip
	ScannedAt time.Time `json:"scanned_at"`
}

type stateFile struct {
	Version int                  `json:"version"`
	Repos   map[string]RepoState `json:"repos"`
}

// OpenState reads the state file at path; a missing file is an empty state.
func OpenState(path string) (*State, error) {
	s := &State{path: path, repos: map[string]RepoState{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read resume state: %w", err)
	}
	var f stateFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("read resume state %s: %w", path, err)
	}
	if f.Version != stateVersion {
		return nil, fmt.Errorf("read resume state %s: version %d, want %d", path, f.Version, stateVersion)
	}
	for k, v := range f.Repos {
		s.repos[strings.ToLower(k)] = v
	}
	return s, nil
}

// Len is the number of repositories recorded.
func (s *State) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.repos)
}

// Scanned says whether fullName was scanned at tip.
func (s *State) Scanned(fullName string, tip Tip) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[strings.ToLower(fullName)]
	return ok && r.Refs != "" && r.Tip == tip
}

// Record notes that fullName was scanned at tip and saves the file.
func (s *State) Record(fullName string, tip Tip, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[strings.ToLower(fullName)] = RepoState{Tip: tip, ScannedAt: at.UTC()}
	return s.saveLocked()
}

func (s *State) saveLocked() error {
	data, err := json.MarshalIndent(stateFile{Version: stateVersion, Repos: s.repos}, "", " ")
	if err != nil {
		return fmt.Errorf("save resume state: %w", err)
	}
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(s.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save resume state: %w", err)
	}
	_, werr := tmp.Write(append(data, '\n'))
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), s.path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save resume state: %w", werr)
	}
	return nil
}

// Lookup returns what the state holds about fullName.
func (s *State) Lookup(fullName string) (RepoState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[strings.ToLower(fullName)]
	return r, ok
}
