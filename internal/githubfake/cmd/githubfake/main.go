// Command githubfake serves a directory of bare repositories as a GitHub
// organization on 127.0.0.1 (REST API fake plus git smart HTTP), and
// generates such directories, for benchmarks and demos of
// `bks detect github` (scripts/bench-github-sweep.sh).
//
//	githubfake gen -dir DIR -n 200 [-seed 1]
//	githubfake serve -dir DIR -org bench
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"

	"github.com/bks-dev/bks/internal/githubfake"
	"github.com/bks-dev/bks/internal/testkeys"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "gen":
		gen(os.Args[2:])
	case "serve":
		serve(os.Args[2:])
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: githubfake gen -dir DIR -n N | githubfake serve -dir DIR -org ORG")
	os.Exit(2)
}

func gen(args []string) {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	dir := fs.String("dir", "", "directory to create the repositories in")
	n := fs.Int("n", 200, "number of repositories")
	seed := fs.Uint64("seed", 1, "seed")
	files := fs.Int("files", 120, "files in the first commit (mean; varies by repository)")
	commits := fs.Int("commits", 150, "commits (mean; varies by repository)")
	size := fs.Int("file-size", 6000, "mean file size in bytes")
	keyEvery := fs.Int("key-every", 20, "plant a key in every Nth repository (0: none)")
	_ = fs.Parse(args)
	if *dir == "" {
		usage()
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	errs := make(chan error, *n)
	for i := range *n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s := *seed*1000 + uint64(i)
			// Sizes vary: most repositories small, a few large.
			scale := []float64{0.3, 0.5, 0.7, 1, 1, 1, 1.5, 2, 3, 5}[i%10]
			o := githubfake.GenOptions{
				Seed:     s,
				Files:    max(5, int(float64(*files)*scale)),
				Commits:  max(2, int(float64(*commits)*scale)),
				FileSize: *size,
			}
			if *keyEvery > 0 && i%*keyEvery == 0 {
				o.Plant = testkeys.LongTerm(testkeys.ConsoleUser(s), "123456789012", testkeys.Secret(s))
			}
			if err := githubfake.GenRepo(filepath.Join(*dir, fmt.Sprintf("repo-%04d.git", i)), o); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func serve(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dir := fs.String("dir", "", "directory of bare repositories (NAME.git)")
	org := fs.String("org", "bench", "organization name")
	_ = fs.Parse(args)
	if *dir == "" {
		usage()
	}
	s, err := githubfake.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer s.Close()
	n, err := s.AddDir(*org, *dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("API_URL=%s\nREPOS=%d\n", s.APIURL(), n)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	<-ch
}
