package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/auth/bearer"

	"github.com/bks-dev/bks/awsops/iamscan"
	"github.com/bks-dev/bks/awsops/kpi"
	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

const (
	evAccount = "111122223333"
	evSecret  = "shared-secret-of-the-connection"
)

// envelope wraps a CloudTrail record as EventBridge delivers it to an API
// destination: the event, detail = the record
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html).
func envelope(id, source string, detail any) []byte {
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": id, "detail-type": CloudTrailDetailType, "source": source,
		"account": evAccount, "time": "2026-12-07T10:00:00Z", "region": "us-east-1", "resources": []string{},
		"detail": detail,
	})
	if err != nil {
		panic(err)
	}
	return b
}

// iamRecord is a CloudTrail record of an IAM call by an administrator.
func iamRecord(name, at string, req, resp map[string]any) map[string]any {
	return map[string]any{
		"eventVersion": "1.09", "eventTime": at, "eventSource": "iam.amazonaws.com", "eventName": name,
		"awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.10", "userAgent": "console.amazonaws.com",
		"userIdentity":      map[string]any{"type": "IAMUser", "userName": "admin", "accountId": evAccount, "arn": "arn:aws:iam::" + evAccount + ":user/admin"},
		"requestParameters": req, "responseElements": resp,
		"eventID": "ct-" + name + at, "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
		"recipientAccountId": evAccount, "eventCategory": "Management",
	}
}

// createCredential is the record of CreateServiceSpecificCredential
// whose responseElements carry the new key, as CloudTrail logs it.
func createCredential(id, user, at, key, password string) map[string]any {
	return iamRecord("CreateServiceSpecificCredential", at,
		map[string]any{"userName": user, "serviceName": "bedrock.amazonaws.com", "credentialAgeDays": 30},
		map[string]any{"serviceSpecificCredential": map[string]any{
			"createDate": "Dec 7, 2026, 10:00:00 AM", "expirationDate": "Jan 6, 2027, 10:00:00 AM",
			"serviceName": "bedrock.amazonaws.com", "serviceUserName": user + "-at-" + evAccount,
			"serviceCredentialAlias": user + "-at-" + evAccount, "serviceCredentialSecret": key,
			"servicePassword": password, "serviceSpecificCredentialId": id, "userName": user, "status": "Active",
		}})
}

