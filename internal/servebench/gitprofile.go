package servebench

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The git profile (Options.GitProfile) says which git commands a job's
// CPU goes to. bks runs git from PATH; the profile puts first on its PATH
// a bash script named git that runs the real git, then writes the
// subcommand and bash's `times` (the CPU of the children it waited for:
// that git and the processes it ran) to a file of its own, under a dotted
// name renamed when complete, so that a take never reads half a record. The shim's own
// bash costs CPU too (counted as bks's children, not in the table), so a
// profiled run's totals are a little higher than an unprofiled one's.
const gitShim = `#!/bin/bash
"$BKS_BENCH_REAL_GIT" "$@"
rc=$?
sub=
skip=
for a in "$@"; do
	if [ -n "$skip" ]; then skip=; continue; fi
	case $a in
	-C|-c|--git-dir|--work-tree|--namespace) skip=1 ;;
	-*) ;;
	*) sub=$a; break ;;
	esac
done
rec=$$-$EPOCHREALTIME
{ echo "$sub"; times; } >"$BKS_BENCH_GIT_LOG/.$rec.tmp" && mv "$BKS_BENCH_GIT_LOG/.$rec.tmp" "$BKS_BENCH_GIT_LOG/$rec"
exit $rc
`

// gitProfile is where the shim is and writes.
type gitProfile struct{ bin, logs string }

// newGitProfile writes the shim under dir and returns the environment
// that makes bks run it.
func newGitProfile(dir string) (*gitProfile, []string, error) {
	real, err := exec.LookPath("git")
	if err != nil {
		return nil, nil, err
	}
	if real, err = filepath.Abs(real); err != nil {
		return nil, nil, err
	}
	if _, err := exec.LookPath("bash"); err != nil {
		return nil, nil, fmt.Errorf("git profile: %w", err)
	}
	p := &gitProfile{bin: filepath.Join(dir, "gitshim"), logs: filepath.Join(dir, "gitprofile")}
	for _, d := range []string{p.bin, p.logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(p.bin, "git"), []byte(gitShim), 0o755); err != nil {
		return nil, nil, err
	}
	env := []string{"PATH=" + p.bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"BKS_BENCH_REAL_GIT=" + real, "BKS_BENCH_GIT_LOG=" + p.logs}
	return p, env, nil
}

// gitCost is the CPU of one git subcommand's runs.
type gitCost struct {
	runs int
	cpu  time.Duration
}

// noSubcommand names the runs without a subcommand (git --version).
const noSubcommand = "(none)"

// take reads the records written since the last take, and removes them; a
// record still being written (dotted name) stays for the next take.
func (p *gitProfile) take() (map[string]gitCost, error) {
	ents, err := os.ReadDir(p.logs)
	if err != nil {
		return nil, err
	}
	out := map[string]gitCost{}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(p.logs, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		// The subcommand (empty for git --version), then times' two
		// lines: the shell's, the children's user and system times.
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(lines) != 3 {
			return nil, fmt.Errorf("git profile: record %s is not a subcommand and times' two lines: %q", e.Name(), b)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
		sub := lines[0]
		if sub == "" {
			sub = noSubcommand
		}
		c := out[sub]
		c.runs++
		for _, f := range strings.Fields(lines[2]) {
			c.cpu += bashTime(f)
		}
		out[sub] = c
	}
	return out, nil
}

// bashTime parses a duration as bash's times prints it: 0m0.150s.
func bashTime(s string) time.Duration {
	m, sec, ok := strings.Cut(strings.TrimSuffix(s, "s"), "m")
	if !ok {
		return 0
	}
	mins, _ := strconv.Atoi(m)
	secs, _ := strconv.ParseFloat(sec, 64)
	return time.Duration(mins)*time.Minute + time.Duration(secs*float64(time.Second))
}

// writeGitProfile reports a phase's git CPU per job by subcommand, most
// first.
func writeGitProfile(out io.Writer, phase string, costs map[string]gitCost, jobs int) {
	if jobs == 0 || len(costs) == 0 {
		return
	}
	names := make([]string, 0, len(costs))
	for n := range costs {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return costs[names[i]].cpu > costs[names[j]].cpu })
	fmt.Fprintf(out, "\nGit CPU per job by command, %s (%d jobs; the shim's bash not counted):\n\n| git command | runs per job | CPU per job |\n|---|---:|---:|\n", phase, jobs)
	for _, n := range names {
		c := costs[n]
		fmt.Fprintf(out, "| %s | %.2f | %.1f ms |\n", n, float64(c.runs)/float64(jobs), float64(c.cpu.Microseconds())/1000/float64(jobs))
	}
}
