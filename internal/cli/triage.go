package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bks-dev/bks/awsops/audit"
	"github.com/bks-dev/bks/awsops/respond"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/rules"
	"github.com/bks-dev/bks/triage"
)

// triageOptions are the flags of `bks triage` and of `bks detect --triage`.
type triageOptions struct {
	AWS cmdutil.AWSFlags
	cmdutil.VerifyFlags
	Execute  bool
	Out      string
	State    string
	AuditLog string
	Days     int
	JSON     bool
}

// addTriageFlags adds the triage flags but --verify* and --json, each help
// starting with prefix ("with --triage: " on detect).
func addTriageFlags(fs *pflag.FlagSet, o *triageOptions, prefix string) {
	fs.BoolVar(&o.Execute, "execute", false, prefix+"run the actions the config asks for (default: print the plan)")
	fs.StringVar(&o.Out, "out", "", prefix+"write one directory per incident here (report.md, report.json, timeline.json, actions.jsonl)")
	fs.StringVar(&o.State, "state", "", prefix+"triage state file: never act twice on a key, show what changed since the last run, KPIs")
	fs.StringVar(&o.AuditLog, "audit-log", "", prefix+audit.FlagHelp)
	fs.IntVar(&o.Days, "days", 90, prefix+"days of CloudTrail history for timelines and reports (at most 90)")
	o.AWS.Register(fs)
}

type triageCmdOptions struct {
	triageOptions
	Config string
	Input  string
}

func newCmdTriage(f *cmdutil.Factory) *cobra.Command {
	opts := &triageCmdOptions{}
	cmd := &cobra.Command{
		Use:   "triage FINDINGS.jsonl",
		Short: "Turn findings into incidents and run the response each key's account calls for",
		Long: `Group findings (bks detect --format jsonl; "-" reads standard input) into one
incident per key. A key of an account listed in the config's [[accounts]]
is checked in IAM and gets the actions configured for that account (report,
timeline, revoke, notify); a key of any other account is a third-party
incident for its owner. Expired short-term keys are reported at low severity.

Without --execute (or auto = true on the account) the plan is printed and
nothing is called. With --state, a key is never revoked twice and a rerun
shows what changed. Exit codes: 0 no open incident, 1 open incidents,
2 an action failed.`,
		Example: `  bks detect git . --format jsonl -o findings.jsonl
  bks triage findings.jsonl --config .bks.toml --state triage.json --out incidents/
  bks triage findings.jsonl --execute --state triage.json --out incidents/`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Input = args[0]
			fs, err := readFindings(f.IO, opts.Input)
			if err != nil {
				return err
			}
			cfg, err := loadTriageConfig(f.IO, opts.Config, ".")
			if err != nil {
				return err
			}
			return triageRun(cmd.Context(), f, f.IO, &opts.triageOptions, cfg, fs)
		},
	}
	cmd.Flags().StringVar(&opts.Config, "config", "", "configuration file with [[accounts]] (default: .bks.toml here, or BKS_CONFIG)")
	opts.VerifyFlags.Register(cmd.Flags(), "live-check every key against Bedrock (sends the key to AWS's Bedrock endpoint of its region)")
	addTriageFlags(cmd.Flags(), &opts.triageOptions, "")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the incidents as JSON")
	return cmd
}

func loadTriageConfig(sio *IO, path, root string) (*rules.Config, error) {
	if path != "" {
		return rules.Load(path)
	}
	cfg, _, err := rules.Discover(root, sio.Env)
	return cfg, err
}

