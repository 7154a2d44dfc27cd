package servebench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/serve"
)

// Secret is the webhook secret of the benchmark's deliveries.
const Secret = "bench-serve-secret"

// bks is the running `bks serve`.
type bks struct {
	cmd  *exec.Cmd
	addr string
	logs *os.File
}

// startBKS runs bin serve on a free port with db, against the fakes, and
// waits for its "serving" log line. Its logs go to dir/bks.log.
func startBKS(bin, dir, db string, f *fixture, extra, env []string) (*bks, error) {
	cfg := filepath.Join(dir, "bks.toml")
	if err := writeConfig(cfg); err != nil {
		return nil, err
	}
	logs, err := os.Create(filepath.Join(dir, "bks.log"))
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--db", db,
		"--repo-cache", filepath.Join(dir, "cache"), "--git-url", f.gh.URL + "/git/", "--api-url", f.gh.APIURL(),
		"--config", cfg, "--endpoint-url", f.aws.URL, "--audit-log", filepath.Join(dir, "audit.jsonl")}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "BKS_WEBHOOK_SECRET="+Secret, "GITHUB_TOKEN="+Token, "HOME="+dir,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ACCESS_KEY_ID="+awsemu.CallerAccessKeyID, "AWS_SECRET_ACCESS_KEY=emulator-secret")
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &bks{cmd: cmd, logs: logs}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stderr, logs))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving" {
				addr <- line.Addr
			}
		}
		io.Copy(io.Discard, stderr) //nolint:errcheck // drain
	}()
	select {
	case b.addr = <-addr:
		return b, nil
	case <-time.After(60 * time.Second):
		b.stop()
		return nil, fmt.Errorf("bks serve did not start; see %s", logs.Name())
	}
}

// post delivers one push and returns the status, Retry-After (for a 503:
// with the reason that follows it in the body, "queue full" or "cannot
// store the delivery now") and how long the answer took.
func (b *bks) post(id string, p push) (int, string, time.Duration, error) {
	body, _ := json.Marshal(map[string]any{"ref": "refs/heads/main", "before": p.before, "after": p.after,
		"commits":    []map[string]string{{"id": p.after}},
		"repository": map[string]string{"full_name": p.repo, "default_branch": "main"}})
	req, _ := http.NewRequest(http.MethodPost, "http://"+b.addr+"/webhook/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", serve.Sign([]byte(Secret), body))
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", time.Since(start), err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	resp.Body.Close()
	retry := resp.Header.Get("Retry-After")
	if resp.StatusCode == http.StatusServiceUnavailable && retry != "" {
		retry += " " + strings.TrimSpace(string(msg))
	}
	return resp.StatusCode, retry, time.Since(start), nil
}

// cpuUse is the CPU time (user+system) of the bks process: its own (the
// HTTP server, the workers, the scans, SQLite's queries; not PostgreSQL's
// server) and its children's (the git processes it ran and waited for,
// with theirs: fetch's remote helper, index-pack…).
type cpuUse struct{ own, children time.Duration }

func (c cpuUse) total() time.Duration { return c.own + c.children }

func (c cpuUse) sub(d cpuUse) cpuUse { return cpuUse{c.own - d.own, c.children - d.children} }

// usage is the process's peak RSS and CPU time so far.
func (b *bks) usage() (peakKiB int64, cpu cpuUse) {
	pid := strconv.Itoa(b.cmd.Process.Pid)
	if st, err := os.ReadFile("/proc/" + pid + "/status"); err == nil {
		for _, l := range strings.Split(string(st), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				peakKiB, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			}
		}
	}
	return peakKiB, b.cpu()
}

// cpu reads the process's CPU times from /proc/PID/stat (proc(5)): after
// the command name (which ends at the last ')'), utime and stime are the
// 12th and 13th fields, cutime and cstime (children waited for) the 14th
// and 15th, in clock ticks (USER_HZ, 100 on Linux).
func (b *bks) cpu() cpuUse {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(b.cmd.Process.Pid) + "/stat")
	if err != nil {
		return cpuUse{}
	}
	s := string(st)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ticks := func(i int) time.Duration {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		return time.Duration(n) * time.Second / 100
	}
	return cpuUse{own: ticks(11) + ticks(12), children: ticks(13) + ticks(14)}
}

// stop sends SIGTERM and waits (SIGKILL after 30 s).
func (b *bks) stop() {
	b.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may be gone
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }() //nolint:errcheck // the exit is not the measure
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		b.cmd.Process.Kill() //nolint:errcheck // last resort
		<-done
	}
	b.logs.Close()
}
