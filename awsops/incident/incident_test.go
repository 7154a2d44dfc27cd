package incident_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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

// fakeCostExplorer answers GetCostAndUsage (JSON 1.1), or AccessDenied.
func fakeCostExplorer(t *testing.T, denied bool) *costexplorer.Client {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "AWSInsightsIndexService.GetCostAndUsage" {
			http.Error(w, "bad target", 400)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if denied {
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"AccessDeniedException","message":"User: arn:aws:iam::111122223333:user/bks-admin is not authorized to perform: ce:GetCostAndUsage"}`)
			return
		}
		if !strings.Contains(string(body), `"Amazon Bedrock"`) || !strings.Contains(string(body), `"DAILY"`) {
			http.Error(w, "unexpected query "+string(body), 400)
			return
		}
		io.WriteString(w, `{"ResultsByTime":[
			{"TimePeriod":{"Start":"2026-04-02","End":"2026-04-03"},"Total":{"UnblendedCost":{"Amount":"41.20","Unit":"USD"}}},
			{"TimePeriod":{"Start":"2026-04-01","End":"2026-04-02"},"Total":{"UnblendedCost":{"Amount":"0.05","Unit":"USD"}}}]}`)
	}))
	t.Cleanup(srv.Close)
	return costexplorer.New(costexplorer.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client(),
		Credentials: aws.AnonymousCredentials{}, Retryer: aws.NopRetryer{},
	})
}

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
	}}}, awsemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cfg := srv.AWSConfig("us-east-1")
	return srv, incident.Deps{
		IAM: iam.NewFromConfig(cfg),
		CloudTrail: func(region string) timeline.CloudTrailAPI {
			return cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.Region = region })
		},
	}, key
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
	deps.Cost = fakeCostExplorer(t, false)
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
	if r.Risk.Level != "critical" || len(r.Cost) != 2 || r.Cost[0].Date != "2026-04-01" {
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
		"Source IPs (2)", "anthropic.claude-3-5-sonnet-20240620-v1:0 @ us-east-1: 1", "2026-04-02: 41.20 USD", "Risk: CRITICAL", "1. Revoke now"} {
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
	)
	deps.Cost = fakeCostExplorer(t, true)
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