func (ts *testServer) postEvent(t *testing.T, header, value string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.url+"/events/aws", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if header != "" {
		req.Header.Set(header, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func startEventsServer(t *testing.T, header string) *testServer {
	return startServer(t, "", Config{Process: blocked, EventsSecret: []byte(evSecret), EventsHeader: header})
}

func liveKeys(t *testing.T, ts *testServer) int {
	t.Helper()
	rep, err := ts.st.KPIs(context.Background(), time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rep.Accounts {
		if a.Account == evAccount {
			return a.LiveKeys
		}
	}
	return -1
}

// Without the secret, or with another, /events/aws answers 401 and logs
// nothing of the body; the header's name is the one configured.
func TestAWSEventsSecret(t *testing.T) {
	ts := startEventsServer(t, "X-Api-Key")
	body := envelope("ev-marker", "aws.iam", createCredential("ACCAMARKER1", "BedrockAPIKey-mk01", "2026-12-07T10:00:00Z", "BODY-MARKER-7f3a", "pw"))
	for _, c := range []struct{ header, value string }{
		{"", ""},
		{"X-Api-Key", "wrong"},
		{"X-Api-Key", evSecret + "x"},
		{DefaultEventsHeader, evSecret}, // the default name, not the configured one
	} {
		if code, _ := ts.postEvent(t, c.header, c.value, body); code != http.StatusUnauthorized {
			t.Errorf("%s: %q: %d, want 401", c.header, c.value, code)
		}
	}
	if strings.Contains(ts.logs.String(), "BODY-MARKER") || strings.Contains(ts.logs.String(), evSecret) {
		t.Errorf("the logs quote the body or the secret:\n%s", ts.logs)
	}
	if code, msg := ts.postEvent(t, "X-Api-Key", evSecret, body); code != http.StatusOK || !strings.Contains(msg, "recorded") {
		t.Errorf("with the secret: %d %s", code, msg)
	}
	// Without a secret configured, there is no endpoint.
	plain := startServer(t, "", Config{Process: blocked})
	if code, _ := plain.postEvent(t, DefaultEventsHeader, evSecret, body); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		t.Errorf("no events secret: %d, want no route", code)
	}
}

// A CreateServiceSpecificCredential event records a live key and never
// its secret (the record's responseElements hold it): not in the
// database file, not in the logs. The redelivery changes nothing; a
// deletion ends the key, and a late, older update does not bring it back.
func TestAWSEventsKeyInventory(t *testing.T) {
	ts := startEventsServer(t, "")
	key := testkeys.LongTerm("BedrockAPIKey-ev01", evAccount, testkeys.Secret(71))
	password := testkeys.Secret(72)
	post := func(body []byte) (int, string) { return ts.postEvent(t, DefaultEventsHeader, evSecret, body) }

	create := envelope("ev-1", "aws.iam", createCredential("ACCAEV01", "BedrockAPIKey-ev01", "2026-12-07T10:00:00Z", key, password))
	if code, msg := post(create); code != http.StatusOK || !strings.Contains(msg, "recorded") {
		t.Fatalf("create: %d %s", code, msg)
	}
	if code, msg := post(create); code != http.StatusOK || !strings.Contains(msg, "duplicate") {
		t.Errorf("redelivery: %d %s, want 200 duplicate", code, msg)
	}
	if n := liveKeys(t, ts); n != 1 {
		t.Errorf("after the creation: %d live keys, want 1", n)
	}
	// An access key of the phantom user is a long-term key too; of an
	// ordinary user, not the inventory's business.
	akia := testkeys.AccessKeyID("AKIA", evAccount, 73)
	if code, _ := post(envelope("ev-2", "aws.iam", iamRecord("CreateAccessKey", "2026-12-07T10:01:00Z",
		map[string]any{"userName": "BedrockAPIKey-ev01"},
		map[string]any{"accessKey": map[string]any{"accessKeyId": akia, "userName": "BedrockAPIKey-ev01", "status": "Active", "createDate": "Dec 7, 2026, 10:01:00 AM"}}))); code != http.StatusOK {
		t.Errorf("CreateAccessKey of the phantom user: %d", code)
	}
	for name, body := range map[string][]byte{
		"access key of an ordinary user": envelope("ev-3", "aws.iam", iamRecord("CreateAccessKey", "2026-12-07T10:02:00Z",
			map[string]any{"userName": "dev"}, map[string]any{"accessKey": map[string]any{"accessKeyId": testkeys.AccessKeyID("AKIA", evAccount, 74), "userName": "dev", "status": "Active"}})),
		"a CodeCommit credential": envelope("ev-4", "aws.iam", iamRecord("CreateServiceSpecificCredential", "2026-12-07T10:02:00Z",
			map[string]any{"userName": "dev", "serviceName": "codecommit.amazonaws.com"},
			map[string]any{"serviceSpecificCredential": map[string]any{"serviceSpecificCredentialId": "ACCACC01", "serviceName": "codecommit.amazonaws.com", "userName": "dev", "status": "Active"}})),
		"a refused call": envelope("ev-5", "aws.iam", func() map[string]any {
			r := createCredential("ACCAEV09", "BedrockAPIKey-ev09", "2026-12-07T10:03:00Z", "", "")
			r["errorCode"], r["responseElements"] = "AccessDenied", nil
			return r
		}()),
		"another detail-type": bytes.Replace(create, []byte(CloudTrailDetailType), []byte("AWS Console Sign In via CloudTrail"), 1),
	} {
		if code, msg := post(body); code != http.StatusNoContent {
			t.Errorf("%s: %d %s, want 204", name, code, msg)
		}
	}
	if n := liveKeys(t, ts); n != 2 {
		t.Errorf("%d live keys, want 2 (the Bedrock key and the phantom user's access key)", n)
	}
	// The dashboard reads the same inventory (its KPISource is the
	// store's when the events endpoint is on).
	snap, err := storeKPIs{ts.st}.DashboardKPIs(context.Background(), time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC))
	if err != nil || len(snap.LiveKeys) != 2 || len(snap.ActiveKeys) != 1 || snap.ActiveKeys[0].Now != 2 {
		t.Errorf("dashboard KPIs %+v %v; want the 2 live keys of %s", snap, err, evAccount)
	}
	if resp, err := http.Get(ts.url + "/dashboard"); err != nil {
		t.Error(err)
	} else {
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Contains(page, []byte("ACCAEV01")) || !bytes.Contains(page, []byte("BedrockAPIKey-ev01")) {
			t.Errorf("the dashboard (%d) does not list the live key ACCAEV01 of BedrockAPIKey-ev01", resp.StatusCode)
		}
	}
	del := envelope("ev-6", "aws.iam", iamRecord("DeleteServiceSpecificCredential", "2026-12-07T11:00:00Z",
		map[string]any{"userName": "BedrockAPIKey-ev01", "serviceSpecificCredentialId": "ACCAEV01"}, nil))
	lateUpdate := envelope("ev-7", "aws.iam", iamRecord("UpdateServiceSpecificCredential", "2026-12-07T10:30:00Z",
		map[string]any{"userName": "BedrockAPIKey-ev01", "serviceSpecificCredentialId": "ACCAEV01", "status": "Active"}, nil))
	delKey := envelope("ev-8", "aws.iam", iamRecord("DeleteAccessKey", "2026-12-07T11:00:00Z",
		map[string]any{"userName": "BedrockAPIKey-ev01", "accessKeyId": akia}, nil))
	for _, b := range [][]byte{del, lateUpdate, delKey} {
		if code, msg := post(b); code != http.StatusOK {
			t.Fatalf("%d %s", code, msg)
		}
	}
	if n := liveKeys(t, ts); n != 0 {
		t.Errorf("after the deletions and a late update: %d live keys, want 0", n)
	}

	ts.stop()
	for _, f := range []string{ts.dbPath, ts.dbPath + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, secret := range []string{key, password, key[4:24]} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds a secret of the event", filepath.Base(f))
			}
		}
	}
	if strings.Contains(ts.logs.String(), key) || strings.Contains(ts.logs.String(), password) {
		t.Error("the logs hold a secret of the event")
	}
}

