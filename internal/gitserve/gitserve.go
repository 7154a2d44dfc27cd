// Package gitserve serves bare repositories over git's smart HTTP protocol
// for the loopback fakes of repository hosts (GitHub, GitLab, the Hugging Face
// Hub): the real `git http-backend`, run through net/http/cgi, so clones in
// tests speak the same protocol as against the real hosts.
package gitserve

import (
	"fmt"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Backend is the path of git-http-backend.
type Backend string

// Find locates git-http-backend in git's exec path.
func Find() (Backend, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return "", fmt.Errorf("gitserve: git --exec-path: %w", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("gitserve: git-http-backend: %w", err)
	}
	return Backend(p), nil
}

// Serve answers r, a smart-HTTP request for the bare repository dir; rest
// is the part of the path after the repository ("info/refs",
// "git-upload-pack").
func (b Backend) Serve(w http.ResponseWriter, r *http.Request, dir, rest string) {
	// git-http-backend finds the repository at GIT_PROJECT_ROOT+PATH_INFO:
	// map the request to "/x/<base of dir>/<rest>" under a root of "/x",
	// whatever the host's URL for the repository is.
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/x/" + filepath.Base(dir) + "/" + rest
	h := &cgi.Handler{
		Path: string(b),
		Root: "/x",
		Env: []string{
			"GIT_PROJECT_ROOT=" + filepath.Dir(dir),
			"GIT_HTTP_EXPORT_ALL=1",
		},
	}
	h.ServeHTTP(w, r2)
}

// BareRepos returns the names (without ".git") of the bare repositories
// NAME.git directly in dir, sorted: what the fakes' serve commands and
// githubfake's AddDir host.
func BareRepos(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents { // os.ReadDir sorts by name
		if name, ok := strings.CutSuffix(e.Name(), ".git"); ok && e.IsDir() {
			names = append(names, name)
		}
	}
	return names, nil
}
