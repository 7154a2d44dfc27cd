// Package gitrepo generates a git repository with keys planted in its
// history, and its ground truth, for the git-history benchmark
// (scripts/bench-git.sh) and tests. The history is written with one
// `git fast-import` stream, so tens of thousands of commits take seconds.
//
// Keys (fake secrets, from internal/testkeys) hide where history scans must
// look: added then deleted, still at HEAD, on an unmerged branch, reachable
// only from a tag, in a commit message, and introduced by a merge commit.
// Each planted key is distinct; the ground truth names the commit that
// introduced it, its path there and whether it is still at HEAD.
package gitrepo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testkeys"
)

// Options size the history.
type Options struct {
	Commits int    // commits on main (at least 100)
	Files   int    // distinct paths edited over time (default 300)
	Seed    uint64 // same seed, same repository
	// PlantEvery plants one key every this many commits (default 500).
	PlantEvery int
}

// Truth is one planted key.
type Truth struct {
	Fingerprint string `json:"fingerprint"`
	Rule        string `json:"rule"`
	Place       string `json:"place"` // deleted, head, branch, tag, message, merge
	Commit      string `json:"commit"`
	Path        string `json:"path,omitempty"` // empty for a commit message
	Kind        string `json:"kind,omitempty"` // "commit-message" for messages
	InHead      *bool  `json:"in_head,omitempty"`
	mark        int
}

// Places are the hiding places, in the order they are used.
var Places = []string{"deleted", "head", "branch", "tag", "message", "merge"}

type gen struct {
	w       *bufio.Writer
	rng     *rand.Rand
	mark    int
	tick    int64
	files   []string
	content map[string][]byte
	truth   []Truth
	nkey    int
}

// Generate writes the repository into dir (created; must not exist or be
// empty) and returns its ground truth.
func Generate(dir string, o Options) ([]Truth, error) {
	if o.Commits < 100 {
		o.Commits = 100
	}
	if o.Files <= 0 {
		o.Files = 300
	}
	if o.PlantEvery <= 0 {
		o.PlantEvery = 500
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("gitrepo: %w", err)
	}
	if out, err := git(dir, nil, "init", "-q", "-b", "main"); err != nil {
		return nil, fmt.Errorf("gitrepo: git init: %v: %s", err, out)
	}
	marks := filepath.Join(dir, ".git", "bks-marks")
	cmd := exec.Command("git", "-C", dir, "fast-import", "--quiet", "--export-marks="+marks)
	cmd.Env = gitEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("gitrepo: git fast-import: %w", err)
	}
	g := &gen{w: bufio.NewWriterSize(stdin, 1<<20), rng: rand.New(rand.NewPCG(o.Seed, 0x6b657973)), content: map[string][]byte{}}
	for i := range o.Files {
		g.files = append(g.files, fmt.Sprintf("%s/%s_%03d.%s", dirs[i%len(dirs)], words[(i*7)%len(words)], i, exts[i%len(exts)]))
	}
	g.history(o)
	werr := g.w.Flush()
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("gitrepo: git fast-import: %v: %s", err, stderr.String())
	}
	if werr != nil {
		return nil, fmt.Errorf("gitrepo: write stream: %w", werr)
	}
	ids, err := readMarks(marks)
	if err != nil {
		return nil, err
	}
	os.Remove(marks)
	for i := range g.truth {
		id, ok := ids[g.truth[i].mark]
		if !ok {
			return nil, fmt.Errorf("gitrepo: mark :%d not exported", g.truth[i].mark)
		}
		g.truth[i].Commit = id
	}
	if out, err := git(dir, nil, "checkout", "-q", "-f", "main"); err != nil {
		return nil, fmt.Errorf("gitrepo: checkout: %v: %s", err, out)
	}
	return g.truth, nil
}

var (
	dirs  = []string{"src", "src/api", "src/internal/store", "docs", "config", "deploy/k8s", "scripts", "web/static", "tests/fixtures", "tools"}
	words = []string{"handler", "client", "server", "store", "cache", "index", "router", "worker", "schema", "report", "model", "queue", "policy", "notes", "build"}
	exts  = []string{"go", "py", "md", "yaml", "json", "ts", "sh", "txt", "toml"}
)

