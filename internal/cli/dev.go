package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
)

// newCmdDev is the hidden `bks dev`: `bks dev aws-emulator` serves the
// demo's loopback AWS emulator (linked for `bks demo`, see internal/demo)
// for end-to-end tests and manual demos.
func newCmdDev(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "dev",
		Short:  "Tools for developing and demonstrating bks",
		Hidden: true,
	}
	cmd.AddCommand(newCmdDevAWSEmulator(f))
	return cmd
}

type devEmulatorOptions struct {
	Seed    string
	Addr    string
	TLSAddr string
	CAFile  string
}

func newCmdDevAWSEmulator(f *cmdutil.Factory) *cobra.Command {
	opts := &devEmulatorOptions{}
	cmd := &cobra.Command{
		Use:   "aws-emulator --seed FILE",
		Short: "Serve a loopback AWS emulator (IAM, STS, Organizations, CloudTrail, Bedrock) seeded from a scenario file",
		Long: `Serve the loopback AWS emulator bks's tests use, seeded from a JSON scenario
(see testdata/aws/scenario.json), until interrupted. It prints its endpoints
as shell assignments:

  BKS_EMULATOR_URL=http://127.0.0.1:PORT       IAM, STS, Organizations, CloudTrail
  BKS_EMULATOR_TLS_URL=https://127.0.0.1:PORT  the same, plus Bedrock bearer calls
  AWS_CA_BUNDLE=FILE                           the TLS endpoint's certificate

Point bks at it with --endpoint-url and any static credentials. Listens on
loopback addresses only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return devEmulatorRun(cmd.Context(), f.IO, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Seed, "seed", "", "scenario file (JSON)")
	cmd.Flags().StringVar(&opts.Addr, "addr", "127.0.0.1:0", "plain HTTP listen address (loopback only)")
	cmd.Flags().StringVar(&opts.TLSAddr, "tls-addr", "127.0.0.1:0", "HTTPS listen address (loopback only)")
	cmd.Flags().StringVar(&opts.CAFile, "ca-file", "", "write the TLS certificate here (default: a file in the temporary directory)")
	cmd.MarkFlagRequired("seed")
	return cmd
}

func devEmulatorRun(ctx context.Context, sio *IO, opts *devEmulatorOptions) error {
	seed, err := awsemu.LoadSeed(opts.Seed)
	if err != nil {
		return err
	}
	s, err := awsemu.New(seed, awsemu.Options{Addr: opts.Addr, TLSAddr: opts.TLSAddr})
	if err != nil {
		return err
	}
	defer s.Close()
	ca := opts.CAFile
	if ca == "" {
		dir, err := os.MkdirTemp("", "bks-emulator-")
		if err != nil {
			return fmt.Errorf("write CA bundle: %w", err)
		}
		defer os.RemoveAll(dir)
		ca = filepath.Join(dir, "ca.pem")
	}
	if err := os.WriteFile(ca, s.CertPEM(), 0o644); err != nil {
		return fmt.Errorf("write CA bundle: %w", err)
	}
	fmt.Fprintf(sio.Out, "BKS_EMULATOR_URL=%s\nBKS_EMULATOR_TLS_URL=%s\nAWS_CA_BUNDLE=%s\n", s.URL, s.TLSURL, ca)
	if f, ok := sio.Out.(interface{ Sync() error }); ok {
		f.Sync()
	}
	<-ctx.Done()
	fmt.Fprintln(sio.Err, "aws-emulator: stopped")
	return nil
}
