package huggingface

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/bks-dev/bks/location"
	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/reposweep"
)

// LFS limits: objects larger than MaxSize, and objects beyond the first
// MaxObjects of a repository, are not fetched; the sweep says how many.
const (
	DefaultLFSMaxSize    = 10 << 20
	DefaultLFSMaxObjects = 1000
	lfsBatch             = 100 // objects per batch API request
	pointerMax           = 1024
)

// pointerPrefix starts every Git LFS pointer file
// (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md).
const pointerPrefix = "version https://git-lfs.github.com/spec/v1\n"

type pointer struct {
	oid  string // sha256, hex
	size int64
	path string
}

// lfsScanner scans the LFS objects a clone's history points at.
type lfsScanner struct {
	client     *Client
	maxSize    int64
	maxObjects int
	git        string
	onError    sources.ErrorHandler
	log        func(string)
}

// pointers reads every LFS pointer in the clone's history (each object
// once) and returns those to fetch, with how many were left out and the
// largest of those. Memory is bounded by maxObjects.
func (s *lfsScanner) pointers(ctx context.Context, dir string) (take []pointer, overCap, overCount int, largest int64, err error) {
	git := s.git
	if git == "" {
		git = "git"
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	list := exec.CommandContext(ctx, git, "--git-dir", dir, "rev-list", "--objects", "--all", "--filter=blob:limit="+strconv.Itoa(pointerMax))
	list.Env = append(os.Environ(), "LC_ALL=C")
	listOut, err := list.StdoutPipe()
	if err != nil {
		return nil, 0, 0, 0, err
	}
	cat := exec.CommandContext(ctx, git, "--git-dir", dir, "cat-file", "--batch")
	cat.Env = list.Env
	catIn, err := cat.StdinPipe()
	if err != nil {
		return nil, 0, 0, 0, err
	}
	catOut, err := cat.StdoutPipe()
	if err != nil {
		return nil, 0, 0, 0, err
	}
	if err := list.Start(); err != nil {
		return nil, 0, 0, 0, fmt.Errorf("git rev-list: %w", err)
	}
	if err := cat.Start(); err != nil {
		return nil, 0, 0, 0, fmt.Errorf("git cat-file: %w", err)
	}
	// The feeder asks cat-file for every named object and tells the
	// reader its path, in the same order.
	paths := make(chan string, 1024)
	go func() {
		defer close(paths)
		defer catIn.Close()
		sc := bufio.NewScanner(listOut)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			oid, path, ok := strings.Cut(sc.Text(), " ")
			if !ok || path == "" {
				continue // a commit, or the root tree
			}
			if _, err := io.WriteString(catIn, oid+"\n"); err != nil {
				return
			}
			select {
			case paths <- path:
			case <-ctx.Done():
				return
			}
		}
	}()
	taken := map[string]bool{}
	r := bufio.NewReader(catOut)
	for path := range paths {
		hdr, err := r.ReadString('\n')
		if err != nil {
			return nil, 0, 0, 0, fmt.Errorf("git cat-file: %w", err)
		}
		f := strings.Fields(hdr)
		if len(f) != 3 {
			continue // "missing": not in a complete clone
		}
		n, _ := strconv.ParseInt(f[2], 10, 64)
		body := make([]byte, n+1)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, 0, 0, 0, fmt.Errorf("git cat-file: %w", err)
		}
		p, ok := parsePointer(body[:n])
		if f[1] != "blob" || !ok {
			continue
		}
		// rev-list names each pointer blob once; two pointer files to
		// one object are rare, and told apart only among those taken, so
		// that memory stays bounded by maxObjects.
		p.path = path
		switch {
		case p.size > s.maxSize:
			overCap++
			largest = max(largest, p.size)
		case taken[p.oid]:
		case len(take) >= s.maxObjects:
			overCount++
		default:
			taken[p.oid] = true
			take = append(take, p)
		}
	}
	_ = list.Wait()
	_ = cat.Wait()
	return take, overCap, overCount, largest, nil
}

