package respond_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/bks-dev/bks/awsops/respond"
	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/triage"
)

// tagAction is a response action that exists only in this test: it tags
// the leaked key's IAM user with the incident's fingerprint, so that
// policies and people can find it. Adding it takes this file and the
// emulator's TagUser and ListUserTags (internal/awsemu/iam.go, and the
// user's tags in state.go): nothing in triage or in the responder changes.
func tagAction(r *respond.Responder) triage.Action {
	return triage.Action{
		Name: "tag",
		Applies: func(c *triage.Case) bool {
			return c.Known && c.Incident.Key.Type == detectors.TypeLongTerm
		},
		Plan: func(c *triage.Case) string {
			return "tag IAM user " + c.Incident.Key.Username + " bks:leaked=" + c.Incident.Fingerprint[:16]
		},
		Run: func(ctx context.Context, c *triage.Case) (string, string, error) {
			cfg, _, err := r.Reach(ctx, c.Account)
			if err != nil {
				return "", "", err
			}
			client, user, want := iam.NewFromConfig(cfg), aws.String(c.Incident.Key.Username), c.Incident.Fingerprint[:16]
			tags, err := client.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: user})
			if err != nil {
				return "", "", err
			}
			for _, t := range tags.Tags {
				if aws.ToString(t.Key) == "bks:leaked" && aws.ToString(t.Value) == want {
					return triage.OutcomeUnchanged, "already tagged", nil
				}
			}
			if _, err := client.TagUser(ctx, &iam.TagUserInput{UserName: user,
				Tags: []iamtypes.Tag{{Key: aws.String("bks:leaked"), Value: aws.String(want)}}}); err != nil {
				return "", "", err
			}
			return triage.OutcomeDone, "tagged bks:leaked=" + want, nil
		},
	}
}

// Must show: a response action added from outside triage runs in its
// place in the table, is only planned without --execute, acts once on the
// emulator, and is idempotent through the state file.
func TestAddedActionTagsTheUser(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	ours2 := w.keys["BedrockAPIKey-aaaa"]
	theirs := testkeys.LongTerm("BedrockAPIKey-dddd", "999988887777", testkeys.Secret(8))
	fs := scan(ours2 + " " + theirs)

	table := append(triage.Actions(), tagAction(w.r))
	opts := triage.Options{Accounts: []triage.Account{{ID: ours, Report: true}}, Actions: table, Now: func() time.Time { return t0 }}
	st := &triage.State{Version: 1, Entries: map[string]*triage.StateEntry{}}
	run := func(execute bool) map[string]string {
		t.Helper()
		o := opts
		o.Execute = execute
		incs := triage.Group(fs)
		if err := triage.Run(ctx, incs, w.r, st, o); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, inc := range incs {
			var acts []string
			for _, a := range inc.Actions {
				acts = append(acts, a.Action+":"+a.Outcome+" "+a.Detail)
			}
			got[inc.Key.Username] = strings.Join(acts, " | ")
		}
		return got
	}

	w.srv.ResetCalls()
	plan := run(false)
	fp := incident(t, ours2).Fingerprint[:16]
	if want := "check:planned look the credential up in IAM | report:planned incident report (report.md, report.json) | tag:planned tag IAM user BedrockAPIKey-aaaa bks:leaked="; !strings.HasPrefix(plan["BedrockAPIKey-aaaa"], want) {
		t.Errorf("plan:\n%s\nwant prefix\n%s", plan["BedrockAPIKey-aaaa"], want)
	}
	if plan["BedrockAPIKey-dddd"] != "" || len(w.srv.Calls()) != 0 {
		t.Errorf("the plan acted: %q, %d calls", plan["BedrockAPIKey-dddd"], len(w.srv.Calls()))
	}

	first := run(true)
	if !strings.HasSuffix(first["BedrockAPIKey-aaaa"], "tag:done tagged bks:leaked="+fp) || first["BedrockAPIKey-dddd"] != "" {
		t.Errorf("first run: %+v", first)
	}
	u, _ := w.srv.User(ours, "BedrockAPIKey-aaaa")
	if len(u.Tags) != 1 || u.Tags["bks:leaked"] != fp {
		t.Errorf("tags on the user: %v", u.Tags)
	}
	if n := w.srv.CountCalls("TagUser"); n != 1 {
		t.Errorf("%d TagUser calls", n)
	}

	second := run(true)
	if !strings.HasSuffix(second["BedrockAPIKey-aaaa"], "tag:unchanged already tagged") || w.srv.CountCalls("TagUser") != 1 {
		t.Errorf("second run: %+v, %d TagUser calls", second, w.srv.CountCalls("TagUser"))
	}
}
