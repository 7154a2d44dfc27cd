package githubfake

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/bks-dev/bks/internal/gitserve"
)

// GenOptions shape a generated repository for benchmarks.
type GenOptions struct {
	Seed    uint64
	Files   int // files in the first commit
	Commits int // commits after the first
	// FileSize is the mean size of a file in bytes.
	FileSize int
	// Plant, when not empty, is written into one file in the middle of
	// the history and removed two commits later.
	Plant string
}

var words = strings.Fields(`func return if else for range var const type struct interface map
string int error nil err ctx context package import defer go chan select case switch default
true false len append make new copy delete close panic recover fmt Println Errorf Sprintf json
Marshal Unmarshal http Request Response Handler Server client config options value key name path
file read write open buffer bytes strings sort sync mutex lock unlock wait group time duration
user account region service endpoint token session request handler logger metrics cache store`)

// GenRepo writes a bare repository of realistic shape at dir: source-like
// text files, a history of commits each changing a few files (so the pack
// holds deltas, as real histories do), deterministic for a seed.
func GenRepo(dir string, o GenOptions) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("gen repo %s: %w", dir, err)
	}
	if out, err := exec.Command("git", "init", "-q", "--bare", "--initial-branch=main", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("gen repo %s: git init: %w: %s", dir, err, out)
	}
	cmd := exec.Command("git", "--git-dir", dir, "fast-import", "--quiet")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("gen repo %s: %w", dir, err)
	}
	w := bufio.NewWriterSize(stdin, 1<<20)
	werr := genStream(w, o)
	if werr == nil {
		werr = w.Flush()
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("gen repo %s: fast-import: %w: %s", dir, err, stderr.String())
	}
	return werr
}

func genStream(w io.Writer, o GenOptions) error {
	r := rand.New(rand.NewPCG(o.Seed, o.Seed*7+1))
	line := func() string {
		n := 3 + r.IntN(9)
		var sb strings.Builder
		sb.WriteString(strings.Repeat("\t", r.IntN(4)))
		for i := range n {
			if i > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(words[r.IntN(len(words))])
			if r.IntN(6) == 0 {
				fmt.Fprintf(&sb, "%d", r.IntN(100000))
			}
		}
		sb.WriteByte('\n')
		return sb.String()
	}
	content := func(size int) []string {
		var ls []string
		for n := 0; n < size; {
			l := line()
			ls = append(ls, l)
			n += len(l)
		}
		return ls
	}
	files := map[string][]string{}
	var names []string
	dirs := []string{"cmd", "internal/api", "internal/store", "pkg/util", "docs", "web/src", "scripts", "config"}
	exts := []string{".go", ".py", ".ts", ".md", ".yaml", ".sh", ".json"}
	newName := func(i int) string {
		return fmt.Sprintf("%s/file%04d%s", dirs[r.IntN(len(dirs))], i, exts[r.IntN(len(exts))])
	}
	size := func() int { return max(200, int(r.ExpFloat64()*float64(o.FileSize))) }
	for i := range o.Files {
		n := newName(i)
		files[n] = content(size())
		names = append(names, n)
	}
	when := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	plantAt := -1
	if o.Plant != "" {
		plantAt = o.Commits / 2
	}
	planted := ""
	for c := 0; c <= o.Commits; c++ {
		changed := map[string]bool{}
		if c == 0 {
			for _, n := range names {
				changed[n] = true
			}
		} else {
			for range 1 + r.IntN(4) {
				n := names[r.IntN(len(names))]
				ls := files[n]
				// Edit a few lines, insert a few.
				for range 1 + r.IntN(5) {
					if len(ls) > 0 {
						ls[r.IntN(len(ls))] = line()
					}
				}
				at := r.IntN(len(ls) + 1)
				ins := content(100 + r.IntN(800))
				ls = append(ls[:at], append(ins, ls[at:]...)...)
				files[n] = ls
				changed[n] = true
			}
			if r.IntN(5) == 0 {
				n := newName(len(names))
				files[n] = content(size())
				names = append(names, n)
				changed[n] = true
			}
		}
		deleted := ""
		if c == plantAt {
			planted = PlantedPath
			files[planted] = []string{"AWS_REGION=us-east-1\n", "AWS_BEARER_TOKEN_BEDROCK=" + o.Plant + "\n"} // line PlantedLine
			changed[planted] = true
		} else if planted != "" && c == plantAt+2 {
			delete(files, planted)
			deleted = planted
		}
		msg := fmt.Sprintf("change %d: %s", c, strings.TrimSpace(line()))
		fmt.Fprintf(w, "commit refs/heads/main\nmark :%d\n", c+1)
		fmt.Fprintf(w, "author Dev <dev@example.com> %d +0000\ncommitter Dev <dev@example.com> %d +0000\n", when, when)
		fmt.Fprintf(w, "data %d\n%s\n", len(msg), msg)
		if c > 0 {
			fmt.Fprintf(w, "from :%d\n", c)
		}
		if deleted != "" {
			fmt.Fprintf(w, "D %s\n", deleted)
		}
		for n := range changed {
			body := strings.Join(files[n], "")
			fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", n, len(body), body)
		}
		if _, err := fmt.Fprintln(w); err != nil {
			return err
		}
		when += 3600 + int64(r.IntN(86400))
	}
	return nil
}

// PlantedPath and PlantedLine are where GenRepo plants its key (Plant).
const (
	PlantedPath = "config/prod.env"
	PlantedLine = 2
)

// AddDir registers every bare repository directly under dir (NAME.git) as
// a repository of owner.
func (s *Server) AddDir(owner, dir string) (int, error) {
	names, err := gitserve.BareRepos(dir)
	if err != nil {
		return 0, fmt.Errorf("githubfake: %w", err)
	}
	for _, name := range names {
		s.Add(&Repo{Owner: owner, Name: name, Dir: filepath.Join(dir, name+".git")})
	}
	return len(names), nil
}
