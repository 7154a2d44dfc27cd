package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/internal/demo"
)

// demoAccountsTOML is the demo's configuration of known accounts: payments
// is set to revoke, ml-research only to report. The third account the
// repository leaks a key of is unknown.
const demoAccountsTOML = `# bks demo: the known AWS accounts (served by the local AWS emulator).
[[accounts]]
id = "%s"
name = "payments"
owner = "payments-team@example.com"
regions = ["us-east-1", "us-west-2"]
revoke = true
timeline = true
report = true

[[accounts]]
id = "%s"
name = "ml-research"
owner = "ml-platform@example.com"
role_arn = "arn:aws:iam::%s:role/OrganizationAccountAccessRole"
regions = ["us-east-1"]
timeline = true
report = true
`

// demoPipeline runs the whole pipeline: a repository with keys in its
// history, the AWS emulator seeded to match, detect git --triage --execute,
// the evidence in the accounts, the reports and KPIs, and a second run that
// changes nothing.
func demoPipeline(ctx context.Context, f *cmdutil.Factory, dir string) error {
	sio := f.IO
	fail := func(err error) error { return fmt.Errorf("demo: %w", err) }
	sc := demo.NewScenario(nowUTC())
	repo := filepath.Join(dir, "repo")
	if err := sc.WriteRepo(repo); err != nil {
		return fail(err)
	}
	srv, err := awsemu.New(sc.Seed(), awsemu.Options{})
	if err != nil {
		return fail(err)
	}
	defer srv.Close()
	cfgPath := filepath.Join(dir, "bks-demo.toml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, demoAccountsTOML, sc.Payments, sc.ML, sc.ML), 0o644); err != nil {
		return fail(err)
	}
	pf, err := demoFactory(sio, dir, srv)
	if err != nil {
		return fail(err)
	}
	step := demoStep(ctx, pf)
	out := filepath.Join(dir, "incidents")
	state := filepath.Join(dir, "triage-state.json")
	audit := filepath.Join(dir, "audit.jsonl")
	args := []string{"detect", "git", repo, "--config", cfgPath, "--triage", "--execute",
		"--endpoint-url", srv.URL, "--state", state, "--out", out, "--audit-log", audit}
	fmt.Fprintf(sio.Out, "\n\n##### The whole pipeline: git history -> decode -> triage -> revoke / timeline / report\n")
	fmt.Fprintf(sio.Out, "Repository %s: 6 commits by one developer; keys of two known accounts (payments: revoke = true,\n", repo)
	fmt.Fprintf(sio.Out, "ml-research: report only), one unknown account, and one expired short-term key.\n")
	fmt.Fprintf(sio.Out, "AWS: the local emulator at %s (accounts %s and %s, an organization).\n", srv.URL, sc.Payments, sc.ML)
	if err := step("Find, decode and triage (runs the configured actions)", args...); err != nil {
		return err
	}

	fmt.Fprintf(sio.Out, "\n=== What changed in the accounts\n")
	describeDemoUser(sio.Out, srv, sc.Payments, sc.PaymentsUser)
	describeDemoUser(sio.Out, srv, sc.ML, sc.MLUser)
	writes := srv.WriteCalls()
	perAccount := map[string]int{}
	for _, c := range writes {
		perAccount[c.Account]++
	}
	fmt.Fprintf(sio.Out, "  write calls: %d in payments, %d in ml-research (audit log: %s)\n", perAccount[sc.Payments], perAccount[sc.ML], audit)

	if err := step("The revoked key no longer works; the untouched one does (opt-in live check)",
		"verify", "--endpoint-url", srv.TLSURL, sc.PaymentsKey, sc.MLKey); err != nil {
		return err
	}

	fmt.Fprintf(sio.Out, "\n=== Incident directories (%s)\n", out)
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		files, _ := os.ReadDir(filepath.Join(out, e.Name()))
		var names []string
		for _, fe := range files {
			names = append(names, fe.Name())
		}
		fmt.Fprintf(sio.Out, "  %s/  %s\n", e.Name(), strings.Join(names, " "))
	}

	if err := step("A second run changes nothing (the state file remembers)", args...); err != nil {
		return err
	}
	if n := len(srv.WriteCalls()); n != len(writes) {
		return fail(fmt.Errorf("the second run made %d write call(s)", n-len(writes)))
	}
	fmt.Fprintf(sio.Out, "\nNo write call in the second run. Everything is in %s.\n", dir)
	return nil
}

// demoFactory is the factory the pipeline's steps run with: it keeps the
// machine's settings out of the demo without touching the process
// environment. bks's own reads (the live check's AWS_CA_BUNDLE,
// BKS_CONFIG) see the demo's variables, and the AWS SDK gets load options
// that reach the emulator.
func demoFactory(sio *IO, dir string, srv *awsemu.Server) (*cmdutil.Factory, error) {
	caPath := filepath.Join(dir, "emulator-ca.pem")
	awsConfig := filepath.Join(dir, "aws-config")
	if err := os.WriteFile(caPath, srv.CertPEM(), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(awsConfig, []byte("[default]\nregion = us-east-1\n"), 0o644); err != nil {
		return nil, err
	}
	env := map[string]string{"AWS_CA_BUNDLE": caPath, "BKS_CONFIG": "", "AWS_BEARER_TOKEN_BEDROCK": ""}
	return cmdutil.New(sio.WithEnv(env), demoAWSOptions(awsConfig, filepath.Join(dir, "no-aws-credentials"), srv.CertPEM())), nil
}

// demoAWSOptions point the AWS SDK at the emulator whatever the machine's
// AWS_* variables and files say: fake static credentials (the emulator
// takes any), us-east-1 unless a region is given, the demo's own config
// file (a machine's AWS_PROFILE would otherwise be looked for), and the
// emulator's certificate.
func demoAWSOptions(configFile, credentialsFile string, caPEM []byte) func(*config.LoadOptions) error {
	return func(o *config.LoadOptions) error {
		o.Credentials = credentials.NewStaticCredentialsProvider(awsemu.CallerAccessKeyID, "demo-fake-secret", "")
		if o.Region == "" {
			o.Region = "us-east-1"
		}
		if o.SharedConfigProfile == "" {
			o.SharedConfigProfile = "default"
		}
		o.SharedConfigFiles = []string{configFile}
		o.SharedCredentialsFiles = []string{credentialsFile}
		o.CustomCABundle = bytes.NewReader(caPEM)
		return nil
	}
}

// describeDemoUser prints what the pipeline left on a user of the emulator.
func describeDemoUser(w io.Writer, srv *awsemu.Server, account, name string) {
	u, ok := srv.User(account, name)
	if !ok {
		fmt.Fprintf(w, "  %s %s: no such user\n", account, name)
		return
	}
	active, keys := 0, 0
	for _, c := range u.ServiceCredentials {
		if c.Status == "" || c.Status == "Active" {
			active++
		}
	}
	for _, k := range u.AccessKeys {
		if k.Status == "" || k.Status == "Active" {
			keys++
		}
	}
	var pols []string
	for p := range u.InlinePolicies {
		pols = append(pols, p)
	}
	sort.Strings(pols)
	fmt.Fprintf(w, "  %s %-20s Bedrock credentials: %d active of %d; access keys: %d active; inline policies: %s\n",
		account, name, active, len(u.ServiceCredentials), keys, orNone(strings.Join(pols, ", ")))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