func TestAWSEventsRefusals(t *testing.T) {
	ts := startServer(t, "", Config{Process: blocked, EventsSecret: []byte(evSecret), MaxEventBody: 4096})
	post := func(body []byte) int { c, _ := ts.postEvent(t, DefaultEventsHeader, evSecret, body); return c }
	big := envelope("ev-big", "aws.iam", iamRecord("CreateAccessKey", "2026-12-07T10:00:00Z", map[string]any{"userName": strings.Repeat("x", 5000)}, nil))
	if c := post(big); c != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d, want 413", c)
	}
	for name, body := range map[string]string{
		"not JSON":        "{",
		"no id":           string(envelope("", "aws.iam", iamRecord("DeleteAccessKey", "2026-12-07T10:00:00Z", nil, nil))),
		"no time":         string(envelope("ev-nt", "aws.iam", iamRecord("DeleteAccessKey", "yesterday", nil, nil)))[:0] + `{"id":"ev-nt","detail-type":"AWS API Call via CloudTrail","account":"111122223333","detail":{"eventName":"DeleteAccessKey","eventTime":"yesterday"}}`,
		"detail not JSON": `{"id":"ev-dj","detail-type":"AWS API Call via CloudTrail","account":"111122223333","detail":"x"}`,
		"id with escapes": string(envelope("ev-\x1b[31m", "aws.iam", iamRecord("DeleteAccessKey", "2026-12-07T10:00:00Z", nil, nil))),
	} {
		if c := post([]byte(body)); c != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, c)
		}
	}
	mfs, _ := ts.scrape(t)
	if v := value(mfs, "bks_serve_aws_events_total", "result="+EventMalformed); v != 5 {
		t.Errorf("malformed counted %v, want 5", v)
	}
	if v := value(mfs, "bks_serve_aws_events_total", "result="+EventTooLarge); v != 1 {
		t.Errorf("too large counted %v, want 1", v)
	}
}

