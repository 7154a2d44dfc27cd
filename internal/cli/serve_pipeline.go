package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/pflag"

	"github.com/bks-dev/bks/awsops/audit"
	"github.com/bks-dev/bks/awsops/respond"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/rules"
	"github.com/bks-dev/bks/serve"
	"github.com/bks-dev/bks/triage"
)

// servePipelineOptions are the flags of what a worker does with a delivery:
// fetch (--repo-cache, --git-url, the token), respond (--config's
// [[accounts]], the AWS flags), report back (the GitHub API).
type servePipelineOptions struct {
	AWS            cmdutil.AWSFlags
	Config         string
	Baseline       string
	Out            string
	AuditLog       string
	Days           int
	GitURL         string
	APIURL         string
	Token          string
	AppID          int64
	AppKey         string
	StatusURL      string
	NoFetch        bool
	NoReport       bool
	FetchTimeout   time.Duration
	MaxPushCommits int
	MaxPushBytes   int64
	Lease          time.Duration
}

func (o *servePipelineOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.Config, "config", "", "configuration: its rules and allowlists apply to the scans as in detect git --range, and the responses of its [[accounts]] (revoke, timeline, report, notify) run for their keys (default: .bks.toml here, or BKS_CONFIG)")
	fs.StringVar(&o.Baseline, "baseline", "", "baseline file (bks detect --baseline-out): the keys it lists are not reported")
	fs.StringVar(&o.Out, "out", "", "write one directory per incident here (timeline.json, report.md, report.json)")
	fs.StringVar(&o.AuditLog, "audit-log", "", audit.FlagHelp)
	fs.IntVar(&o.Days, "days", 90, "days of CloudTrail history for timelines and reports (at most 90)")
	fs.StringVar(&o.GitURL, "git-url", "https://github.com/", "fetch OWNER/NAME.git from here into --repo-cache")
	fs.StringVar(&o.APIURL, "api-url", "", "GitHub API URL for check runs and comments (default: $GITHUB_API_URL, then https://api.github.com)")
	fs.StringVar(&o.Token, "github-token", "", "personal access token for the fetch, commit statuses and comments (default: $GITHUB_TOKEN, then $GH_TOKEN; a flag shows in ps); not used with --app-id")
	fs.Int64Var(&o.AppID, "app-id", 0, "run as this GitHub App: each delivery's installation token fetches, writes the check run and the comment (with --app-private-key)")
	fs.StringVar(&o.AppKey, "app-private-key", "", "the GitHub App's private key (PEM file)")
	fs.StringVar(&o.StatusURL, "status-url", "", "link of the commit status set with a personal access token (default: none)")
	fs.BoolVar(&o.NoFetch, "no-fetch", false, "do not fetch: --repo-cache is kept up to date by someone else")
	fs.BoolVar(&o.NoReport, "no-report", false, "post no check run or pull request comment")
	fs.DurationVar(&o.FetchTimeout, "fetch-timeout", 2*time.Minute, "longest fetch of one repository")
	fs.IntVar(&o.MaxPushCommits, "max-push-commits", 10000, "a push with more commits is scanned as its whole branch")
	fs.Int64Var(&o.MaxPushBytes, "max-push-bytes", 512<<20, "a push that fetches more bytes is scanned as its whole branch")
	fs.DurationVar(&o.Lease, "lease", 5*time.Minute, "how long a claimed job is held before another worker may take it")
	_ = fs.MarkHidden("lease") // tests: a killed worker's job comes back sooner
	o.AWS.Register(fs)
}

// apply fills cfg's pipeline from the flags. It returns a closer for what
// it opened (the audit log).
func (o *servePipelineOptions) apply(ctx context.Context, f *cmdutil.Factory, repoCache string, log *slog.Logger, cfg *serve.Config) (func(), error) {
	closer := func() {}
	cfg.Lease, cfg.FetchTimeout = o.Lease, o.FetchTimeout
	cfg.MaxPushCommits, cfg.MaxPushBytes = o.MaxPushCommits, o.MaxPushBytes
	auth, err := o.gitHubAuth(f)
	if err != nil {
		return closer, err
	}
	if repoCache != "" && !o.NoFetch {
		cfg.GitURL, cfg.GitHub = o.GitURL, auth
	}
	if !o.NoReport && (auth.IsApp() || auth.Token != "") {
		cfg.Report = &serve.Reporter{Auth: auth, TargetURL: o.StatusURL}
	}
	tc, err := loadTriageConfig(f.IO, o.Config, ".")
	if err != nil {
		return closer, err
	}
	cfg.Rules = tc
	for _, w := range tc.Warnings {
		log.WarnContext(ctx, "config", "warning", w)
	}
	if o.Baseline != "" {
		if cfg.Baseline, err = rules.LoadBaseline(o.Baseline); err != nil {
			return closer, err
		}
	}
	accounts := triageAccounts(tc)
	if len(accounts) == 0 {
		return closer, nil
	}
	resp := &respond.Responder{Base: f.AWSSettings(&o.AWS), Days: o.Days}
	for _, a := range accounts {
		if a.Revoke {
			alog, path, err := audit.OpenOrDefault(o.AuditLog, f.IO.Env)
			if err != nil {
				return closer, err
			}
			log.InfoContext(ctx, "audit log", "path", path)
			alog.Run = runID()
			resp.Audit, closer = alog, func() { alog.Close() }
			break
		}
	}
	client15 := &http.Client{Timeout: 15 * time.Second}
	cfg.Respond = &serve.Responder{Accounts: accounts, AWS: resp, OutDir: o.Out,
		Notify: func(ctx context.Context, u string, inc *triage.Incident) error {
			return hideURL(triage.PostWebhook(ctx, client15, u, inc))
		}}
	return closer, nil
}

// gitHubAuth is who the service is on GitHub: the App (--app-id,
// --app-private-key), else the token.
func (o *servePipelineOptions) gitHubAuth(f *cmdutil.Factory) (*serve.GitHubAuth, error) {
	apiURL := o.APIURL
	if apiURL == "" {
		apiURL = f.IO.Env("GITHUB_API_URL")
	}
	if (o.AppID != 0) != (o.AppKey != "") {
		return nil, errors.New("serve: --app-id and --app-private-key go together")
	}
	if o.AppID != 0 {
		if o.AppID < 0 {
			return nil, fmt.Errorf("--app-id %d: want the App's id", o.AppID)
		}
		key, err := serve.LoadAppKey(o.AppKey)
		if err != nil {
			return nil, err
		}
		return &serve.GitHubAuth{APIURL: apiURL, AppID: o.AppID, Key: key}, nil
	}
	_, token, err := f.GitHub(apiURL, o.Token)
	if err != nil {
		return nil, err
	}
	return &serve.GitHubAuth{APIURL: apiURL, Token: token}, nil
}

// hideURL drops the URL from an HTTP client error: an account's notify
// webhook is a secret of its own, and the error is logged and stored.
func hideURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("notify: %s: %w", ue.Op, ue.Err)
	}
	return err
}
