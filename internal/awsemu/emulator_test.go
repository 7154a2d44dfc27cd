package awsemu_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/auth/bearer"

	"github.com/bks-dev/bks/internal/awsemu"
)

const acct = "111122223333"

func TestMain(m *testing.M) {
	awsemu.IsolateEnv()
	os.Exit(m.Run())
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func start(t *testing.T, seed *awsemu.Seed) *awsemu.Server {
	t.Helper()
	s, err := awsemu.New(seed, awsemu.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestIAMPagingAndState(t *testing.T) {
	var users []*awsemu.User
	for i := range 250 {
		u := &awsemu.User{Name: fmt.Sprintf("user-%04d", i)}
		if i%50 == 0 {
			u.ServiceCredentials = []*awsemu.ServiceCred{{}}
		}
		users = append(users, u)
	}
	s := start(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: users}}})
	ctx := context.Background()
	c := iam.NewFromConfig(s.AWSConfig("us-east-1"))

	p := iam.NewListUsersPaginator(c, &iam.ListUsersInput{})
	n, pages := 0, 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		n += len(out.Users)
	}
	if n != 250 || pages != 3 {
		t.Fatalf("ListUsers: %d users in %d pages, want 250 in 3", n, pages)
	}

	out, err := c.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{AllUsers: aws.Bool(true), MaxItems: aws.Int32(2), ServiceName: aws.String("bedrock.amazonaws.com")})
	if err != nil {
		t.Fatal(err)
	}
	if !out.IsTruncated || len(out.ServiceSpecificCredentials) != 2 || aws.ToString(out.Marker) == "" {
		t.Fatalf("first credential page: truncated=%v n=%d", out.IsTruncated, len(out.ServiceSpecificCredentials))
	}
	if id := aws.ToString(out.ServiceSpecificCredentials[0].ServiceSpecificCredentialId); !strings.HasPrefix(id, "ACCA") || len(id) != 21 {
		t.Fatalf("credential id %q", id)
	}

	// Dependents block DeleteUser until removed.
	name := "user-0000"
	if _, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: &name}); code(err) != "DeleteConflict" {
		t.Fatalf("DeleteUser with a credential: %v, want DeleteConflict", err)
	}
	id := out.ServiceSpecificCredentials[0].ServiceSpecificCredentialId
	if _, err := c.DeleteServiceSpecificCredential(ctx, &iam.DeleteServiceSpecificCredentialInput{UserName: &name, ServiceSpecificCredentialId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: &name}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(ctx, &iam.GetUserInput{UserName: &name}); code(err) != "NoSuchEntity" {
		t.Fatalf("GetUser after delete: %v", err)
	}
	if _, err := c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("user-0001")}); code(err) != "NoSuchEntity" {
		t.Fatalf("GetLoginProfile without one: %v", err)
	}

	// Inline policy round trip (URL-encoded document on the wire).
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["bedrock:*","bedrock-mantle:*"],"Resource":"*"}]}`
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("user-0001"), PolicyName: aws.String("deny"), PolicyDocument: &doc}); err != nil {
		t.Fatal(err)
	}
	gp, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("user-0001"), PolicyName: aws.String("deny")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(aws.ToString(gp.PolicyDocument), "bedrock-mantle") {
		t.Fatalf("policy document %q", aws.ToString(gp.PolicyDocument))
	}
	if got := s.WriteCalls(); len(got) != 4 {
		t.Fatalf("write calls = %d, want 4", len(got))
	}
}

func TestFaults(t *testing.T) {
	s := start(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: []*awsemu.User{{Name: "a"}, {Name: "b"}}}}})
	ctx := context.Background()
	c := iam.NewFromConfig(s.AWSConfig("us-east-1"))
	s.Inject(awsemu.Fault{Action: "ListAccessKeys", Kind: "throttle", Times: 3})
	if _, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("a")}); err != nil {
		t.Fatalf("after 3 throttles: %v", err)
	}
	if n := s.CountCalls("ListAccessKeys"); n != 4 {
		t.Fatalf("attempts = %d, want 4", n)
	}
	s.Inject(awsemu.Fault{Action: "ListAccessKeys", Kind: "denied", Params: map[string]string{"UserName": "b"}})
	if _, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("b")}); code(err) != "AccessDenied" {
		t.Fatalf("denied fault: %v", err)
	}
	if _, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("a")}); err != nil {
		t.Fatalf("other user: %v", err)
	}
	s.Inject(awsemu.Fault{Action: "GetUser", Kind: "5xx", Times: 2})
	if _, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("a")}); err != nil {
		t.Fatalf("5xx retried: %v", err)
	}

	// No SigV4 header: refused.
	resp, err := http.Post(s.URL, "application/x-www-form-urlencoded", strings.NewReader("Action=ListUsers&Version=2010-05-08"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("unsigned request: status %d", resp.StatusCode)
	}
}

func TestSTSOrganizationsCloudTrail(t *testing.T) {
	mgmt, member := "111111111111", "222222222222"
	var events []*awsemu.Event
	for i := range 120 {
		events = append(events, &awsemu.Event{Region: "eu-west-1", Time: t0.Add(-time.Duration(i) * time.Minute), Name: "InvokeModel", Source: "bedrock.amazonaws.com", Username: "BedrockAPIKey-ab12", AdditionalEventData: map[string]any{"callWithBearerToken": true}})
	}
	events = append(events, &awsemu.Event{Region: "us-east-1", Time: t0, Name: "CreateUser", Username: "admin", AccessKeyID: "ASIAEXAMPLE"})
	s := start(t, &awsemu.Seed{
		Accounts: []*awsemu.Account{{ID: mgmt}, {ID: member, Events: events}},
		Organization: &awsemu.Organization{ManagementAccount: mgmt, Accounts: []*awsemu.OrgAccountRef{
			{ID: mgmt}, {ID: member}, {ID: "333333333333", Status: "SUSPENDED"},
		}},
	})
	ctx := context.Background()
	cfg := s.AWSConfig("us-east-1")
	st := sts.NewFromConfig(cfg)
	id, err := st.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != mgmt {
		t.Fatalf("GetCallerIdentity: %v %v", id, err)
	}
	org := organizations.NewFromConfig(cfg)
	la, err := org.ListAccounts(ctx, &organizations.ListAccountsInput{})
	if err != nil || len(la.Accounts) != 3 {
		t.Fatalf("ListAccounts: %v %v", la, err)
	}
	ar, err := st.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + member + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("bks")})
	if err != nil {
		t.Fatal(err)
	}
	mcfg := cfg.Copy()
	mcfg.Credentials = aws.NewCredentialsCache(staticCreds(*ar.Credentials.AccessKeyId, *ar.Credentials.SecretAccessKey, *ar.Credentials.SessionToken))
	mid, err := sts.NewFromConfig(mcfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(mid.Account) != member || !strings.Contains(aws.ToString(mid.Arn), "assumed-role/OrganizationAccountAccessRole/bks") {
		t.Fatalf("assumed identity: %v %v", mid, err)
	}
	if _, err := st.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + member + ":role/Nope"), RoleSessionName: aws.String("bks")}); code(err) != "AccessDenied" {
		t.Fatalf("AssumeRole on a missing role: %v", err)
	}

	// CloudTrail: per region, 50 a page, newest first.
	ecfg := mcfg.Copy()
	ecfg.Region = "eu-west-1"
	ct := cloudtrail.NewFromConfig(ecfg)
	pg := cloudtrail.NewLookupEventsPaginator(ct, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyUsername, AttributeValue: aws.String("BedrockAPIKey-ab12")}}})
	var got []cttypes.Event
	pages := 0
	for pg.HasMorePages() {
		if pages > 0 {
			time.Sleep(500 * time.Millisecond) // LookupEvents' quota: 2 a second
		}
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, out.Events...)
	}
	if len(got) != 120 || pages != 3 {
		t.Fatalf("LookupEvents: %d events in %d pages", len(got), pages)
	}
	if !got[0].EventTime.Equal(t0) || !got[1].EventTime.Before(*got[0].EventTime) {
		t.Fatalf("order: %v then %v", got[0].EventTime, got[1].EventTime)
	}
	if !strings.Contains(aws.ToString(got[0].CloudTrailEvent), `"callWithBearerToken":true`) {
		t.Fatalf("CloudTrailEvent %s", aws.ToString(got[0].CloudTrailEvent))
	}
	ucfg := mcfg.Copy()
	ucfg.Region = "us-east-1"
	out, err := cloudtrail.NewFromConfig(ucfg).LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyAccessKeyId, AttributeValue: aws.String("ASIAEXAMPLE")}}})
	if err != nil || len(out.Events) != 1 {
		t.Fatalf("LookupEvents by AccessKeyId in us-east-1: %v %v", out, err)
	}
}

func TestBedrockBearer(t *testing.T) {
	s := start(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: []*awsemu.User{{Name: "BedrockAPIKey-ab12", ServiceCredentials: []*awsemu.ServiceCred{{}}}}}}})
	ctx := context.Background()
	c := iam.NewFromConfig(s.AWSConfig("us-east-1"))
	// A fresh key, as the console would make it.
	cr, err := c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{UserName: aws.String("BedrockAPIKey-ab12"), ServiceName: aws.String("bedrock.amazonaws.com")})
	if err != nil {
		t.Fatal(err)
	}
	key := aws.ToString(cr.ServiceSpecificCredential.ServiceCredentialSecret)
	if !strings.HasPrefix(key, "ABSK") {
		t.Fatalf("secret %q", key[:4])
	}
	list := func(token string) error {
		b := bedrock.NewFromConfig(s.BedrockConfig("us-east-1"), func(o *bedrock.Options) {
			o.BearerAuthTokenProvider = bearer.StaticTokenProvider{Token: bearer.Token{Value: token}}
			o.AuthSchemePreference = []string{"httpBearerAuth"}
		})
		_, err := b.ListFoundationModels(ctx, &bedrock.ListFoundationModelsInput{})
		return err
	}
	if err := list(key); err != nil {
		t.Fatalf("live key refused: %v", err)
	}
	if err := list("ABSK" + strings.Repeat("A", 40)); code(err) != "AccessDeniedException" {
		t.Fatalf("unknown key: %v", err)
	}
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"bedrock:*","Resource":"*"}}`
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("BedrockAPIKey-ab12"), PolicyName: aws.String("bks-revoke"), PolicyDocument: &doc}); err != nil {
		t.Fatal(err)
	}
	if err := list(key); code(err) != "AccessDeniedException" {
		t.Fatalf("denied key still works: %v", err)
	}
}
