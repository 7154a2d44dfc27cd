package cli

import (
	"context"
	"fmt"

	"github.com/bks-dev/bks/report"
	"github.com/bks-dev/bks/rules"
	gitsrc "github.com/bks-dev/bks/sources/git"
)

// configScope is what the scanned target says about the configuration of
// a detect run: where its .bks.toml is (the scanned tree's, never the
// current directory's), what its allowlist paths are relative to, and, for
// `detect git --range`, the trusted (base) configuration and baseline.
type configScope struct {
	// none: the target has no tree of its own (a bare repository, a URL),
	// so no .bks.toml is looked for: only --config and $BKS_CONFIG.
	none bool
	// pathRoot is the directory the findings' relative paths are relative
	// to: the current directory for files, the working tree for git; ""
	// leaves them as they are.
	pathRoot string
	// trustHead is --trust-head-config.
	trustHead bool

	// loaded: cfg, cfgPath and baseline were resolved by the subcommand
	// (detect git --range reads them at the base commit).
	loaded   bool
	cfg      *rules.Config
	cfgPath  string
	baseline *rules.Baseline
	// pending are notes loadConfig says after naming the config.
	pending []configNote

	// notes are what the run says about its configuration, on stderr as
	// they come and in SARIF's invocation.
	notes []configNote
	// widened is set when the head of a range widens what is suppressed
	// and is not trusted: the run fails (exit as when keys are found).
	widened bool
}

// configNote is one line about the configuration; level is SARIF's
// (note, warning, error).
type configNote struct {
	level, text string
}

// loadConfig sets o.cfg and o.filter: the configuration the subcommand
// resolved, else --config, $BKS_CONFIG, or the scanned tree's .bks.toml.
func (o *detectOptions) loadConfig() error {
	sc := &o.scope
	if !sc.loaded {
		cfg, path, err := o.findConfig()
		if err != nil {
			return configError(err)
		}
		var base *rules.Baseline
		if o.Baseline != "" {
			if base, err = rules.LoadBaseline(o.Baseline); err != nil {
				return err
			}
		}
		sc.cfg, sc.cfgPath, sc.baseline = cfg, path, base
	}
	o.cfg = sc.cfg
	if sc.cfgPath != "" {
		o.noteConfig("note", "config: "+sc.cfgPath)
	}
	for _, n := range sc.pending {
		o.noteConfig(n.level, n.text)
	}
	for _, w := range o.cfg.Warnings {
		o.noteConfig("warning", w)
	}
	o.filter = rules.NewFilter(o.cfg, sc.baseline).RelativeTo(sc.pathRoot)
	return nil
}

// findConfig is --config, else $BKS_CONFIG, else .bks.toml at the root of
// the scanned tree (none for a target without one), else the built-in
// rules (path "").
func (o *detectOptions) findConfig() (*rules.Config, string, error) {
	if o.Config != "" {
		cfg, err := rules.Load(o.Config)
		return cfg, o.Config, err
	}
	if o.scope.none {
		cfg, path, err := rules.FromEnv(o.factory.IO.Env)
		if cfg == nil && err == nil {
			cfg = rules.Default()
		}
		return cfg, path, err
	}
	root := o.configRoot
	if root == "" {
		root = "."
	}
	return rules.Discover(root, o.factory.IO.Env)
}

// noteConfig prints a line about the configuration on stderr ("bks:
// config: …", "bks: warning: …") and keeps it for the report.
func (o *detectOptions) noteConfig(level, text string) {
	o.scope.notes = append(o.scope.notes, configNote{level, text})
	lead := "bks: "
	switch level {
	case "warning":
		lead = "bks: warning: "
	case "error":
		lead = "bks: error: "
	}
	fmt.Fprintf(o.factory.IO.Err, "%s%s\n", lead, text)
}

// reportConfig passes the configuration notes to rep (SARIF's invocation).
func (o *detectOptions) reportConfig(rep report.Reporter) {
	for _, n := range o.scope.notes {
		report.ConfigNote(rep, n.level, n.text)
	}
}

// scopeRepo points the configuration at the repository at path: the
// .bks.toml of its working tree, paths relative to that tree's root. A bare
// repository has neither.
func (o *detectOptions) scopeRepo(ctx context.Context, path string) error {
	wt, err := gitsrc.WorkTree(ctx, path)
	if err != nil {
		return err
	}
	if wt == "" {
		o.scope.none = true
		return nil
	}
	o.configRoot, o.scope.pathRoot = wt, wt
	return nil
}
