package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
)

// commandGroups lists the path (without "bks") of every command of the
// tree that has subcommands, the root ("") and cobra's completion included.
func commandGroups() map[string]*cobra.Command {
	out := map[string]*cobra.Command{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() {
			out[strings.TrimSpace(strings.TrimPrefix(c.CommandPath(), "bks"))] = c
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root := NewRoot(context.Background(), cmdutil.New(&IO{}))
	root.InitDefaultCompletionCmd() // what Execute adds, if NewRoot did not
	walk(root)
	return out
}

// TestCommandGroupsRequireASubcommand walks every command group: a missing
// or unknown subcommand exits 2 and says so, a near miss gets a "did you
// mean", and --help still exits 0. Cobra printed help and exited 0, so a
// CI step written `bks detect .` always passed.
func TestCommandGroupsRequireASubcommand(t *testing.T) {
	groups := commandGroups()
	for _, want := range []string{"", "detect", "config", "scp", "completion"} {
		if groups[want] == nil {
			t.Fatalf("no group %q in the tree: %v", want, groups)
		}
	}
	for path, g := range groups {
		prefix := strings.Fields(path)
		t.Run("bks_"+strings.ReplaceAll(path, " ", "_"), func(t *testing.T) {
			if g.Annotations[runsAlone] != "" {
				// runs without a subcommand: its own tests cover that
			} else if code, _, errOut := runCLI(t, "", prefix...); code != ExitFailure || !strings.Contains(errOut, "needs a subcommand") {
				t.Errorf("bks %s: exit %d, stderr %q; want %d and \"needs a subcommand\"", path, code, errOut, ExitFailure)
			}
			args := append(append([]string{}, prefix...), "nosuch")
			if code, _, errOut := runCLI(t, "", args...); code != ExitFailure || !strings.Contains(errOut, `unknown command "nosuch"`) {
				t.Errorf("bks %s nosuch: exit %d, stderr %q; want %d and unknown command", path, code, errOut, ExitFailure)
			}
			name := subcommandNames(g)[0]
			near := name[:len(name)-1] // a prefix is always suggested
			args = append(append([]string{}, prefix...), near)
			if code, _, errOut := runCLI(t, "", args...); code != ExitFailure || !strings.Contains(errOut, "did you mean") || !strings.Contains(errOut, name) {
				t.Errorf("bks %s %s: exit %d, stderr %q; want %d and did you mean %s", path, near, code, errOut, ExitFailure, name)
			}
			args = append(append([]string{}, prefix...), "--help")
			if code, out, _ := runCLI(t, "", args...); code != ExitOK || !strings.Contains(out, "Usage:") {
				t.Errorf("bks %s --help: exit %d; want 0 and the help", path, code)
			}
		})
	}
}

// TestDetectWithoutSource is the repros: `bks detect .` (a path
// where a source belongs) and `bks detect flies .` (a typo) exit 2 and say
// what to run instead.
func TestDetectWithoutSource(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"detect", "."}, "run: bks detect files ."},
		{[]string{"detect", "--format", "json", ".", "sub"}, "run: bks detect files . sub"},
		{[]string{"detect", "flies", "."}, "did you mean files?"},
		{[]string{"config", "nosuch"}, `unknown command "nosuch" for "bks config"`},
		{[]string{"scp", "nosuch"}, `unknown command "nosuch" for "bks scp"`},
	} {
		code, out, errOut := runCLI(t, "", tc.args...)
		if code != ExitFailure || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("bks %s: exit %d, %d bytes on stdout, stderr %q; want %d and %q", strings.Join(tc.args, " "), code, len(out), errOut, ExitFailure, tc.want)
		}
	}
}

// `bks help TOPIC` with a TOPIC that names no command exits 2, like a
// mistyped subcommand; a known topic still prints its help and exits 0.
func TestHelpUnknownTopic(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"help", "nosuch"}, ExitFailure, `unknown help topic "nosuch"`},
		{[]string{"help", "detecct"}, ExitFailure, "did you mean detect?"},
		{[]string{"help", "detect", "flies"}, ExitFailure, "did you mean files?"},
		{[]string{"help", "detect", "files"}, ExitOK, "Scan files and directories"},
		{[]string{"help"}, ExitOK, "Available Commands"},
	} {
		code, out, errOut := runCLI(t, "", tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("bks %s: exit %d (want %d), output lacks %q:\n%s%s", strings.Join(tc.args, " "), code, tc.code, tc.want, out, errOut)
		}
	}
}
