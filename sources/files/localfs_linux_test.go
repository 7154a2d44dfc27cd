package files

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bks-dev/bks/sources"
)

// TestLocalFS: a test's temporary directory is on a local filesystem, and
// the walk gives its files raw system calls (every other test of this
// package so reads through them); /proc, whose files the kernel makes up
// on each read, is not local, nor is a path statfs cannot see.
func TestLocalFS(t *testing.T) {
	dir := t.TempDir()
	if local, _ := localFS(dir); !local {
		t.Skipf("the temporary directory %s is not on a filesystem localFS knows", dir)
	}
	if local, _ := localFS("/proc"); local {
		t.Error("/proc is local")
	}
	if local, _ := localFS(filepath.Join(dir, "missing")); local {
		t.Error("a missing directory is local")
	}
	writeFile(t, filepath.Join(dir, "sub", "a.env"), []byte("K="+keyLong+"\n"))
	writeFile(t, filepath.Join(dir, "b.env"), []byte("K="+keyLong2+"\n"))
	s := New(Options{Paths: []string{dir}})
	var jobs []job
	s.open = func(j job) (file, error) {
		jobs = append(jobs, j) // one worker: see below
		return openFile(j)
	}
	s.opts.Workers = 1
	res := run(t, func(sources.ErrorHandler) sources.Source { return s })
	if len(res.hits) != 2 || len(jobs) != 2 {
		t.Fatalf("hits %v, jobs %v: want 2 of each", res.hits, jobs)
	}
	for _, j := range jobs {
		if !j.local {
			t.Errorf("%s: not local", j.path)
		}
		f, err := openFile(j)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Stat(); err != nil {
			t.Fatal(err)
		}
		if !f.(*fdFile).raw {
			t.Errorf("%s: read with the ordinary system calls", j.path)
		}
		f.Close()
		// The same file said to be on another device (a mount on it, or
		// on its directory, after the walk) is read the ordinary way.
		j.dev++
		if f, err = openFile(j); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Stat(); err != nil {
			t.Fatal(err)
		}
		if f.(*fdFile).raw {
			t.Errorf("%s on another device: read with raw system calls", j.path)
		}
		f.Close()
	}
	if _, err := os.Stat("/proc/self/status"); err == nil {
		f, err := openFile(job{path: "/proc/self/status"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Stat(); err != nil {
			t.Fatal(err)
		}
		if f.(*fdFile).raw {
			t.Error("a file opened without local uses raw calls")
		}
		f.Close()
	}
}
