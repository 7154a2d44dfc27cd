package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
	gitsrc "github.com/bks-dev/bks/sources/git"
)

// hookMarker identifies a hook bks wrote, which it may replace or remove.
const hookMarker = "# installed by bks hook install"

type hookOptions struct {
	Repo   string
	Force  bool
	Binary string // the bks path written into the hook when bks is not on PATH
}

func newCmdHook(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hook",
		Short: "Install a plain git pre-commit hook (for users without the pre-commit framework)",
		Long: `Install or remove a .git/hooks/pre-commit that runs "bks detect staged" and
refuses a commit that adds a Bedrock API key. pre-commit framework users add
bks to .pre-commit-config.yaml instead (see docs).`,
	}
	cmd.AddCommand(newCmdHookInstall(f), newCmdHookUninstall(f))
	return cmd
}

func newCmdHookInstall(f *cmdutil.Factory) *cobra.Command {
	opts := &hookOptions{}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Write the pre-commit hook (refuses to replace another hook without --force)",
		Example: `  bks hook install
  bks hook install --force   # replace an existing hook, kept as pre-commit.bks-backup`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return hookInstallRun(cmd.Context(), f.IO, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Repo, "repo", "C", ".", "the repository to install the hook in")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace a pre-commit hook bks did not write (the old one is kept as pre-commit.bks-backup)")
	return cmd
}

func newCmdHookUninstall(f *cmdutil.Factory) *cobra.Command {
	opts := &hookOptions{}
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the pre-commit hook bks wrote (never another one)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return hookUninstallRun(cmd.Context(), f.IO, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Repo, "repo", "C", ".", "the repository to remove the hook from")
	return cmd
}

// hookPath returns where git looks for the pre-commit hook, honouring
// core.hooksPath and linked worktrees.
func hookPath(ctx context.Context, repo string) (string, error) {
	if _, err := exec.LookPath("git"); err == nil {
		cmd := exec.CommandContext(ctx, "git", "-C", repo, "rev-parse", "--path-format=absolute", "--git-path", "hooks/pre-commit")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("find the hooks directory of %s: %w: %s", repo, err, strings.TrimSpace(stderr.String()))
		}
		return strings.TrimSpace(string(out)), nil
	}
	r, closeRepo, err := gitsrc.Open(repo)
	if err != nil {
		return "", err
	}
	defer closeRepo()
	cfg, err := r.Config()
	if err == nil && cfg.Raw.Section("core").Option("hooksPath") != "" {
		hp := cfg.Raw.Section("core").Option("hooksPath")
		if !filepath.IsAbs(hp) {
			wt, err := r.Worktree()
			if err != nil {
				return "", fmt.Errorf("core.hooksPath: %w", err)
			}
			hp = filepath.Join(wt.Filesystem.Root(), hp)
		}
		return filepath.Join(hp, "pre-commit"), nil
	}
	wt, err := r.Worktree()
	if err != nil {
		return "", fmt.Errorf("hooks of %s: %w", repo, err)
	}
	return filepath.Join(wt.Filesystem.Root(), ".git", "hooks", "pre-commit"), nil
}

func hookScript(binary string) string {
	return `#!/bin/sh
` + hookMarker + `: refuses a commit that adds an AWS Bedrock API key.
# Skip it once with: git commit --no-verify
bks=$(command -v bks 2>/dev/null) || bks=` + shellQuote(binary) + `
exec "$bks" detect staged
`
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func hookInstallRun(ctx context.Context, sio *IO, opts *hookOptions) error {
	path, err := hookPath(ctx, opts.Repo)
	if err != nil {
		return err
	}
	bin := opts.Binary
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			bin = "bks"
		}
	}
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("read %s: %w", path, err)
	case bytes.Contains(old, []byte(hookMarker)):
		// Ours: replace it.
	case !opts.Force:
		return fmt.Errorf("%s exists and was not written by bks: not replaced (--force replaces it and keeps it as pre-commit.bks-backup; pre-commit framework users add bks to .pre-commit-config.yaml instead)", path)
	default:
		backup := path + ".bks-backup"
		if err := os.WriteFile(backup, old, 0o755); err != nil {
			return fmt.Errorf("back up %s: %w", path, err)
		}
		fmt.Fprintf(sio.Err, "bks: the previous hook is kept as %s\n", backup)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create hooks directory: %w", err)
	}
	tmp := path + ".bks-tmp"
	if err := os.WriteFile(tmp, []byte(hookScript(bin)), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("install %s: %w", path, err)
	}
	fmt.Fprintf(sio.Err, "bks: installed %s\n", path)
	return nil
}

func hookUninstallRun(ctx context.Context, sio *IO, opts *hookOptions) error {
	path, err := hookPath(ctx, opts.Repo)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(sio.Err, "bks: no pre-commit hook in %s\n", filepath.Dir(path))
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if !bytes.Contains(old, []byte(hookMarker)) {
		return fmt.Errorf("%s was not written by bks: left alone", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	backup := path + ".bks-backup"
	if _, err := os.Stat(backup); err == nil {
		if err := os.Rename(backup, path); err != nil {
			return fmt.Errorf("restore %s: %w", backup, err)
		}
		fmt.Fprintf(sio.Err, "bks: removed the bks hook and restored the previous one from %s\n", backup)
		return nil
	}
	fmt.Fprintf(sio.Err, "bks: removed %s\n", path)
	return nil
}
