package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/rules"
)

type rulesOptions struct {
	Config string
	JSON   bool
	IDs    []string
}

func newCmdRules(f *cmdutil.Factory) *cobra.Command {
	opts := &rulesOptions{}
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List, show and test detection rules",
		Long: `Detection rules: the built-in ones (embedded TOML; the Bedrock and Claude
Platform ones run by the hand-written engine) and your own from the
configuration (--config, $BKS_CONFIG or ./.bks.toml).`,
	}
	cmd.PersistentFlags().StringVar(&opts.Config, "config", "", "configuration file (default: $BKS_CONFIG or ./.bks.toml)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the enabled rules",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return rulesListRun(f.IO, opts) },
	}
	list.Flags().BoolVar(&opts.JSON, "json", false, "print the rules as JSON")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Print a rule as TOML",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IDs = args
			return rulesShowRun(f.IO, opts)
		},
	}
	test := &cobra.Command{
		Use:   "test [ID...]",
		Short: "Check rules against their examples",
		Long: `Run the examples ([[rules.examples]] match / no_match) of the given rules, or
of every rule. Exit 0 when all pass, 1 when an example fails, 2 when the
configuration is invalid.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IDs = args
			return rulesTestRun(f.IO, opts)
		},
	}
	cmd.AddCommand(list, show, test)
	return cmd
}

func rulesConfig(sio *IO, opts *rulesOptions) (*rules.Config, error) {
	cfg, _, err := loadConfig(sio, opts.Config)
	if err != nil {
		return nil, printConfigErrors(sio, err)
	}
	return cfg, nil
}

func ruleSource(r *rules.Rule) string {
	switch {
	case r.Engine:
		return "built-in (engine)"
	case r.Builtin:
		return "built-in"
	}
	return fmt.Sprintf("%s:%d", r.File, r.Line)
}

type ruleJSON struct {
	ID          string   `json:"id"`
	Description string   `json:"description,omitempty"`
	Keywords    []string `json:"keywords"`
	Decoder     string   `json:"decoder"`
	Source      string   `json:"source"`
	Examples    int      `json:"examples"`
}

func rulesListRun(sio *IO, opts *rulesOptions) error {
	cfg, err := rulesConfig(sio, opts)
	if err != nil {
		return err
	}
	if opts.JSON {
		out := []ruleJSON{}
		for _, r := range cfg.Rules {
			out = append(out, ruleJSON{r.ID, r.Description, r.Keywords, r.Decoder, ruleSource(r), len(r.Examples)})
		}
		enc := json.NewEncoder(sio.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(sio.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDECODER\tKEYWORDS\tSOURCE")
	for _, r := range cfg.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Decoder, strings.Join(r.Keywords, " "), ruleSource(r))
	}
	return tw.Flush()
}

func rulesShowRun(sio *IO, opts *rulesOptions) error {
	cfg, err := rulesConfig(sio, opts)
	if err != nil {
		return err
	}
	r := cfg.Rule(opts.IDs[0])
	if r == nil {
		return fmt.Errorf("no rule %q (see `bks rules list`)", opts.IDs[0])
	}
	writeRuleTOML(sio.Out, r)
	return nil
}

// tomlString quotes s as a TOML string: literal when it can be, so regexes
// read as written.
func tomlString(s string) string {
	switch {
	case !strings.ContainsAny(s, "'\n\r") && isPrintable(s):
		return "'" + s + "'"
	case !strings.Contains(s, "'''") && !strings.HasSuffix(s, "'") && !strings.Contains(s, "\r") && isPrintable(strings.ReplaceAll(s, "\n", "")):
		// A newline right after the opening quotes is trimmed by TOML.
		return "'''\n" + s + "'''"
	}
	q := strconv.Quote(s)
	return q
}

func isPrintable(s string) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

func tomlStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = tomlString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// writeRuleTOML prints r in the configuration's own schema, so a built-in
// rule can be copied into .bks.toml as the start of a custom one.
func writeRuleTOML(w io.Writer, r *rules.Rule) {
	fmt.Fprintf(w, "# %s, %s\n", r.ID, ruleSource(r))
	if r.Engine {
		fmt.Fprintln(w, "# Run by the hand-written detector engine (no regex): keys are captured whole,")
		fmt.Fprintln(w, "# also base64-wrapped or with %3D padding, and decoded offline.")
	}
	fmt.Fprintln(w, "[[rules]]")
	fmt.Fprintf(w, "id = %s\n", tomlString(r.ID))
	if r.Description != "" {
		fmt.Fprintf(w, "description = %s\n", tomlString(r.Description))
	}
	fmt.Fprintf(w, "keywords = %s\n", tomlStrings(r.Keywords))
	fmt.Fprintf(w, "fold_case = %v\n", r.FoldsCase())
	if r.Regex != "" {
		fmt.Fprintf(w, "regex = %s\n", tomlString(r.Regex))
	}
	if r.MinEntropy > 0 {
		fmt.Fprintf(w, "min_entropy = %s\n", strconv.FormatFloat(r.MinEntropy, 'f', -1, 64))
	}
	if len(r.IncludePaths) > 0 {
		fmt.Fprintf(w, "include_paths = %s\n", tomlStrings(r.IncludePaths))
	}
	if len(r.ExcludePaths) > 0 {
		fmt.Fprintf(w, "exclude_paths = %s\n", tomlStrings(r.ExcludePaths))
	}
	fmt.Fprintf(w, "decoder = %s\n", tomlString(r.Decoder))
	if !r.Engine {
		fmt.Fprintf(w, "max_len = %d\n", r.MaxLen)
	}
	for _, ex := range r.Examples {
		fmt.Fprintln(w, "\n  [[rules.examples]]")
		if ex.Match != "" {
			fmt.Fprintf(w, "  match = %s\n", tomlString(ex.Match))
			if ex.Secret != "" {
				fmt.Fprintf(w, "  secret = %s\n", tomlString(ex.Secret))
			}
		} else {
			fmt.Fprintf(w, "  no_match = %s\n", tomlString(ex.NoMatch))
		}
	}
	for _, a := range r.Allowlists {
		fmt.Fprintln(w, "\n  [[rules.allowlists]]")
		fmt.Fprintf(w, "  id = %s\n", tomlString(a.ID))
		if a.Description != "" {
			fmt.Fprintf(w, "  description = %s\n", tomlString(a.Description))
		}
		if a.Condition != "" && a.Condition != "any" {
			fmt.Fprintf(w, "  condition = %s\n", tomlString(a.Condition))
		}
		for _, kv := range []struct {
			k string
			v []string
		}{{"paths", a.Paths}, {"fingerprints", a.Fingerprints}, {"commits", a.Commits}, {"regexes", a.Regexes}, {"line_regexes", a.LineRegexes}, {"stopwords", a.Stopwords}} {
			if len(kv.v) > 0 {
				fmt.Fprintf(w, "  %s = %s\n", kv.k, tomlStrings(kv.v))
			}
		}
	}
}

func rulesTestRun(sio *IO, opts *rulesOptions) error {
	cfg, err := rulesConfig(sio, opts)
	if err != nil {
		return err
	}
	selected := cfg.Rules
	if len(opts.IDs) > 0 {
		selected = nil
		for _, id := range opts.IDs {
			r := cfg.Rule(id)
			if r == nil {
				return fmt.Errorf("no rule %q (see `bks rules list`)", id)
			}
			selected = append(selected, r)
		}
	}
	total, failed := 0, 0
	for _, r := range selected {
		for _, res := range r.TestExamples() {
			total++
			if !res.Pass {
				failed++
			}
			fmt.Fprintln(sio.Out, res)
		}
	}
	if failed > 0 {
		return &cmdutil.FoundError{Code: ExitFound, Msg: fmt.Sprintf("%d of %d rule example(s) failed", failed, total)}
	}
	fmt.Fprintf(sio.Out, "%d example(s) passed\n", total)
	return nil
}