// parsePointer reads a Git LFS pointer file.
func parsePointer(b []byte) (pointer, bool) {
	if !bytes.HasPrefix(b, []byte(pointerPrefix)) {
		return pointer{}, false
	}
	var p pointer
	for _, ln := range strings.Split(string(b[len(pointerPrefix):]), "\n") {
		k, v, _ := strings.Cut(ln, " ")
		switch k {
		case "oid":
			p.oid, _ = strings.CutPrefix(v, "sha256:")
		case "size":
			p.size, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return p, len(p.oid) == 64 && p.size >= 0
}

// scan fetches and scans the LFS objects of the clone at dir.
func (s *lfsScanner) scan(ctx context.Context, dir string, r reposweep.Repo, split sources.Chunker, yield func(sources.Chunk) error) error {
	take, overCap, overCount, largest, err := s.pointers(ctx, dir)
	if err != nil {
		return fmt.Errorf("read LFS pointers: %w", err)
	}
	if overCap > 0 && s.log != nil {
		s.log(fmt.Sprintf("%s: %d LFS object(s) over the %s cap not scanned (largest %s); raise --lfs-max-size to scan them",
			r.FullName, overCap, size(s.maxSize), size(largest)))
	}
	if overCount > 0 && s.log != nil {
		s.log(fmt.Sprintf("%s: %d LFS object(s) beyond the first %d not scanned; raise --lfs-max-objects to scan them",
			r.FullName, overCount, s.maxObjects))
	}
	buf := make([]byte, split.BufLen())
	for lo := 0; lo < len(take); lo += lfsBatch {
		batch := take[lo:min(lo+lfsBatch, len(take))]
		actions, err := s.batch(ctx, r, batch)
		if err != nil {
			return fmt.Errorf("LFS batch: %w", err)
		}
		for _, p := range batch {
			a, ok := actions[p.oid]
			if !ok || a.err != "" {
				s.report(r, p, fmt.Errorf("LFS object %s: %s", p.oid[:12], a.err))
				continue
			}
			if err := s.fetch(ctx, r, p, a, split, buf, yield); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if isYield(err) {
					return err
				}
				s.report(r, p, err)
			}
		}
	}
	return nil
}

func (s *lfsScanner) report(r reposweep.Repo, p pointer, err error) {
	if s.onError != nil {
		s.onError(r.FullName+": "+p.path, err)
	}
}

type action struct {
	href   string
	header map[string]string
	err    string
}

// batch asks the LFS batch API where to download objects
// (https://github.com/git-lfs/git-lfs/blob/main/docs/api/batch.md); the
// Hub serves it at REPO.git/info/lfs/objects/batch.
func (s *lfsScanner) batch(ctx context.Context, r reposweep.Repo, ps []pointer) (map[string]action, error) {
	type obj struct {
		OID  string `json:"oid"`
		Size int64  `json:"size"`
	}
	req := struct {
		Operation string   `json:"operation"`
		Transfers []string `json:"transfers"`
		Objects   []obj    `json:"objects"`
	}{Operation: "download", Transfers: []string{"basic"}}
	for _, p := range ps {
		req.Objects = append(req.Objects, obj{p.oid, p.size})
	}
	body, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(r.CloneURL, "/")+".git/info/lfs/objects/batch", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Accept", "application/vnd.git-lfs+json")
	hr.Header.Set("Content-Type", "application/vnd.git-lfs+json")
	if t := s.client.Token(); t != "" {
		hr.Header.Set("Authorization", "Bearer "+t)
	}
	resp, err := s.client.hc.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &APIError{Status: resp.StatusCode}
	}
	var out struct {
		Objects []struct {
			OID     string `json:"oid"`
			Actions struct {
				Download struct {
					Href   string            `json:"href"`
					Header map[string]string `json:"header"`
				} `json:"download"`
			} `json:"actions"`
			Error *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		} `json:"objects"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	m := map[string]action{}
	for _, o := range out.Objects {
		a := action{href: o.Actions.Download.Href, header: o.Actions.Download.Header}
		if o.Error != nil {
			a.err = fmt.Sprintf("%d %s", o.Error.Code, o.Error.Message)
		} else if a.href == "" {
			a.err = "no download link"
		}
		m[o.OID] = a
	}
	return m, nil
}

// yieldErr marks the consumer's error, which stops the sweep.
type yieldErr struct{ error }

func (e yieldErr) Unwrap() error { return e.error }

func isYield(err error) bool {
	_, ok := err.(yieldErr)
	return ok
}

// fetch downloads one object, at most its pointer's size, and scans it.
// The token goes only to the Hub itself, never to another host the
// download link names (a signed storage URL carries its own rights).
func (s *lfsScanner) fetch(ctx context.Context, r reposweep.Repo, p pointer, a action, split sources.Chunker, buf []byte, yield func(sources.Chunk) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.href, nil)
	if err != nil {
		return fmt.Errorf("LFS object %s: %w", p.oid[:12], err)
	}
	for k, v := range a.header {
		req.Header.Set(k, v)
	}
	if t := s.client.Token(); t != "" && req.Header.Get("Authorization") == "" && sameHost(req.URL, s.client.endpoint) {
		req.Header.Set("Authorization", "Bearer "+t)
	}
	resp, err := s.client.hc.Do(req)
	if err != nil {
		return fmt.Errorf("LFS object %s: %w", p.oid[:12], err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("LFS object %s: %w", p.oid[:12], &APIError{Status: resp.StatusCode})
	}
	origin := &location.Location{Repo: r.FullName, Path: p.path}
	err = split.Split(io.LimitReader(resp.Body, p.size), origin, buf, func(c sources.Chunk) error {
		if err := yield(c); err != nil {
			return yieldErr{err}
		}
		return nil
	})
	if err != nil && !isYield(err) {
		return fmt.Errorf("LFS object %s: %w", p.oid[:12], err)
	}
	return err
}

func sameHost(a, b *url.URL) bool { return strings.EqualFold(a.Host, b.Host) && a.Scheme == b.Scheme }

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