func (g *gen) history(o Options) {
	main := 0 // mark of main's tip
	for c := 1; c <= o.Commits; c++ {
		if c%o.PlantEvery == 0 {
			place := Places[(c/o.PlantEvery-1)%len(Places)]
			main = g.plant(place, main)
			continue
		}
		edits := map[string][]byte{}
		for range 1 + g.rng.IntN(3) {
			f := g.files[g.rng.IntN(len(g.files))]
			edits[f] = g.edit(f)
		}
		main = g.commit("refs/heads/main", fmt.Sprintf("%s: %s %d", words[g.rng.IntN(len(words))], words[g.rng.IntN(len(words))], c), []int{main}, edits, nil)
	}
}

// edit returns a new version of f: a few lines changed, added or dropped.
func (g *gen) edit(f string) []byte {
	old := g.content[f]
	lines := bytes.SplitAfter(old, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	for range 1 + g.rng.IntN(6) {
		l := g.line()
		switch {
		case len(lines) < 20 || g.rng.IntN(3) == 0:
			at := g.rng.IntN(len(lines) + 1)
			lines = append(lines[:at], append([][]byte{l}, lines[at:]...)...)
		case len(lines) > 400:
			at := g.rng.IntN(len(lines))
			lines = append(lines[:at], lines[at+1:]...)
		default:
			lines[g.rng.IntN(len(lines))] = l
		}
	}
	b := bytes.Join(lines, nil)
	g.content[f] = b
	return b
}

func (g *gen) line() []byte {
	var sb strings.Builder
	n := 3 + g.rng.IntN(12)
	for i := range n {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(words[g.rng.IntN(len(words))])
		if g.rng.IntN(5) == 0 {
			fmt.Fprintf(&sb, "_%d", g.rng.IntN(100000))
		}
	}
	sb.WriteByte('\n')
	return []byte(sb.String())
}

func (g *gen) key() (string, string) {
	g.nkey++
	k := testkeys.LongTerm(fmt.Sprintf("BedrockAPIKey-g%05d", g.nkey), "123456789012", testkeys.Secret(900000+uint64(g.nkey)))
	return k, findings.Fingerprint(detectors.RuleLongTerm, k)
}

func boolp(b bool) *bool { return &b }

// plant adds one key at place and returns main's new tip.
func (g *gen) plant(place string, main int) int {
	k, fp := g.key()
	t := Truth{Fingerprint: fp, Rule: detectors.RuleLongTerm, Place: place}
	n := g.nkey
	switch place {
	case "deleted":
		p := fmt.Sprintf("config/secrets_%d.env", n)
		main = g.commit("refs/heads/main", "add local settings", []int{main}, map[string][]byte{p: []byte("AWS_REGION=us-east-1\nAWS_BEARER_TOKEN_BEDROCK=" + k + "\n")}, nil)
		t.mark, t.Path, t.InHead = main, p, boolp(false)
		main = g.commit("refs/heads/main", "remove local settings", []int{main}, nil, []string{p})
	case "head":
		p := fmt.Sprintf("deploy/app_%d.yaml", n)
		main = g.commit("refs/heads/main", "deploy config", []int{main}, map[string][]byte{p: []byte("env:\n  - name: AWS_BEARER_TOKEN_BEDROCK\n    value: \"" + k + "\"\n")}, nil)
		t.mark, t.Path, t.InHead = main, p, boolp(true)
	case "branch", "tag":
		ref := fmt.Sprintf("refs/heads/wip-%d", n)
		if place == "tag" {
			ref = fmt.Sprintf("refs/tags/only-tag-%d", n)
		}
		p := fmt.Sprintf("scratch/try_%d.py", n)
		side := g.commit(ref, "experiment", []int{main}, map[string][]byte{p: []byte("client = Bedrock(api_key=\"" + k + "\")\n")}, nil)
		t.mark, t.Path, t.InHead = side, p, boolp(false)
	case "message":
		main = g.commit("refs/heads/main", "debug: token was "+k+"\n\nreverted later", []int{main}, map[string][]byte{g.files[0]: g.edit(g.files[0])}, nil)
		t.mark, t.Kind = main, "commit-message"
	case "merge":
		ref := fmt.Sprintf("refs/heads/topic-%d", n)
		side := g.commit(ref, "topic work", []int{main}, map[string][]byte{g.files[1]: g.edit(g.files[1])}, nil)
		p := fmt.Sprintf("src/merged_%d.go", n)
		main = g.commit("refs/heads/main", "Merge branch topic", []int{main, side}, map[string][]byte{p: []byte("package main\n\nconst key = \"" + k + "\"\n")}, nil)
		t.mark, t.Path, t.InHead = main, p, boolp(true)
		// The topic branch is merged: delete its ref (a reset to nothing
		// is not possible in fast-import; it stays, which is harmless).
	}
	g.truth = append(g.truth, t)
	return main
}

// commit writes a commit to ref with parents (marks; 0 = none) and the
// given file contents and deletions, and returns its mark.
func (g *gen) commit(ref, msg string, parents []int, files map[string][]byte, del []string) int {
	g.mark++
	g.tick++
	when := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).Unix() + g.tick*600
	w := g.w
	fmt.Fprintf(w, "commit %s\nmark :%d\n", ref, g.mark)
	fmt.Fprintf(w, "author Gen Author <gen@example.com> %d +0000\n", when)
	fmt.Fprintf(w, "committer Gen Committer <gen@example.com> %d +0000\n", when)
	fmt.Fprintf(w, "data %d\n%s\n", len(msg), msg)
	first := true
	for _, p := range parents {
		if p == 0 {
			continue
		}
		if first {
			fmt.Fprintf(w, "from :%d\n", p)
			first = false
		} else {
			fmt.Fprintf(w, "merge :%d\n", p)
		}
	}
	// Sorted for a deterministic stream.
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sortStrings(paths)
	for _, p := range paths {
		fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n", p, len(files[p]))
		w.Write(files[p])
		w.WriteByte('\n')
	}
	for _, p := range del {
		fmt.Fprintf(w, "D %s\n", p)
	}
	w.WriteByte('\n')
	return g.mark
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func readMarks(path string) (map[int]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gitrepo: read marks: %w", err)
	}
	out := map[int]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m int
		var id string
		if _, err := fmt.Sscanf(line, ":%d %s", &m, &id); err != nil {
			return nil, fmt.Errorf("gitrepo: marks line %q: %w", line, err)
		}
		out[m] = id
	}
	return out, nil
}

