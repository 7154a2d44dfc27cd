package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/awsops/scp"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
)

type scpShowOptions struct {
	Names      []string
	Format     string
	Partition  string
	MaxAgeDays int
	BreakGlass []string
	Config     string
}

func newCmdSCP(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scp",
		Short: "Service control policies that block or limit Bedrock API keys",
		Long: `bks's service control policies for Bedrock API keys, for AWS Organizations.

Roll a policy out on a test OU first (docs/SCP.md): SCPs deny for every
principal in the accounts they reach, including administrators.`,
	}
	cmd.AddCommand(newCmdSCPList(f), newCmdSCPShow(f))
	return cmd
}

func newCmdSCPList(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the policies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return scpListRun(f.IO)
		},
	}
}

func scpListRun(io *IO) error {
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	for _, p := range scp.List() {
		fmt.Fprintf(tw, "%s\t%s\n", p.Name, p.Summary)
	}
	return tw.Flush()
}

func newCmdSCPShow(f *cmdutil.Factory) *cobra.Command {
	opts := &scpShowOptions{}
	cmd := &cobra.Command{
		Use:   "show NAME...",
		Short: "Print a policy as JSON or as a Terraform aws_organizations_policy",
		Long: `Print one or more policies ("all" for every one), rendered for a partition.

Policies: ` + strings.Join(scp.Names(), ", ") + `.

The policies that deny IAM changes on phantom users (protect-phantom-users,
block-phantom-user-creation) exempt break-glass principals with
"ArnNotLike aws:PrincipalArn": an SCP binds every principal of a member
account, administrators and OrganizationAccountAccessRole included, so
without one nobody could put bks revoke-key's deny on a phantom user.
Default: ` + strings.Join(scp.DefaultBreakGlass, ", ") + ` (any account, partition
filled in); break_glass in .bks.toml's [scp] table (--config, $BKS_CONFIG
or ./.bks.toml) replaces it, and --break-glass replaces both (repeat for
several; * wildcards). Run revoke-key as that role. See docs/SCP.md and
docs/CONFIG.md.`,
		Example: `  bks scp show deny-long-term-api-keys
  bks scp show all --format terraform > bks-scps.tf
  bks scp show protect-phantom-users --partition aws-us-gov
  bks scp show enforce-max-key-age --max-age-days 30
  bks scp show protect-phantom-users --break-glass 'arn:aws:iam::*:role/security/ir-*'`,
		Args:      cobra.MinimumNArgs(1),
		ValidArgs: append(scp.Names(), "all"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			return scpShowRun(f.IO, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "json", "output format: json or terraform")
	cmd.Flags().StringVar(&opts.Partition, "partition", "aws", "partition of the ARNs: aws, aws-us-gov or aws-cn")
	cmd.Flags().IntVar(&opts.MaxAgeDays, "max-age-days", scp.DefaultMaxAgeDays, "maximum key age for enforce-max-key-age")
	cmd.Flags().StringArrayVar(&opts.BreakGlass, "break-glass", nil, "principal ARN pattern exempt from the phantom-user policies (repeatable; overrides [scp] break_glass; default "+strings.Join(scp.DefaultBreakGlass, ", ")+")")
	cmd.Flags().StringVar(&opts.Config, "config", "", "configuration file whose [scp] break_glass to use (default $BKS_CONFIG, ./.bks.toml)")
	return cmd
}

func scpShowRun(io *IO, opts *scpShowOptions) error {
	var policies []scp.Policy
	for _, n := range opts.Names {
		if n == "all" {
			policies = append(policies, scp.List()...)
			continue
		}
		p, ok := scp.Lookup(n)
		if !ok {
			return fmt.Errorf("scp show: no policy %q (have %s)", n, strings.Join(scp.Names(), ", "))
		}
		policies = append(policies, p)
	}
	if opts.Format != "json" && opts.Format != "terraform" {
		return fmt.Errorf("scp show: --format %q: want json or terraform", opts.Format)
	}
	from, err := breakGlassFrom(io, opts)
	if err != nil {
		return err
	}
	ro := scp.Options{Partition: opts.Partition, MaxAgeDays: opts.MaxAgeDays, BreakGlass: opts.BreakGlass}
	explainBreakGlass(io.Err, policies, ro, from)
	if opts.Format == "json" && len(policies) > 1 {
		return scpShowJSONSet(io, policies, ro)
	}
	for i, p := range policies {
		var out []byte
		var err error
		if opts.Format == "terraform" {
			out, err = p.Terraform(ro)
		} else {
			out, err = p.Render(ro)
		}
		if err != nil {
			return err
		}
		if i > 0 && opts.Format == "terraform" {
			fmt.Fprintln(io.Out)
		}
		if _, err := io.Out.Write(out); err != nil {
			return fmt.Errorf("scp show: %w", err)
		}
	}
	return nil
}

// scpShowJSONSet prints several policies as one JSON object, name ->
// document, in catalogue order.
func scpShowJSONSet(io *IO, policies []scp.Policy, ro scp.Options) error {
	var b strings.Builder
	b.WriteString("{\n")
	for i, p := range policies {
		doc, err := p.Render(ro)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "  %q: %s", p.Name, strings.ReplaceAll(strings.TrimRight(string(doc), "\n"), "\n", "\n  "))
		if i < len(policies)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	_, err := fmt.Fprint(io.Out, b.String())
	return err
}

// breakGlassFrom fills opts.BreakGlass from the configuration's [scp]
// break_glass unless --break-glass gave it, and says where the principals
// come from: the flag, a file, or "" for the default.
func breakGlassFrom(sio *IO, opts *scpShowOptions) (string, error) {
	if len(opts.BreakGlass) > 0 {
		return "--break-glass", nil
	}
	cfg, path, err := loadConfig(sio, opts.Config)
	if err != nil {
		return "", printConfigErrors(sio, err)
	}
	if len(cfg.SCP.BreakGlass) == 0 {
		return "", nil
	}
	opts.BreakGlass = cfg.SCP.BreakGlass
	return path, nil
}

// explainBreakGlass says on stderr (stdout stays a policy document) which
// of the shown policies exempt which principals, from where, and why.
func explainBreakGlass(w io.Writer, policies []scp.Policy, ro scp.Options, from string) {
	var names []string
	for _, p := range policies {
		if p.ExemptsBreakGlass() {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 {
		return
	}
	glass := slices.Clone(ro.BreakGlass)
	if len(glass) == 0 {
		glass = slices.Clone(scp.DefaultBreakGlass)
	}
	part := ro.Partition
	if part == "" {
		part = "aws"
	}
	for i := range glass {
		glass[i] = strings.ReplaceAll(glass[i], "{{partition}}", part)
	}
	source := "the default"
	if from != "" {
		source = "from " + from
	}
	fmt.Fprintf(w, "bks: %s exempt%s the break-glass principal(s) %s (%s; ArnNotLike aws:PrincipalArn): an SCP binds every principal of a member account, admins and OrganizationAccountAccessRole included, so run `bks revoke-key` as one of them to put a deny on a phantom user. Change with [scp] break_glass in .bks.toml or --break-glass.\n",
		strings.Join(names, " and "), map[bool]string{true: "s", false: ""}[len(names) == 1], strings.Join(glass, ", "), source)
}
