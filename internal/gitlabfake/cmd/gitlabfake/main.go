// Command gitlabfake serves a directory of bare repositories (as
// `githubfake gen` makes them) as the projects of a GitLab group on
// 127.0.0.1 (the REST API fake plus git smart HTTP), each project with the
// snippet of the same name from a second such directory, for the sweep
// benchmark of `bks detect gitlab` (scripts/bench-sweep.sh).
//
//	gitlabfake serve -dir DIR -group bench [-snippets DIR] [-token T]
//
// It prints URL= (what --api-url takes) and PROJECTS=, SNIPPETS=, then
// serves until interrupted.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/bks-dev/bks/internal/gitlabfake"
	"github.com/bks-dev/bks/internal/gitserve"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		usage()
	}
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dir := fs.String("dir", "", "directory of bare repositories (NAME.git): the group's projects")
	group := fs.String("group", "bench", "group path")
	snippets := fs.String("snippets", "", "directory of bare repositories: project NAME gets NAME.git from here as a snippet")
	token := fs.String("token", "", "token the API and git require (none when empty)")
	_ = fs.Parse(os.Args[2:])
	if *dir == "" {
		usage()
	}
	s, err := gitlabfake.New()
	if err != nil {
		fail(err)
	}
	defer s.Close()
	s.Token = *token
	names, err := gitserve.BareRepos(*dir)
	if err != nil {
		fail(err)
	}
	nproj, nsnip := 0, 0
	for _, name := range names {
		p := &gitlabfake.Project{Path: *group + "/" + name, Dir: filepath.Join(*dir, name+".git")}
		if *snippets != "" {
			sd := filepath.Join(*snippets, name+".git")
			if st, err := os.Stat(sd); err == nil && st.IsDir() {
				p.Snippets = []*gitlabfake.Snippet{{Title: name + " notes", Dir: sd}}
				nsnip++
			}
		}
		s.Add(p)
		nproj++
	}
	fmt.Printf("URL=%s\nPROJECTS=%d\nSNIPPETS=%d\n", s.URL, nproj, nsnip)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	<-ch
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gitlabfake serve -dir DIR -group GROUP [-snippets DIR] [-token T]")
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
