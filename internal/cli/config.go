package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/rules"
)

func newCmdConfig(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write or validate the configuration file (.bks.toml)",
		Long: `bks reads its configuration from --config FILE, else $BKS_CONFIG, else
.bks.toml at the root of what it scans. It holds your own rules, allowlists
and the built-in rules you turned off (docs/CONFIG.md).`,
	}
	cmd.AddCommand(newCmdConfigInit(f), newCmdConfigCheck(f))
	return cmd
}

type configInitOptions struct {
	Path  string
	Force bool
}

func newCmdConfigInit(f *cmdutil.Factory) *cobra.Command {
	opts := &configInitOptions{}
	cmd := &cobra.Command{
		Use:   "init [FILE]",
		Short: "Write a commented default configuration (.bks.toml)",
		Long: `Write a commented default configuration to FILE (default .bks.toml; "-"
for standard output). Everything in it is commented out: bks needs no
configuration. An existing file is kept unless --force.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Path = rules.FileName
			if len(args) == 1 {
				opts.Path = args[0]
			}
			return configInitRun(f.IO, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "overwrite an existing file")
	return cmd
}

func configInitRun(sio *IO, opts *configInitOptions) error {
	tmpl := rules.InitTemplate()
	if opts.Path == "-" {
		_, err := sio.Out.Write(tmpl)
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if opts.Force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(opts.Path, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists; --force to overwrite it", opts.Path)
	}
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if _, err := f.Write(tmpl); err != nil {
		f.Close()
		return fmt.Errorf("write config: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	fmt.Fprintf(sio.Err, "wrote %s; check it with `bks config check`\n", opts.Path)
	return nil
}

func newCmdConfigCheck(f *cmdutil.Factory) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate a configuration file and run its rules' examples",
		Long: `Validate FILE (default: --config, $BKS_CONFIG or ./.bks.toml): every unknown
key, wrongly typed value, bad regex or glob is reported with its line. The
examples of the file's rules are run too (as ` + "`bks rules test`" + `).
Exit 0 when valid, 2 otherwise.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				path = args[0]
			}
			return configCheckRun(f.IO, path)
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "configuration file to check")
	return cmd
}

// loadConfig loads the file at path, or discovers one for a scan of "."
// (BKS_CONFIG, ./.bks.toml) when path is empty. It returns the file used
// ("" for the built-in rules alone).
func loadConfig(sio *IO, path string) (*rules.Config, string, error) {
	if path != "" {
		cfg, err := rules.Load(path)
		return cfg, path, err
	}
	return rules.Discover(".", sio.Getenv)
}

// printConfigErrors prints each problem of a configuration on its own line
// and returns the error a command exits with.
func printConfigErrors(sio *IO, err error) error {
	problems := configProblems(err)
	for _, p := range problems {
		fmt.Fprintln(sio.Err, p)
	}
	return fmt.Errorf("invalid configuration: %d problem(s)", len(problems))
}

// configProblems flattens joined configuration errors into one message
// each ("file:line: key: problem").
func configProblems(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		out = append(out, e.Error())
	}
	walk(err)
	return out
}

func configCheckRun(sio *IO, path string) error {
	cfg, used, err := loadConfig(sio, path)
	if err != nil {
		return printConfigErrors(sio, err)
	}
	if used == "" {
		fmt.Fprintf(sio.Out, "no %s here and no $%s: built-in rules only\n", rules.FileName, rules.EnvConfig)
		return nil
	}
	if len(cfg.Warnings) > 0 {
		// Loading goes on with a warning; a check refuses them.
		for _, w := range cfg.Warnings {
			fmt.Fprintln(sio.Err, w)
		}
		return fmt.Errorf("invalid configuration: %d problem(s)", len(cfg.Warnings))
	}
	own, failed := 0, 0
	for _, r := range cfg.Rules {
		if r.Builtin {
			continue
		}
		own++
		for _, res := range r.TestExamples() {
			if !res.Pass {
				failed++
				fmt.Fprintln(sio.Err, res)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%s: %d rule example(s) failed", used, failed)
	}
	fmt.Fprintf(sio.Out, "%s: ok (%d rule(s) of its own, %d allowlist(s), %d built-in rule(s) disabled)\n",
		used, own, len(cfg.Allowlists), len(cfg.Disabled))
	return nil
}
