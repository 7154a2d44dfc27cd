package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// pathsSubcommand is the annotation of a command group whose subcommand of
// that name scans paths (detect → files): an unknown subcommand that names
// an existing path gets the command to run instead.
const pathsSubcommand = "bks/paths-subcommand"

// runsAlone is the annotation of a command that has subcommands and an
// action of its own (serve: the service; serve import-state): without a
// subcommand it runs, and its Args send a stray word to unknownSubcommand.
const runsAlone = "bks/runs-alone"

// requireSubcommands makes every command group in the tree under root (a
// command with subcommands and no action of its own) fail with exit 2 when
// its subcommand is missing or unknown. Cobra prints the group's help and
// exits 0 there, so a CI step written `bks detect .` passed whatever the
// tree held. It is applied once, in NewRoot, so a new group is covered
// without a line of its own.
func requireSubcommands(root *cobra.Command) {
	root.InitDefaultCompletionCmd() // cobra adds it at Execute; walk it too
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
			c.Args = cobra.ArbitraryArgs
			c.RunE = unknownSubcommand
			if c.SuggestionsMinimumDistance <= 0 {
				c.SuggestionsMinimumDistance = 2 // cobra's default, set only on its own error path
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// unknownSubcommand is the action of a command group: args[0] is not one
// of its subcommands (or there is none).
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%q needs a subcommand: %s (see %s --help)",
			cmd.CommandPath(), strings.Join(subcommandNames(cmd), ", "), cmd.CommandPath())
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	} else {
		msg += "; known: " + strings.Join(subcommandNames(cmd), ", ")
	}
	if sub := cmd.Annotations[pathsSubcommand]; sub != "" {
		if _, err := os.Stat(args[0]); err == nil {
			msg += fmt.Sprintf("\nto scan %s, run: %s %s %s", args[0], cmd.CommandPath(), sub, strings.Join(args, " "))
		}
	}
	return errors.New(msg) // exit 2, cmdutil.ExitFailure
}

// subcommandNames lists the subcommands of cmd a user can call.
func subcommandNames(cmd *cobra.Command) []string {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return names
}

// requireKnownHelpTopics makes `bks help TOPIC` fail with exit 2 when TOPIC
// names no command, as a mistyped subcommand does: cobra's own help command
// prints the root's help and exits 0 there.
func requireKnownHelpTopics(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	for _, c := range root.Commands() {
		if c.Name() != "help" {
			continue
		}
		show := c.Run
		c.Run = nil
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if target, rest, err := root.Find(args); len(args) > 0 && (err != nil || target == root || len(rest) > 0) {
				msg := fmt.Sprintf("unknown help topic %q", strings.Join(args, " "))
				var s []string
				if err == nil && target != root && len(rest) > 0 {
					s = target.SuggestionsFor(rest[0])
				} else {
					s = root.SuggestionsFor(args[0])
				}
				if len(s) > 0 {
					msg += "; did you mean " + strings.Join(s, " or ") + "?"
				}
				return errors.New(msg)
			}
			show(cmd, args)
			return nil
		}
	}
}
