// Command gengitrepo writes the git-history benchmark's generated
// repository and checks bks's findings against its ground truth:
//
//	gengitrepo gen -out DIR -truth FILE [-commits N] [-seed S] [-every K]
//	gengitrepo plant -repo DIR -truth FILE [-path README.md] [-back N]
//	gengitrepo verify -truth FILE -findings FILE
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/benchcorpus/gitrepo"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gengitrepo gen|plant|verify [flags]")
		os.Exit(2)
	}
	var err error
	ok := true
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "plant":
		err = plant(os.Args[2:])
	case "verify":
		ok, err = verify(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gengitrepo:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// plant adds two keys to a clone of a real repository (gitrepo.Plant).
func plant(args []string) error {
	fs := flag.NewFlagSet("plant", flag.ExitOnError)
	repo := fs.String("repo", "", "repository to plant keys in (changed in place)")
	truth := fs.String("truth", "", "ground truth file to write (JSON Lines)")
	path := fs.String("path", "README.md", "file at HEAD that gets a key appended")
	back := fs.Int("back", 5000, "first-parent commits back from HEAD where the side branch forks")
	fs.Parse(args)
	if *repo == "" || *truth == "" {
		return fmt.Errorf("plant: -repo and -truth are required")
	}
	t, err := gitrepo.Plant(*repo, *path, *back)
	if err != nil {
		return err
	}
	return writeTruth(*truth, t)
}

func writeTruth(path string, t []gitrepo.Truth) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := gitrepo.WriteTruth(f, t); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	out := fs.String("out", "", "directory to create the repository in")
	truth := fs.String("truth", "", "ground truth file to write (JSON Lines)")
	commits := fs.Int("commits", 20000, "commits on main")
	seed := fs.Uint64("seed", 1, "seed")
	every := fs.Int("every", 500, "plant a key every this many commits")
	fs.Parse(args)
	if *out == "" || *truth == "" {
		return fmt.Errorf("gen: -out and -truth are required")
	}
	t, err := gitrepo.Generate(*out, gitrepo.Options{Commits: *commits, Seed: *seed, PlantEvery: *every})
	if err != nil {
		return err
	}
	return writeTruth(*truth, t)
}

func verify(args []string) (bool, error) {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	truthPath := fs.String("truth", "", "ground truth (gen -truth)")
	findingsPath := fs.String("findings", "", "bks detect git --format jsonl output")
	fs.Parse(args)
	tf, err := os.Open(*truthPath)
	if err != nil {
		return false, err
	}
	defer tf.Close()
	truth, err := gitrepo.ReadTruth(tf)
	if err != nil {
		return false, err
	}
	ff, err := os.Open(*findingsPath)
	if err != nil {
		return false, err
	}
	defer ff.Close()
	var found []findings.Finding
	sc := bufio.NewScanner(ff)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	for sc.Scan() {
		var f findings.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			return false, fmt.Errorf("findings: %w", err)
		}
		found = append(found, f)
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	problems := gitrepo.Verify(truth, found)
	for _, p := range problems {
		fmt.Println(p)
	}
	fmt.Printf("verify: planted %d, findings %d, problems %d\n", len(truth), len(found), len(problems))
	return len(problems) == 0, nil
}
