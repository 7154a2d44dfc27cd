package cli

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/sources"
	hfsrc "github.com/bks-dev/bks/sources/huggingface"
)

type detectHFOptions struct {
	Orgs, Users              []string
	Spaces, Models, Datasets []string
	Token, APIURL            string
	LFSMaxSize               int64
	LFSMaxObjects            int
	sweepFlags
}

func newCmdDetectHuggingFace(f *cmdutil.Factory, opts *detectOptions) *cobra.Command {
	h := &detectHFOptions{}
	cmd := &cobra.Command{
		Use:     "huggingface",
		Aliases: []string{"hf"},
		Short:   "Sweep the models, datasets and Spaces of Hugging Face organizations or users, whole history",
		Long: `List the models, datasets and Spaces of organizations (--org) or users
(--user), or name them (--model, --dataset, --space OWNER/NAME), clone each
from the Hub (every branch and tag) and scan its whole history, --workers
repositories at a time. Files kept in Git LFS are fetched through the LFS
batch API and scanned too, up to --lfs-max-size each and --lfs-max-objects
per repository; the objects over either limit are counted and said on
stderr, not fetched (model weights run to gigabytes). Findings name the
repository as the Hub does ("spaces/acme/demo", "datasets/acme/data",
"acme/model") with an html_url to the file at its commit.

The token comes from --token or HF_TOKEN: a user access token with the read
role (or a fine-grained one with read access to the repositories' content)
sees private and gated repositories; without one, public ones only.
--api-url (or HF_ENDPOINT) points at another Hub endpoint. Rate limits (429)
are waited out.

A repository that cannot be listed, cloned or scanned is reported on stderr
and the sweep goes on (exit 2 at the end unless --ignore-errors). --shard,
--resume, --cache-dir work as for detect github.`,
		Example: `  HF_TOKEN=… bks detect huggingface --org acme -f jsonl -o acme.jsonl
  bks detect huggingface --space acme/demo --model acme/llm
  bks detect hf --user alice --shard 1/3 --resume state-1.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return detectHFRun(cmd.Context(), f.IO, opts, h)
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&h.Orgs, "org", nil, "sweep every model, dataset and Space of this organization (repeatable)")
	fs.StringArrayVar(&h.Users, "user", nil, "sweep every model, dataset and Space of this user (repeatable)")
	fs.StringArrayVar(&h.Spaces, "space", nil, "sweep this Space, OWNER/NAME (repeatable)")
	fs.StringArrayVar(&h.Models, "model", nil, "sweep this model, OWNER/NAME (repeatable)")
	fs.StringArrayVar(&h.Datasets, "dataset", nil, "sweep this dataset, OWNER/NAME (repeatable)")
	fs.StringVar(&h.Token, "token", "", "Hugging Face token (default: $HF_TOKEN)")
	fs.StringVar(&h.APIURL, "api-url", "", "Hub endpoint (default: $HF_ENDPOINT, then "+hfsrc.DefaultEndpoint+")")
	fs.Int64Var(&h.LFSMaxSize, "lfs-max-size", hfsrc.DefaultLFSMaxSize, "fetch and scan LFS objects up to this many bytes; larger ones are counted and skipped")
	fs.IntVar(&h.LFSMaxObjects, "lfs-max-objects", hfsrc.DefaultLFSMaxObjects, "fetch at most this many LFS objects per repository (-1: none)")
	h.sweepFlags.add(fs)
	return cmd
}

func detectHFRun(ctx context.Context, sio *IO, opts *detectOptions, h *detectHFOptions) error {
	target := hfsrc.Target{Authors: append(append([]string(nil), h.Orgs...), h.Users...), Models: h.Models, Datasets: h.Datasets, Spaces: h.Spaces}
	if len(target.Authors)+len(h.Models)+len(h.Datasets)+len(h.Spaces) == 0 {
		return errors.New("detect huggingface: give --org, --user, --space, --model or --dataset")
	}
	if h.LFSMaxSize <= 0 {
		return errors.New("detect huggingface: --lfs-max-size must be positive")
	}
	return runRepoSweep(ctx, sio, opts, "huggingface", &h.sweepFlags, func(env sweepEnv) (sources.Source, error) {
		client, err := opts.factory.HuggingFace(h.APIURL, h.Token)
		if err != nil {
			return nil, err
		}
		client.Log = env.Run.Log
		return hfsrc.NewSweep(hfsrc.Options{
			Client:        client,
			Target:        target,
			Shard:         env.Shard,
			LFSMaxSize:    h.LFSMaxSize,
			LFSMaxObjects: h.LFSMaxObjects,
			History:       env.History,
			Run:           env.Run,
		}), nil
	})
}
