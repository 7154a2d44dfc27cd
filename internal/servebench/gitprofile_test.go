package servebench

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The shim runs the real git (its output and exit status pass through)
// and records each run under its subcommand, past -C and -c options.
func TestGitProfileShim(t *testing.T) {
	dir := t.TempDir()
	prof, env, err := newGitProfile(dir)
	if err != nil {
		t.Skip("no git or bash:", err)
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Path = prof.bin + "/git" // the shim, as bks finds it first on PATH
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("-c", "init.defaultBranch=main", "init", "-q", dir+"/repo"); err != nil {
		t.Fatalf("git init through the shim: %v %s", err, out)
	}
	if out, err := run("-C", dir+"/repo", "rev-parse", "--git-dir"); err != nil || strings.TrimSpace(out) != ".git" {
		t.Fatalf("rev-parse through the shim: %q %v", out, err)
	}
	if _, err := run("-C", dir+"/repo", "rev-parse", "--verify", "no-such-ref"); err == nil {
		t.Error("a failing git exits 0 through the shim")
	}
	costs, err := prof.take()
	if err != nil {
		t.Fatal(err)
	}
	if costs["init"].runs != 1 || costs["rev-parse"].runs != 2 || len(costs) != 2 {
		t.Errorf("profile %+v, want init once and rev-parse twice", costs)
	}
	if again, _ := prof.take(); len(again) != 0 {
		t.Errorf("a second take counts again: %+v", again)
	}
	if d := bashTime("1m2.500s"); d != time.Minute+2500*time.Millisecond {
		t.Errorf("bashTime: %v", d)
	}
}
