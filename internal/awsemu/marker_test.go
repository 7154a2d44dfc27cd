package awsemu_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/bks-dev/bks/internal/awsemu"
)

// A paging token belongs to the request it continues and expires:
// CloudTrail documents InvalidNextTokenException for a token "used with
// different parameters"
// (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html);
// IAM answers a Marker of another list "Invalid Marker"
// (https://github.com/trek10inc/awsets/pull/21). Neither documents a
// lifetime; the emulator's is Seed.MarkerTTL (default 15 minutes). The
// lenient emulator took any token, at any time, as a position.
func TestPagingTokensBoundAndExpiring(t *testing.T) {
	clk := awsemu.NewClock(t0)
	var users []*awsemu.User
	var events []*awsemu.Event
	for i := range 5 {
		users = append(users, &awsemu.User{Name: "u" + string(rune('a'+i)), AccessKeys: []*awsemu.AccessKey{{}, {}, {}}})
		events = append(events, &awsemu.Event{Region: "us-east-1", Time: t0.Add(-time.Duration(i) * time.Minute), Name: "E", Username: "u"}, &awsemu.Event{Region: "us-east-1", Time: t0.Add(-time.Duration(i) * time.Minute), Name: "E", Source: "x"})
	}
	s, err := awsemu.New(&awsemu.Seed{PageSize: 2, Accounts: []*awsemu.Account{{ID: acct, Users: users, Events: events}}}, awsemu.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx := context.Background()
	c := iam.NewFromConfig(s.AWSConfig("us-east-1"))
	lu, err := c.ListUsers(ctx, &iam.ListUsersInput{})
	if err != nil || !lu.IsTruncated {
		t.Fatalf("ListUsers: %v", err)
	}
	// Another operation, or the same with other parameters: refused.
	if _, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("ua"), Marker: lu.Marker}); code(err) != "ValidationError" {
		t.Errorf("a ListUsers marker on ListAccessKeys: %v, want ValidationError", err)
	}
	if _, err := c.ListUsers(ctx, &iam.ListUsersInput{PathPrefix: aws.String("/x/"), Marker: lu.Marker}); code(err) != "ValidationError" {
		t.Errorf("a marker with another PathPrefix: %v, want ValidationError", err)
	}
	if _, err := c.ListUsers(ctx, &iam.ListUsersInput{Marker: lu.Marker}); err != nil {
		t.Errorf("the marker on its own request: %v", err)
	}
	ct := cloudtrail.NewFromConfig(s.AWSConfig("us-east-1"))
	by := func(k cttypes.LookupAttributeKey, v string) *cloudtrail.LookupEventsInput {
		return &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(2), LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: k, AttributeValue: aws.String(v)}}}
	}
	le, err := ct.LookupEvents(ctx, by(cttypes.LookupAttributeKeyUsername, "u"))
	if err != nil || le.NextToken == nil {
		t.Fatalf("LookupEvents: %v", err)
	}
	in := by(cttypes.LookupAttributeKeyEventSource, "x")
	in.NextToken = le.NextToken
	time.Sleep(time.Second) // LookupEvents' quota
	if _, err := ct.LookupEvents(ctx, in); code(err) != "InvalidNextTokenException" {
		t.Errorf("a NextToken with other attributes: %v, want InvalidNextTokenException", err)
	}
	// Expired.
	clk.Advance(16 * time.Minute)
	if _, err := c.ListUsers(ctx, &iam.ListUsersInput{Marker: lu.Marker}); code(err) != "ValidationError" {
		t.Errorf("a marker 16 minutes old: %v, want ValidationError", err)
	}
	in = by(cttypes.LookupAttributeKeyUsername, "u")
	in.NextToken = le.NextToken
	time.Sleep(time.Second)
	if _, err := ct.LookupEvents(ctx, in); code(err) != "InvalidNextTokenException" {
		t.Errorf("a NextToken 16 minutes old: %v, want InvalidNextTokenException", err)
	}
}
