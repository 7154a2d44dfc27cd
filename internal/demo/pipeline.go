package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

// Scenario is the whole-pipeline demo: a repository with keys planted in its
// history and the AWS accounts they belong to.
type Scenario struct {
	// Known accounts (in the demo config) and an unknown one.
	Payments, ML, Unknown string
	// The leaked keys.
	PaymentsKey string // long-term, revoke = true for its account
	MLKey       string // long-term, report only: must stay untouched
	UnknownKey  string // long-term, third-party
	ExpiredKey  string // short-term of Payments, expired
	// Phantom users the long-term keys sit on.
	PaymentsUser, MLUser string
	Now                  time.Time
}

// NewScenario builds the demo scenario at now.
func NewScenario(now time.Time) *Scenario {
	s := &Scenario{Payments: AccountPayments, ML: AccountML, Unknown: AccountUnknown, Now: now.UTC().Truncate(time.Second)}
	s.PaymentsUser, s.MLUser = testkeys.ConsoleUser(11), testkeys.ConsoleUser(12)
	s.PaymentsKey = testkeys.LongTerm(s.PaymentsUser, s.Payments, testkeys.Secret(11))
	s.MLKey = testkeys.LongTerm(s.MLUser, s.ML, testkeys.Secret(12))
	s.UnknownKey = testkeys.LongTerm("contractor-ci", s.Unknown, testkeys.Secret(13))
	s.ExpiredKey = testkeys.ShortTerm(testkeys.ShortTermOptions{
		AccessKeyID:  testkeys.AccessKeyID("ASIA", s.Payments, 14),
		SecretKey:    "fake-secret-access-key",
		SessionToken: testkeys.SessionToken(s.Payments, 700, 14),
		Region:       "eu-west-1", Issued: s.Now.Add(-72 * time.Hour), Expires: 3600,
	})
	return s
}

// WriteRepo creates a git repository in dir (with go-git: no git binary
// needed) whose history holds the keys: the payments key added then deleted,
// the ML key still at HEAD, the unknown account's key in a commit on a
// feature branch, the expired key in a log file.
func (s *Scenario) WriteRepo(dir string) error {
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		return fmt.Errorf("init demo repo: %w", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	when := s.Now.Add(-30 * 24 * time.Hour)
	commit := func(msg string, files map[string]string, remove ...string) error {
		for name, body := range files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				return err
			}
			if _, err := wt.Add(name); err != nil {
				return err
			}
		}
		for _, name := range remove {
			if _, err := wt.Remove(name); err != nil {
				return err
			}
		}
		when = when.Add(26 * time.Hour)
		sig := &object.Signature{Name: "Dana Dev", Email: "dana@example.com", When: when}
		_, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig})
		return err
	}
	steps := []struct {
		msg    string
		files  map[string]string
		remove []string
	}{
		{"Initial service skeleton", map[string]string{"README.md": "# chat service\n", "app.py": "print('hello')\n"}, nil},
		{"Configure Bedrock locally", map[string]string{".env": "AWS_REGION=us-east-1\nAWS_BEARER_TOKEN_BEDROCK=" + s.PaymentsKey + "\n"}, nil},
		{"Remove .env (oops)", nil, []string{".env"}},
		{"Add exploration notebook", map[string]string{"notebooks/eval.ipynb": `{"cells": [{"source": ["os.environ['AWS_BEARER_TOKEN_BEDROCK'] = '` + s.MLKey + `'\n"]}]}` + "\n"}, nil},
		{"Vendor contractor config", map[string]string{"vendor/ci.yaml": "bedrock:\n  api_key: " + s.UnknownKey + "\n"}, nil},
		{"Debug log", map[string]string{"logs/debug.log": "2026-01-01 request headers: Authorization: Bearer " + s.ExpiredKey + "\n"}, nil},
	}
	for _, st := range steps {
		if err := commit(st.msg, st.files, st.remove...); err != nil {
			return fmt.Errorf("demo repo: %s: %w", st.msg, err)
		}
	}
	return nil
}

// Seed returns the emulator state matching the repository: the payments and
// ML accounts (an organization, so the ML account is reached through
// OrganizationAccountAccessRole), their phantom users holding the leaked keys,
// and CloudTrail events of the keys being used.
func (s *Scenario) Seed() *awsemu.Seed {
	created := s.Now.Add(-40 * 24 * time.Hour)
	phantom := func(name, key string) *awsemu.User {
		return &awsemu.User{
			Name: name, Created: created,
			ServiceCredentials: []*awsemu.ServiceCred{{Created: created, Secret: key}},
			AccessKeys:         []*awsemu.AccessKey{{Created: created.Add(time.Hour)}},
			AttachedPolicies:   []string{"arn:aws:iam::aws:policy/AmazonBedrockLimitedAccess"},
		}
	}
	var events []*awsemu.Event
	for i := range 7 {
		events = append(events, &awsemu.Event{
			Region: []string{"us-east-1", "us-west-2"}[i%2], Time: s.Now.Add(-time.Duration(20-i) * time.Hour),
			Name: "InvokeModel", Source: "bedrock.amazonaws.com", Username: s.PaymentsUser,
			SourceIP: fmt.Sprintf("203.0.113.%d", 10+i%3), UserAgent: "python-requests/2.32",
			AdditionalEventData: map[string]any{"callWithBearerToken": true},
			RequestParameters:   map[string]any{"modelId": "anthropic.claude-3-5-sonnet-20240620-v1:0"},
		})
	}
	mlEvents := []*awsemu.Event{{Region: "us-east-1", Time: s.Now.Add(-5 * time.Hour), Name: "ListFoundationModels",
		Source: "bedrock.amazonaws.com", Username: s.MLUser, SourceIP: "198.51.100.7", ReadOnly: true,
		AdditionalEventData: map[string]any{"callWithBearerToken": true}}}
	return &awsemu.Seed{
		Caller: &awsemu.SeedCaller{Account: s.Payments, ARN: "arn:aws:iam::" + s.Payments + ":user/security-oncall"},
		Accounts: []*awsemu.Account{
			{ID: s.Payments, Alias: "payments", Users: []*awsemu.User{
				{Name: "security-oncall", Created: created.Add(-365 * 24 * time.Hour)},
				phantom(s.PaymentsUser, s.PaymentsKey),
			}, Events: events},
			{ID: s.ML, Alias: "ml-research", Users: []*awsemu.User{phantom(s.MLUser, s.MLKey)}, Events: mlEvents},
		},
		Organization: &awsemu.Organization{ManagementAccount: s.Payments, Accounts: []*awsemu.OrgAccountRef{
			{ID: s.Payments, Name: "payments"}, {ID: s.ML, Name: "ml-research"},
		}},
	}
}