func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Gen", "GIT_AUTHOR_EMAIL=gen@example.com", "GIT_COMMITTER_NAME=Gen", "GIT_COMMITTER_EMAIL=gen@example.com")
}

func git(dir string, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = gitEnv()
	cmd.Stdin = stdin
	return cmd.CombinedOutput()
}

// WriteTruth writes the ground truth as JSON Lines.
func WriteTruth(w io.Writer, truth []Truth) error {
	enc := json.NewEncoder(w)
	for _, t := range truth {
		if err := enc.Encode(t); err != nil {
			return err
		}
	}
	return nil
}

// ReadTruth reads WriteTruth's output.
func ReadTruth(r io.Reader) ([]Truth, error) {
	var out []Truth
	dec := json.NewDecoder(r)
	for {
		var t Truth
		if err := dec.Decode(&t); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("gitrepo: ground truth: %w", err)
		}
		out = append(out, t)
	}
}

// Verify checks findings (bks --format jsonl) against the truth: every
// planted key reported at its commit, path, kind and in_head, and no other
// key. It returns the problems found (none: all good).
func Verify(truth []Truth, found []findings.Finding) []string {
	var problems []string
	byFP := map[string][]findings.Finding{}
	for _, f := range found {
		byFP[f.Fingerprint] = append(byFP[f.Fingerprint], f)
	}
	want := map[string]bool{}
	for _, t := range truth {
		want[t.Fingerprint] = true
		fs := byFP[t.Fingerprint]
		if len(fs) == 0 {
			problems = append(problems, fmt.Sprintf("missing: %s key (commit %.12s path %q)", t.Place, t.Commit, t.Path))
			continue
		}
		ok := false
		for _, f := range fs {
			if f.Commit == t.Commit && f.Path == t.Path && f.Kind == t.Kind && inHeadEq(f.InHead, t.InHead) {
				ok = true
			}
		}
		if !ok {
			f := fs[0]
			problems = append(problems, fmt.Sprintf("wrong place: %s key at commit %.12s path %q kind %q in_head %v; want %.12s %q %q %v",
				t.Place, f.Commit, f.Path, f.Kind, deref(f.InHead), t.Commit, t.Path, t.Kind, deref(t.InHead)))
		}
	}
	for fp, fs := range byFP {
		if !want[fp] {
			problems = append(problems, fmt.Sprintf("unexpected: key at commit %.12s path %q", fs[0].Commit, fs[0].Path))
		}
	}
	return problems
}

func inHeadEq(a, b *bool) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func deref(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}