// readFindings reads a JSON Lines report (or a JSON array).
func readFindings(sio *IO, path string) ([]findings.Finding, error) {
	var r io.Reader = sio.In
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	br := bufio.NewReader(r)
	first, _ := br.Peek(1)
	var out []findings.Finding
	if len(first) == 1 && first[0] == '[' {
		if err := json.NewDecoder(br).Decode(&out); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	} else {
		sc := bufio.NewScanner(br)
		sc.Buffer(make([]byte, 0, 1<<16), 64<<20)
		for n := 1; sc.Scan(); n++ {
			if len(sc.Bytes()) == 0 {
				continue
			}
			var f findings.Finding
			if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
				return nil, fmt.Errorf("read %s line %d: %w", path, n, err)
			}
			out = append(out, f)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	for i := range out {
		if out[i].Secret != "" {
			out[i].SetRawKey(out[i].Secret)
			out[i].Secret = ""
		}
	}
	return out, nil
}

func triageAccounts(cfg *rules.Config) []triage.Account {
	var out []triage.Account
	for _, a := range cfg.Accounts {
		out = append(out, *a)
	}
	return out
}

// triageRun runs triage over fs and prints the summary on sio.
func triageRun(ctx context.Context, f *cmdutil.Factory, sio *IO, o *triageOptions, cfg *rules.Config, fs []findings.Finding) error {
	accounts := triageAccounts(cfg)
	var st *triage.State
	if o.State != "" {
		var err error
		if st, err = triage.LoadState(o.State); err != nil {
			return err
		}
	}
	resp := &respond.Responder{
		Base: f.AWSSettings(&o.AWS),
		Days: o.Days,
	}
	needsVerify := o.Verify
	for _, a := range accounts {
		needsVerify = needsVerify || a.Verify
	}
	if needsVerify {
		var err error
		if resp.Checker, err = f.Verifier(o.VerifyFlags.Options(10 * time.Second)); err != nil {
			return err
		}
	}
	willWrite := false
	for _, a := range accounts {
		willWrite = willWrite || (a.Revoke && (o.Execute || a.Auto))
	}
	if willWrite {
		log, auditPath, err := audit.OpenOrDefault(o.AuditLog, sio.Env)
		if err != nil {
			return err
		}
		fmt.Fprintf(sio.Err, "Audit log: %s\n", auditPath)
		defer log.Close()
		log.Run = runID()
		resp.Audit = log
	}
	incs := triage.Group(fs)
	client := &http.Client{Timeout: 15 * time.Second}
	err := triage.Run(ctx, incs, resp, st, triage.Options{
		Accounts: accounts, Execute: o.Execute, Verify: o.Verify, OutDir: o.Out,
		Notify: func(ctx context.Context, url string, inc *triage.Incident) error {
			return triage.PostWebhook(ctx, client, url, inc)
		},
	})
	if err != nil {
		return err
	}
	if o.Out != "" {
		for _, inc := range incs {
			if _, err := triage.WriteIncident(o.Out, inc); err != nil {
				return err
			}
		}
	}
	var kpis *triage.KPIs
	if st != nil {
		if err := st.Save(); err != nil {
			return err
		}
		k := st.KPIs()
		kpis = &k
	}
	if o.JSON {
		enc := json.NewEncoder(sio.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Incidents []*triage.Incident `json:"incidents"`
			KPIs      *triage.KPIs       `json:"kpis,omitempty"`
		}{incs, kpis}); err != nil {
			return err
		}
	} else {
		triage.WriteSummary(sio.Out, incs, kpis)
		if !o.Execute {
			planned := 0
			for _, inc := range incs {
				for _, a := range inc.Actions {
					if a.Outcome == triage.OutcomePlanned {
						planned++
					}
				}
			}
			if planned > 0 {
				fmt.Fprintf(sio.Out, "\n%d action(s) planned, none run: add --execute to run them.\n", planned)
			}
		}
		if o.Out != "" {
			fmt.Fprintf(sio.Out, "Incident directories: %s\n", filepath.Clean(o.Out))
		}
	}
	failed, open := 0, 0
	for _, inc := range incs {
		for _, a := range inc.Actions {
			if a.Outcome == triage.OutcomeFailed {
				failed++
			}
		}
		if inc.Severity != triage.SeverityLow {
			open++
		}
	}
	switch {
	case failed > 0:
		return fmt.Errorf("%d action(s) failed (see the ACTIONS column and actions.jsonl)", failed)
	case open > 0:
		return cmdutil.ErrFound
	}
	return nil
}
