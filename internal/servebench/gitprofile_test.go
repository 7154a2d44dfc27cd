package servebench

import (
	"os"
	"os/exec"
	"path/filepath"
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
	if out, err := run("--version"); err != nil || !strings.HasPrefix(out, "git version") {
		t.Fatalf("git --version through the shim: %q %v", out, err)
	}
	// A record the shim is still writing is not taken (nor lost): it
	// counts at the take after it is complete.
	partial := filepath.Join(prof.logs, ".1-2.tmp")
	if err := os.WriteFile(partial, []byte("fetch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	costs, err := prof.take()
	if err != nil {
		t.Fatal(err)
	}
	if costs["init"].runs != 1 || costs["rev-parse"].runs != 2 || costs[noSubcommand].runs != 1 || len(costs) != 3 {
		t.Errorf("profile %+v, want init once, rev-parse twice and %s (git --version) once", costs, noSubcommand)
	}
	if err := os.WriteFile(partial, []byte("fetch\n0m0.001s 0m0.002s\n0m0.010s 0m0.020s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(partial, filepath.Join(prof.logs, "1-2")); err != nil {
		t.Fatal(err)
	}
	if later, err := prof.take(); err != nil || later["fetch"].runs != 1 || later["fetch"].cpu != 30*time.Millisecond || len(later) != 1 {
		t.Errorf("the record completed after a take: %+v %v, want fetch once, 30 ms", later, err)
	}
	if again, _ := prof.take(); len(again) != 0 {
		t.Errorf("a second take counts again: %+v", again)
	}
	if d := bashTime("1m2.500s"); d != time.Minute+2500*time.Millisecond {
		t.Errorf("bashTime: %v", d)
	}
}
