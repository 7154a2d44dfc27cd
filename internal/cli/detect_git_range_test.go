package cli

import (
	"strings"
	"testing"
)

// TestDetectGitRangeRefused: ranges bks cannot honour exit 2 and say why,
// before anything is scanned. Before: an empty --range and --range ..HEAD scanned
// the whole history (exit 1 here), and a..b..c showed go-git's error.
func TestDetectGitRangeRefused(t *testing.T) {
	r := newGitRepo(t)
	r.Write("app/.env", "AWS_BEARER_TOKEN_BEDROCK="+gitKey(1)+"\n")
	r.Commit("leak")
	r.Write("README", "hi\n")
	r.Commit("readme")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--range", ""}, `--range "": empty; want BASE..HEAD`},
		{[]string{"--range="}, `--range "": empty; want BASE..HEAD`},
		{[]string{"--branch", ""}, `--branch "": empty`},
		{[]string{"--range", "..HEAD"}, `--range "..HEAD": no BASE before ".."`},
		{[]string{"--range", "HEAD~1..HEAD..main"}, `--range "HEAD~1..HEAD..main": more than one ".."`},
	} {
		args := append(append([]string{"detect", "git"}, tc.args...), r.Dir)
		code, out, errOut := runCLI(t, "", args...)
		if code != ExitFailure || out != "" || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("bks %s: exit %d, stdout %q, stderr %q; want %d and one line with %q", strings.Join(args, " "), code, out, errOut, ExitFailure, tc.want)
		}
	}
	if code, _, errOut := runCLI(t, "", "detect", "git", "--range", "HEAD~1..", r.Dir); code != ExitOK {
		t.Errorf("--range HEAD~1.. (BASE..HEAD): exit %d, stderr %q", code, errOut)
	}
}
