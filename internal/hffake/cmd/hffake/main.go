// Command hffake serves a directory of bare repositories (as `githubfake
// gen` makes them) as the repositories of a Hugging Face organization on
// 127.0.0.1 (the Hub API fake plus git smart HTTP), in turn a model, a
// dataset and a Space by name order, for the sweep benchmark of `bks
// detect huggingface` (scripts/bench-sweep.sh).
//
//	hffake serve -dir DIR -org bench [-token T]
//
// It prints URL= (what --api-url takes) and MODELS=, DATASETS=, SPACES=,
// then serves until interrupted.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/bks-dev/bks/internal/gitserve"
	"github.com/bks-dev/bks/internal/hffake"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		usage()
	}
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dir := fs.String("dir", "", "directory of bare repositories (NAME.git)")
	org := fs.String("org", "bench", "organization")
	token := fs.String("token", "", "token the API and git require (none when empty)")
	_ = fs.Parse(os.Args[2:])
	if *dir == "" {
		usage()
	}
	s, err := hffake.New()
	if err != nil {
		fail(err)
	}
	defer s.Close()
	s.Token = *token
	names, err := gitserve.BareRepos(*dir)
	if err != nil {
		fail(err)
	}
	kinds := []string{"model", "dataset", "space"}
	count := map[string]int{}
	for i, name := range names {
		k := kinds[i%len(kinds)]
		s.Add(&hffake.Repo{Kind: k, ID: *org + "/" + name, Dir: filepath.Join(*dir, name+".git")})
		count[k]++
	}
	fmt.Printf("URL=%s\nMODELS=%d\nDATASETS=%d\nSPACES=%d\n", s.URL, count["model"], count["dataset"], count["space"])
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	<-ch
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: hffake serve -dir DIR -org ORG [-token T]")
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
