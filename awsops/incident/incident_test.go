package incident_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/costexplorer"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/bks-dev/bks/awsops/incident"
	"github.com/bks-dev/bks/awsops/revoke"
	"github.com/bks-dev/bks/awsops/timeline"
	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

const acct = "111122223333"

var now = time.Now().UTC().Truncate(time.Second)

func setup(t *testing.T, faults ...awsemu.Fault) (*awsemu.Server, incident.Deps, string) {
	t.Helper()
	user := "BedrockAPIKey-r3p0"
	key := testkeys.LongTerm(user, acct, testkeys.Secret(3))
	srv, err := awsemu.New(&awsemu.Seed{Faults: faults, Accounts: []*awsemu.Account{{ID: acct,
		Users: []*awsemu.User{{
			Name: user, Created: now.AddDate(0, -4, 0),
			ServiceCredentials: []*awsemu.ServiceCred{{Secret: key, Created: now.AddDate(0, -4, 0)}},
			AccessKeys:         []*awsemu.AccessKey{{LastUsed: ptr(now.Add(-time.Hour)), LastUsedService: "iam", LastUsedRegion: "us-east-1"}},
			LoginProfile:       &awsemu.LoginProfile{},
			Groups:             []string{"admins"},
			AttachedPolicies:   []string{"arn:aws:iam::aws:policy/AmazonBedrockLimitedAccess"},
			InlinePolicies:     map[string]string{"extra": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`},
			MFADevices:         []*awsemu.MFADevice{{}},
		}},
		Events: []*awsemu.Event{
			{Region: "us-east-1", Time: now.Add(-3 * time.Hour), Name: "InvokeModel", Source: "bedrock.amazonaws.com", Username: user,
				SourceIP: "198.51.100.1", RequestParameters: map[string]any{"modelId": "anthropic.claude-3-5-sonnet-20240620-v1:0"},
				AdditionalEventData: map[string]any{"callWithBearerToken": true}},
			{Region: "eu-west-1", Time: now.Add(-2 * time.Hour), Name: "CreateAccessKey", Source: "iam.amazonaws.com", Username: user, SourceIP: "203.0.113.9"},
		},
		Costs: claudeIncidentCosts(),
	}}}, awsemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cfg := srv.AWSConfig("us-east-1")
	return srv, incident.Deps{
		IAM:  iam.NewFromConfig(cfg),
		Cost: costexplorer.NewFromConfig(cfg),
		CloudTrail: func(region string) timeline.CloudTrailAPI {
			return cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.Region = region })
		},
	}, key
}

// claudeIncidentCosts is an LLMjacking incident on Claude as Cost Explorer
// shows it: the model bills through AWS Marketplace as "Claude 3.5 Sonnet
// (Amazon Bedrock Edition)", Amazon Bedrock itself shows cents.
func claudeIncidentCosts() []*awsemu.Cost {
	day := func(n int) string { return now.AddDate(0, 0, -n).Format("2006-01-02") }
	return []*awsemu.Cost{
		{Date: day(3), Service: "Amazon Bedrock", Amount: 0.05},
		{Date: day(2), Service: "Claude 3.5 Sonnet (Amazon Bedrock Edition)", Amount: 41.2},
		{Date: day(1), Service: "Claude 3.5 Sonnet (Amazon Bedrock Edition)", Amount: 1650.75},
		{Date: day(1), Service: "Claude 3 Haiku (Amazon Bedrock Edition)", Amount: 12.5},
		{Date: day(1), Service: "Amazon Elastic Compute Cloud - Compute", Amount: 3},
		{Date: now.AddDate(0, 0, -200).Format("2006-01-02"), Service: "Claude 3.5 Sonnet (Amazon Bedrock Edition)", Amount: 9999},
	}
}

func ptr[T any](v T) *T { return &v }

func opts() incident.Options {
	return incident.Options{Account: acct, Partition: "aws", Regions: []string{"us-east-1", "eu-west-1"}, Rate: 1000}
}

func allSectionsPresent(t *testing.T, r *incident.Report) {
	t.Helper()
	for _, name := range incident.SectionOrder {
		s, ok := r.Sections[name]
		if !ok {
			t.Errorf("section %s missing", name)
			continue
		}
		if s.State != incident.StateOK && s.Reason == "" {
			t.Errorf("section %s is %s without a reason", name, s.State)
		}
	}
}

// Must show: a report whose every section is filled or explains why not.
func TestReportEverySectionFilled(t *testing.T) {
	_, deps, key := setup(t)
	tg, _ := revoke.ParseTarget(key, "aws")
	r, err := incident.Build(context.Background(), deps, tg, opts())
	if err != nil {
		t.Fatal(err)
	}
	allSectionsPresent(t, r)
	for _, name := range incident.SectionOrder {
		if r.Sections[name].State != incident.StateOK {
			t.Errorf("section %s: %+v", name, r.Sections[name])
		}
	}
	if r.Risk.Level != "critical" || len(r.Cost) != 4 {
		t.Errorf("risk %+v cost %+v", r.Risk, r.Cost)
	}
	var txt, md, js bytes.Buffer
	for f, b := range map[string]*bytes.Buffer{incident.FormatText: &txt, incident.FormatMarkdown: &md, incident.FormatJSON: &js} {
		if err := r.Write(b, f); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), key) {
			t.Errorf("%s holds the key", f)
		}
	}
	for _, w := range []string{"Bedrock credentials", "never expires", "last used", "Console password", "admins", "AmazonBedrockLimitedAccess", "extra",
		"Source IPs (2)", "anthropic.claude-3-5-sonnet-20240620-v1:0 @ us-east-1: 1", "Amazon Bedrock: 0.05 USD", "Risk: CRITICAL", "1. Revoke now"} {
		if !strings.Contains(txt.String(), w) {
			t.Errorf("text lacks %q", w)
		}
	}
	if !strings.Contains(md.String(), "## Bedrock usage") || !strings.Contains(md.String(), "`bks verify <the key>`") {
		t.Error("markdown headings or code missing")
	}
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back["sections"] == nil {
		t.Errorf("json: %v", err)
	}
}

func TestReportSectionsSayWhy(t *testing.T) {
	_, deps, key := setup(t,
		awsemu.Fault{Action: "ListAccessKeys", Kind: "denied"},
		awsemu.Fault{Action: "ListMFADevices", Kind: "denied"},
		awsemu.Fault{Action: "LookupEvents", Kind: "denied"},
		awsemu.Fault{Action: "GetDimensionValues", Kind: "denied"},
		awsemu.Fault{Action: "GetCostAndUsage", Kind: "denied"},
	)
	tg, _ := revoke.ParseTarget(key, "aws")
	r, err := incident.Build(context.Background(), deps, tg, opts())
	if err != nil {
		t.Fatal(err)
	}
	allSectionsPresent(t, r)
	for name, want := range map[string]string{
		incident.SecAccessKeys: "iam:ListAccessKeys",
		incident.SecMFA:        "iam:ListMFADevices",
		incident.SecTimeline:   "LookupEvents",
		incident.SecUsage:      "LookupEvents",
		incident.SecCost:       "not permitted",
	} {
		if s := r.Sections[name]; s.State != incident.StateUnavailable || !strings.Contains(s.Reason, want) {
			t.Errorf("%s: %+v, want unavailable mentioning %q", name, s, want)
		}
	}
	if r.Sections[incident.SecGroups].State != incident.StateOK {
		t.Error("groups should still be read")
	}
	var txt bytes.Buffer
	r.Write(&txt, incident.FormatText)
	if n := strings.Count(txt.String(), "Could not be read:"); n != 5 {
		t.Errorf("%d sections say why, want 5:\n%s", n, txt.String())
	}

	// Short-term key: the IAM-user sections do not apply, and say so.
	sk := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: testkeys.AccessKeyID("ASIA", acct, 1), SecretKey: "s", SessionToken: "t", Region: "us-east-1", Issued: now, Expires: 900})
	tg, _ = revoke.ParseTarget(sk, "aws")
	deps.Cost = nil
	r, err = incident.Build(context.Background(), deps, tg, opts())
	if err != nil {
		t.Fatal(err)
	}
	allSectionsPresent(t, r)
	if s := r.Sections[incident.SecUser]; s.State != incident.StateNotApplicable {
		t.Errorf("user section %+v", s)
	}
	if s := r.Sections[incident.SecCost]; s.State != incident.StateUnavailable || s.Reason == "" {
		t.Errorf("cost section %+v", s)
	}
}

// An LLMjacking incident on Claude: its spend is billed through AWS
// Marketplace as "<model> (Amazon Bedrock Edition)", not as "Amazon
// Bedrock"; the report shows it per day and service, leaves out other
// services and days outside the window, and still finds it when
// ce:GetDimensionValues is denied (grouped by SERVICE, filtered here).
func TestReportClaudeMarketplaceCost(t *testing.T) {
	for _, faults := range [][]awsemu.Fault{nil, {{Action: "GetDimensionValues", Kind: "denied"}}} {
		srv, deps, key := setup(t, faults...)
		tg, _ := revoke.ParseTarget(key, "aws")
		r, err := incident.Build(context.Background(), deps, tg, opts())
		if err != nil {
			t.Fatal(err)
		}
		var txt bytes.Buffer
		r.Write(&txt, incident.FormatText)
		day := func(n int) string { return now.AddDate(0, 0, -n).Format("2006-01-02") }
		for _, want := range []string{
			day(3) + " Amazon Bedrock: 0.05 USD",
			day(2) + " Claude 3.5 Sonnet (Amazon Bedrock Edition): 41.2 USD",
			day(1) + " Claude 3.5 Sonnet (Amazon Bedrock Edition): 1650.75 USD",
			day(1) + " Claude 3 Haiku (Amazon Bedrock Edition): 12.5 USD",
			"Marketplace",
		} {
			if !strings.Contains(txt.String(), want) {
				t.Errorf("faults %v: report lacks %q:\n%s", faults, want, txt.String())
			}
		}
		if strings.Contains(txt.String(), "Elastic Compute") || strings.Contains(txt.String(), "9999") || len(r.Cost) != 4 {
			t.Errorf("faults %v: other services or days in the cost: %+v", faults, r.Cost)
		}
		var ce []string
		for _, c := range srv.Calls() {
			if c.Service == "ce" {
				ce = append(ce, c.Action)
			}
		}
		if len(ce) < 2 || ce[0] != "GetDimensionValues" || ce[len(ce)-1] != "GetCostAndUsage" { // GetCostAndUsage pages by 31 days
			t.Errorf("Cost Explorer calls %v", ce)
		}
	}
}

// A short-term key signed with an IAM user's long-term access key (AKIA…)
// is cut off by deactivating that access key (what revoke-key does); a
// deny on aws:TokenIssueTime does not bite it. The report said "denies the
// issuing role's sessions" for every short-term key.
func TestReportAKIASignedKeyAction(t *testing.T) {
	_, deps, _ := setup(t)
	deps.Cost = nil
	akia := testkeys.AccessKeyID("AKIA", acct, 7)
	sk := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: akia, SecretKey: "s", Region: "us-east-1", Issued: now, Expires: 900})
	tg, _ := revoke.ParseTarget(sk, "aws")
	r, err := incident.Build(context.Background(), deps, tg, opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Actions) == 0 || !strings.Contains(r.Actions[0], "deactivates the long-term access key "+akia) || strings.Contains(r.Actions[0], "sessions issued before") {
		t.Errorf("actions %q", r.Actions)
	}
}
