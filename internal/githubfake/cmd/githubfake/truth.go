package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/githubfake"
)

// plant is one line of a generated directory's ground truth: the key
// planted in a repository (githubfake.GenRepo writes it at line 2 of
// config/prod.env in the middle of the history and deletes it two
// commits later).
type plant struct {
	Repo        string `json:"repo"` // the repository's directory name, without .git
	Path        string `json:"path"`
	Line        int    `json:"line"`
	Commit      string `json:"commit"` // the commit that added the key
	Rule        string `json:"rule"`
	Fingerprint string `json:"fingerprint"`
}

func plantOf(gitDir, repo, key string) (*plant, error) {
	out, err := exec.Command("git", "--git-dir", gitDir, "log", "--format=%H", "--diff-filter=A", "--", githubfake.PlantedPath).Output()
	if err != nil {
		return nil, fmt.Errorf("%s: git log: %w", gitDir, err)
	}
	commit := strings.TrimSpace(string(out))
	if len(commit) != 40 {
		return nil, fmt.Errorf("%s: the commit adding %s: %q", gitDir, githubfake.PlantedPath, commit)
	}
	return &plant{Repo: repo, Path: githubfake.PlantedPath, Line: githubfake.PlantedLine, Commit: commit,
		Rule: detectors.RuleLongTerm, Fingerprint: findings.Fingerprint(detectors.RuleLongTerm, key)}, nil
}

func writeTruth(path string, ps []*plant) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, p := range ps {
		if p != nil {
			if err := enc.Encode(p); err != nil {
				f.Close()
				return err
			}
		}
	}
	return f.Close()
}

func readJSONLines[T any](path string, each func(T)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
		each(v)
	}
	return sc.Err()
}

// verify checks a sweep's JSON Lines report against ground truths: every
// planted key reported at its file, line and commit, with a link under
// -base naming its repository, the commit and the file; and nothing else
// reported. Exit 1 when they differ.
func verify(args []string) {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	var truths multi
	fs.Var(&truths, "truth", "ground truth written by gen (repeatable; snippets' truth too)")
	report := fs.String("findings", "", "bks's report, --format jsonl")
	base := fs.String("base", "", "the URL every link must start with (the host's web URL and the owner)")
	_ = fs.Parse(args)
	if len(truths) == 0 || *report == "" || *base == "" {
		usage()
	}
	var want []plant
	for _, t := range truths {
		if err := readJSONLines(t, func(p plant) { want = append(want, p) }); err != nil {
			fail(err)
		}
	}
	var got []findings.Finding
	if err := readJSONLines(*report, func(f findings.Finding) { got = append(got, f) }); err != nil {
		fail(err)
	}
	byFP := map[string][]findings.Location{}
	for _, f := range got {
		byFP[f.Fingerprint] = append(byFP[f.Fingerprint], f.Location)
		byFP[f.Fingerprint] = append(byFP[f.Fingerprint], f.Locations...)
	}
	var problems []string
	planted, missing := map[string]bool{}, 0
	for _, p := range want {
		planted[p.Fingerprint] = true
		if !found(p, byFP[p.Fingerprint], *base) {
			missing++
			problems = append(problems, fmt.Sprintf("missing: %s %s:%d at %.12s (%s), or without its link under %s", p.Repo, p.Path, p.Line, p.Commit, p.Fingerprint, *base))
		}
	}
	for _, f := range got {
		if !planted[f.Fingerprint] {
			problems = append(problems, fmt.Sprintf("unexpected: %s %s %s:%d", f.RuleID, f.Repo, f.Path, f.Line))
		}
	}
	fmt.Printf("planted %d, found %d with their links; %d findings, %d problems\n", len(want), len(want)-missing, len(got), len(problems))
	for i, p := range problems {
		if i == 20 {
			fmt.Printf("… %d more\n", len(problems)-i)
			break
		}
		fmt.Println(p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}

func found(p plant, locs []findings.Location, base string) bool {
	for _, l := range locs {
		if l.Path == p.Path && l.Line == p.Line && l.Commit == p.Commit &&
			strings.HasPrefix(l.HTMLURL, base) && strings.Contains(l.HTMLURL, "/"+p.Repo+"/") &&
			strings.Contains(l.HTMLURL, "/"+p.Commit+"/"+p.Path) {
			return true
		}
	}
	return false
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(2)
}
