package cli

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/sources"
	glsrc "github.com/bks-dev/bks/sources/gitlab"
)

type detectGitLabOptions struct {
	Groups, Users, Projects []string
	IncludeSubgroups        bool
	Snippets                bool
	Token, APIURL           string
	sweepFlags
}

func newCmdDetectGitLab(f *cmdutil.Factory, opts *detectOptions) *cobra.Command {
	g := &detectGitLabOptions{}
	cmd := &cobra.Command{
		Use:   "gitlab",
		Short: "Sweep every project of GitLab groups or users, whole history",
		Long: `List the projects of groups (--group, with --include-subgroups their
subgroups' too), of users (--user) or name them (--project GROUP/NAME), clone
each (branches and tags) and scan its whole history, --workers projects at a
time. --snippets adds each project's snippets, which are git repositories
too (every file of every revision), and with --user the personal snippets
of the token's owner (GitLab's API lists no other user's: asking for
them is reported). Findings stream as they are found, each with its project and an
html_url to the file at the commit that introduced the key.

Works with gitlab.com and self-managed instances (--api-url
https://gitlab.example.com). The token comes from --token or GITLAB_TOKEN:
a personal, group or project access token with the read_api and
read_repository scopes. GitLab's rate limits are waited out (429 with
Retry-After, RateLimit-Remaining: 0 until RateLimit-Reset), with a message
saying until when.

A group, user or project that cannot be listed, and a project that cannot
be cloned or scanned, is reported on stderr and the sweep goes on (exit 2
at the end unless --ignore-errors). --shard, --resume, --cache-dir work as
for detect github.`,
		Example: `  GITLAB_TOKEN=… bks detect gitlab --group acme --include-subgroups -f jsonl -o acme.jsonl
  bks detect gitlab --group acme --shard 0/4 --resume state-0.json -f sarif -o shard-0.sarif
  bks detect gitlab --project acme/platform/api --snippets
  bks detect gitlab --user alice --api-url https://gitlab.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return detectGitLabRun(cmd.Context(), f.IO, opts, g)
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&g.Groups, "group", nil, "sweep every project of this group, by full path (repeatable)")
	fs.BoolVar(&g.IncludeSubgroups, "include-subgroups", false, "with --group, also the projects of its subgroups")
	fs.StringArrayVar(&g.Users, "user", nil, "sweep every project of this user (repeatable)")
	fs.StringArrayVar(&g.Projects, "project", nil, "sweep this project, GROUP/NAME (repeatable)")
	fs.BoolVar(&g.Snippets, "snippets", false, "also sweep each project's snippets, and the personal snippets of --user (the token's owner)")
	fs.StringVar(&g.Token, "token", "", "GitLab token (default: $GITLAB_TOKEN)")
	fs.StringVar(&g.APIURL, "api-url", "", "GitLab URL, for self-managed instances (default: "+glsrc.DefaultAPIURL+")")
	g.sweepFlags.add(fs)
	return cmd
}

func detectGitLabRun(ctx context.Context, sio *IO, opts *detectOptions, g *detectGitLabOptions) error {
	if len(g.Groups)+len(g.Users)+len(g.Projects) == 0 {
		return errors.New("detect gitlab: give --group, --user or --project")
	}
	return runRepoSweep(ctx, sio, opts, "gitlab", &g.sweepFlags, func(env sweepEnv) (sources.Source, error) {
		client, token, err := opts.factory.GitLab(g.APIURL, g.Token, env.Run.Log)
		if err != nil {
			return nil, err
		}
		return glsrc.NewSweep(glsrc.Options{
			Client: client,
			Token:  token,
			Target: glsrc.Target{Groups: g.Groups, IncludeSubgroups: g.IncludeSubgroups, Users: g.Users, Projects: g.Projects, Snippets: g.Snippets},
			Shard:  env.Shard,
			Scan:   env.History,
			Run:    env.Run,
		}), nil
	})
}
