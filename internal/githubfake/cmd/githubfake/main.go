// Command githubfake serves a directory of bare repositories as a GitHub
// organization on 127.0.0.1 (REST API fake plus git smart HTTP), generates
// such directories with their ground truth (the planted keys), and checks
// a sweep's findings against it, for the sweep benchmarks of
// `bks detect github`, `gitlab` and `huggingface` (scripts/bench-sweep.sh;
// the GitLab and Hub fakes serve the same directories).
//
//	githubfake gen -dir DIR -n 200 [-seed 1] [-truth FILE]
//	githubfake serve -dir DIR -org bench
//	githubfake verify -truth FILE -findings FILE -base URL
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
	case "verify":
		verify(os.Args[2:])
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: githubfake gen -dir DIR -n N [-truth FILE] | githubfake serve -dir DIR -org ORG | githubfake verify -truth FILE -findings FILE -base URL")
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
	truthFile := fs.String("truth", "", "write the planted keys here (JSON lines)")
	_ = fs.Parse(args)
	if *dir == "" {
		usage()
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	errs := make(chan error, *n)
	truth := make([]*plant, *n)
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
			name := fmt.Sprintf("repo-%04d", i)
			if err := githubfake.GenRepo(filepath.Join(*dir, name+".git"), o); err != nil {
				errs <- err
				return
			}
			if o.Plant != "" {
				p, err := plantOf(filepath.Join(*dir, name+".git"), name, o.Plant)
				if err != nil {
					errs <- err
				}
				truth[i] = p
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *truthFile != "" {
		if err := writeTruth(*truthFile, truth); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
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