// The Bedrock calls the emulator records in CloudTrail, posted as
// EventBridge would post them, make the role share of /metrics: two calls
// of a role session, one with a long-term key, one with a short-term key.
func TestAWSEventsBedrockCallsShare(t *testing.T) {
	akia := testkeys.AccessKeyID("AKIA", evAccount, 81)
	long := testkeys.LongTerm("BedrockAPIKey-bc01", evAccount, testkeys.Secret(81))
	emu, err := awsemu.New(&awsemu.Seed{Accounts: []*awsemu.Account{{ID: evAccount,
		Users: []*awsemu.User{
			{Name: "BedrockAPIKey-bc01", ServiceCredentials: []*awsemu.ServiceCred{{Secret: long}}},
			{Name: "dev", AccessKeys: []*awsemu.AccessKey{{ID: akia}}},
		},
		Roles: []*awsemu.Role{{Name: "app"}},
	}}}, awsemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	emu.RecordBearerCalls(true)
	ctx := context.Background()
	withToken := func(token string) {
		t.Helper()
		b := bedrock.NewFromConfig(emu.BedrockConfig("us-east-1"), func(o *bedrock.Options) {
			o.BearerAuthTokenProvider = bearer.StaticTokenProvider{Token: bearer.Token{Value: token}}
			o.AuthSchemePreference = []string{"httpBearerAuth"}
		})
		if _, err := b.ListFoundationModels(ctx, &bedrock.ListFoundationModelsInput{}); err != nil {
			t.Fatal(err)
		}
	}
	withToken(long)
	withToken(testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: akia, SecretKey: "x", Region: "us-east-1", Issued: time.Now().Add(-time.Minute), Expires: 3600}))
	cfg := emu.AWSConfig("us-east-1")
	ar, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + evAccount + ":role/app"), RoleSessionName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	rcfg := cfg.Copy()
	rcfg.Credentials = credentials.NewStaticCredentialsProvider(*ar.Credentials.AccessKeyId, *ar.Credentials.SecretAccessKey, *ar.Credentials.SessionToken)
	for range 2 {
		if _, err := bedrock.NewFromConfig(rcfg).ListFoundationModels(ctx, &bedrock.ListFoundationModelsInput{}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := cloudtrail.NewFromConfig(cfg).LookupEvents(ctx, &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String("bedrock.amazonaws.com")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 4 {
		t.Fatalf("%d Bedrock events in the emulator's CloudTrail, want 4", len(out.Events))
	}
	ts := startEventsServer(t, "")
	for i, e := range out.Events {
		body := envelope(fmt.Sprintf("bc-%d", i), "aws.bedrock", json.RawMessage(aws.ToString(e.CloudTrailEvent)))
		for range 2 { // EventBridge delivers at least once
			if code, msg := ts.postEvent(t, DefaultEventsHeader, evSecret, body); code != http.StatusOK {
				t.Fatalf("Bedrock event: %d %s", code, msg)
			}
		}
	}
	mfs, _ := ts.scrape(t)
	if v := value(mfs, "bks_kpi_role_call_share", "account="+evAccount); v != 0.5 {
		t.Errorf("role share %v, want 0.5 (2 role calls, 2 API-key calls)", v)
	}
	if v := value(mfs, "bks_kpi_bedrock_calls", "account="+evAccount, "caller=api_key"); v != 2 {
		t.Errorf("API-key calls %v, want 2", v)
	}
	rep, err := ts.st.KPIs(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Accounts[0].Calls; c.LongTermKey != 1 || c.ShortTermKey != 1 || c.Role != 2 {
		t.Errorf("calls %+v, want 1 long-term, 1 short-term, 2 role", c)
	}
}

// The IAM key events the emulator records in CloudTrail (as AWS records
// them: the new key in CreateServiceSpecificCredential's
// responseElements), posted as EventBridge would post them, newest first
// and each twice, leave the inventory where an IAM scan finds the
// account: the service and bks kpis count the same live keys, and no
// secret reaches the database.
func TestAWSEventsFromEmulatorTrail(t *testing.T) {
	emu, err := awsemu.New(&awsemu.Seed{Accounts: []*awsemu.Account{{ID: evAccount,
		Users: []*awsemu.User{{Name: "BedrockAPIKey-tr01"}, {Name: "dev"}},
	}}}, awsemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	emu.RecordKeyEvents(true)
	ctx := context.Background()
	cfg := emu.AWSConfig("us-east-1")
	ic := iam.NewFromConfig(cfg)
	user := aws.String("BedrockAPIKey-tr01")
	newCred := func() *iamtypes.ServiceSpecificCredential {
		out, err := ic.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{UserName: user, ServiceName: aws.String("bedrock.amazonaws.com"), CredentialAgeDays: aws.Int32(30)})
		if err != nil {
			t.Fatal(err)
		}
		return out.ServiceSpecificCredential
	}
	c1, c2 := newCred(), newCred()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ic.UpdateServiceSpecificCredential(ctx, &iam.UpdateServiceSpecificCredentialInput{UserName: user, ServiceSpecificCredentialId: c2.ServiceSpecificCredentialId, Status: iamtypes.StatusTypeInactive}))
	must(ic.DeleteServiceSpecificCredential(ctx, &iam.DeleteServiceSpecificCredentialInput{UserName: user, ServiceSpecificCredentialId: c1.ServiceSpecificCredentialId}))
	c3 := newCred()
	ak, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user})
	if err != nil {
		t.Fatal(err)
	}
	must(ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("dev")}))
	ak2, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user})
	if err != nil {
		t.Fatal(err)
	}
	must(ic.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: user, AccessKeyId: ak2.AccessKey.AccessKeyId}))

	out, err := cloudtrail.NewFromConfig(cfg).LookupEvents(ctx, &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String("iam.amazonaws.com")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 9 {
		t.Fatalf("%d IAM key events in the emulator's CloudTrail, want 9", len(out.Events))
	}
	secrets := []string{aws.ToString(c1.ServiceCredentialSecret), aws.ToString(c3.ServiceCredentialSecret), aws.ToString(ak.AccessKey.SecretAccessKey)}
	carried := false
	for _, e := range out.Events {
		carried = carried || strings.Contains(aws.ToString(e.CloudTrailEvent), secrets[0])
	}
	if !carried {
		t.Fatal("the emulator's CreateServiceSpecificCredential record does not carry the key: the test would prove nothing")
	}
	ts := startEventsServer(t, "")
	// LookupEvents answers newest first: oldest first, then again newest
	// first (redeliveries). CloudTrail times are to the second, and these
	// calls were made within one.
	n := len(out.Events)
	for k := range 2 * n {
		i := n - 1 - k
		if k >= n {
			i = k - n
		}
		e := out.Events[i]
		body := envelope(fmt.Sprintf("iam-%d", i), "aws.iam", json.RawMessage(aws.ToString(e.CloudTrailEvent)))
		if code, msg := ts.postEvent(t, DefaultEventsHeader, evSecret, body); code != http.StatusOK && code != http.StatusNoContent {
			t.Fatalf("%s: %d %s", aws.ToString(e.EventName), code, msg)
		}
	}
	scan, err := (&iamscan.Scanner{IAM: ic, Account: evAccount}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := kpi.LiveKeysOf(scan.Users, time.Now())
	if got := liveKeysAt(t, ts, time.Now()); got != want || want != 2 {
		t.Errorf("the inventory counts %d live keys, the IAM scan %d; want 2 (c3 and the phantom user's first access key)", got, want)
	}
	ts.stop()
	for _, f := range []string{ts.dbPath, ts.dbPath + "-wal"} {
		b, _ := os.ReadFile(f)
		for _, s := range secrets {
			if s != "" && bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a secret", filepath.Base(f))
			}
		}
	}
}

func liveKeysAt(t *testing.T, ts *testServer, now time.Time) int {
	t.Helper()
	rep, err := ts.st.KPIs(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rep.Accounts {
		if a.Account == evAccount {
			return a.LiveKeys
		}
	}
	return -1
}

// TestAWSEventsIAMUserNames: IAM allows +=,.@ in user names; the
// inventory keeps such a name as it is, and only text IAM refuses becomes
// "(malformed)". It failed before with `ACCAUSER0 stored as
// "(malformed)", want "alice@corp.example"`.
func TestAWSEventsIAMUserNames(t *testing.T) {
	ts := startEventsServer(t, "")
	for i, user := range []string{"alice@corp.example", "ci+bedrock=1,x_y-z", "bad\x1b[2Jname"} {
		body := envelope(fmt.Sprintf("ev-u%d", i), "aws.iam", createCredential(fmt.Sprintf("ACCAUSER%d", i), user, "2026-12-07T10:00:00Z", "", ""))
		if code, msg := ts.postEvent(t, DefaultEventsHeader, evSecret, body); code != http.StatusOK {
			t.Fatalf("%q: %d %s", user, code, msg)
		}
	}
	keys, err := ts.st.LiveKeyList(context.Background(), time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC), 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, k := range keys {
		got[k.CredentialID] = k.User
	}
	for id, want := range map[string]string{"ACCAUSER0": "alice@corp.example", "ACCAUSER1": "ci+bedrock=1,x_y-z", "ACCAUSER2": "(malformed)"} {
		if got[id] != want {
			t.Errorf("%s stored as %q, want %q", id, got[id], want)
		}
	}
}

// bedrockCallRecord is the CloudTrail record of a Bedrock runtime call:
// with an API key (callWithBearerToken in additionalEventData, the
// phantom user as identity) or SigV4-signed by a role session.
func bedrockCallRecord(at time.Time, apiKey bool) map[string]any {
	r := map[string]any{
		"eventVersion": "1.09", "eventTime": at.UTC().Format(time.RFC3339), "eventSource": "bedrock.amazonaws.com",
		"eventName": "InvokeModel", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.20",
		"eventID": "ct-call-" + at.Format(time.RFC3339Nano), "readOnly": true, "eventType": "AwsApiCall",
		"managementEvent": true, "recipientAccountId": evAccount, "eventCategory": "Management",
		"userIdentity": map[string]any{"type": "AssumedRole", "accountId": evAccount,
			"arn": "arn:aws:sts::" + evAccount + ":assumed-role/app/session"},
	}
	if apiKey {
		r["userIdentity"] = map[string]any{"type": "IAMUser", "userName": "BedrockAPIKey-tr01", "accountId": evAccount,
			"arn": "arn:aws:iam::" + evAccount + ":user/BedrockAPIKey-tr01"}
		r["additionalEventData"] = map[string]any{"callWithBearerToken": true}
	}
	return r
}

// TestDashboardKPITrends: the live keys and the role share of an account
// have a weekly trend like mean time to remediate (trendWeeks points,
// oldest first), from the events EventBridge posted over eight weeks: a
// key created, deactivated, another created and deleted; the calls of two
// weeks. Before any event of the account, a week has no point.
func TestDashboardKPITrends(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	ts := startServer(t, "", Config{Process: blocked, EventsSecret: []byte(evSecret),
		Dashboard: DashboardConfig{Now: func() time.Time { return now }}})
	ago := func(weeks float64) time.Time { return now.Add(-time.Duration(weeks * float64(week))) }
	stamp := func(at time.Time) string { return at.Format(time.RFC3339) }
	n := 0
	post := func(detail map[string]any) {
		t.Helper()
		n++
		if code, msg := ts.postEvent(t, DefaultEventsHeader, evSecret, envelope(fmt.Sprintf("tr-%d", n), "aws.iam", detail)); code != http.StatusOK {
			t.Fatalf("event %d: %d %s", n, code, msg)
		}
	}
	update := func(id, status string, at time.Time) map[string]any {
		return iamRecord("UpdateServiceSpecificCredential", stamp(at),
			map[string]any{"userName": "BedrockAPIKey-tr01", "serviceSpecificCredentialId": id, "status": status}, nil)
	}
	post(createCredential("ACCATR01", "BedrockAPIKey-tr01", stamp(ago(6.5)), "", ""))
	post(update("ACCATR01", "Inactive", ago(3.5)))
	post(createCredential("ACCATR02", "BedrockAPIKey-tr02", stamp(ago(2.5)), "", ""))
	post(iamRecord("DeleteServiceSpecificCredential", stamp(ago(0.5)),
		map[string]any{"userName": "BedrockAPIKey-tr02", "serviceSpecificCredentialId": "ACCATR02"}, nil))
	// Two weeks ago: 1 role call, 3 with a key; last week 3 and 1.
	for i, apiKey := range []bool{false, true, true, true} {
		post(bedrockCallRecord(ago(2.5).Add(time.Duration(i)*time.Minute), apiKey))
	}
	for i, apiKey := range []bool{true, false, false, false} {
		post(bedrockCallRecord(ago(0.5).Add(time.Duration(i)*time.Minute), apiKey))
	}

	snap, err := storeKPIs{ts.st}.DashboardKPIs(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	values := func(ps []Point) []float64 {
		var v []float64
		for i, p := range ps {
			if want := weekBounds(now)[i+1]; !p.At.Equal(want) {
				t.Errorf("point %d at %s, want the end of its week %s", i, p.At, want)
			}
			v = append(v, p.Value)
		}
		return v
	}
	if len(snap.ActiveKeys) != 1 || snap.ActiveKeys[0].Now != 0 {
		t.Fatalf("active keys %+v, want one account with 0", snap.ActiveKeys)
	}
	if got, want := values(snap.ActiveKeys[0].Trend), []float64{-1, 1, 1, 1, 0, 1, 1, 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("live keys by week %v, want %v", got, want)
	}
	if len(snap.RoleShare) != 1 || snap.RoleShare[0].Now != 0.5 {
		t.Fatalf("role share %+v, want one account with 50%% over 30 days", snap.RoleShare)
	}
	if got, want := values(snap.RoleShare[0].Trend), []float64{-1, -1, -1, -1, -1, 0.25, -1, 0.75}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("role share by week %v, want %v", got, want)
	}
	_, page := getPage(t, ts.url+"/dashboard", "")
	for _, want := range []string{"down, from 1 to 0", "up, from 25% to 75%"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks the trend %q", want)
		}
	}
	// The role share's value covers 30 days and its trend single weeks:
	// "50 %" next to "from 25% to 75%" only reads right when the page says so.
	card := page[strings.Index(page, `id="kpi-role-share"`):]
	card = card[:strings.Index(card, "</table>")]
	for _, want := range []string{"<th>Last 30 days</th>", "each week", ">50%<"} {
		if !strings.Contains(card, want) {
			t.Errorf("the role-share card lacks %q:\n%s", want, card)
		}
	}
	if strings.Count(page, "no data yet") != 0 {
		t.Error("a KPI of the page has no trend")
	}
}
