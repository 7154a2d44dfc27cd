package awsemu_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

// trailDoc is the part of a CloudTrail record the bearer-token fields
// live in.
type trailDoc struct {
	UserIdentity struct {
		Type string `json:"type"`
		ARN  string `json:"arn"`
	} `json:"userIdentity"`
	AdditionalEventData map[string]any `json:"additionalEventData"`
}

// Bedrock calls made with an API key carry
// additionalEventData.callWithBearerToken (and the key's type); calls
// signed with SigV4, here by a role session, carry neither
// (https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html,
// https://docs.aws.amazon.com/bedrock/latest/userguide/logging-cloudtrail-mantle.html).
// The emulator used to record every Bedrock call as a bearer call, with
// the identity type of a user even for a role session.
func TestTrailTellsBearerFromSigV4(t *testing.T) {
	akia := testkeys.AccessKeyID("AKIA", acct, 41)
	long := testkeys.LongTerm("BedrockAPIKey-tr01", acct, testkeys.Secret(41))
	s := start(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct,
		Users: []*awsemu.User{
			{Name: "BedrockAPIKey-tr01", ServiceCredentials: []*awsemu.ServiceCred{{Secret: long}}},
			{Name: "dev", AccessKeys: []*awsemu.AccessKey{{ID: akia}}},
		},
		Roles: []*awsemu.Role{{Name: "app"}},
	}}})
	s.RecordBearerCalls(true)
	cfg := s.AWSConfig("us-east-1")
	short := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: akia, SecretKey: "x", Region: "us-east-1", Issued: t0, Expires: 3600})
	if err := listWithToken(s, "us-east-1", long); err != nil {
		t.Fatalf("long-term key: %v", err)
	}
	if err := listWithToken(s, "us-east-1", short); err != nil {
		t.Fatalf("short-term key: %v", err)
	}
	rcfg := assume(t, cfg, "arn:aws:iam::"+acct+":role/app")
	if _, err := bedrock.NewFromConfig(rcfg).ListFoundationModels(context.Background(), &bedrock.ListFoundationModelsInput{}); err != nil {
		t.Fatalf("SigV4 as a role: %v", err)
	}

	out, err := cloudtrail.NewFromConfig(cfg).LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String("bedrock.amazonaws.com")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		bearer  any
		kind    any
		idType  string
		present bool
	}
	got := map[string]seen{} // by caller
	for _, e := range out.Events {
		var d trailDoc
		if err := json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &d); err != nil {
			t.Fatal(err)
		}
		_, present := d.AdditionalEventData["callWithBearerToken"]
		who := "user"
		switch d.UserIdentity.Type {
		case "AssumedRole":
			who = "role"
		case "IAMUser":
			if d.UserIdentity.ARN == "arn:aws:iam::"+acct+":user/dev" {
				who = "short"
			}
		}
		got[who] = seen{d.AdditionalEventData["callWithBearerToken"], d.AdditionalEventData["bearerTokenType"], d.UserIdentity.Type, present}
	}
	if len(out.Events) != 3 {
		t.Fatalf("%d Bedrock events, want 3: %v", len(out.Events), got)
	}
	if g := got["user"]; g.bearer != true || g.kind != "LONG_TERM" {
		t.Errorf("long-term key call: %+v, want callWithBearerToken true, LONG_TERM", g)
	}
	if g := got["short"]; g.bearer != true || g.kind != "SHORT_TERM" {
		t.Errorf("short-term key call: %+v, want callWithBearerToken true, SHORT_TERM", g)
	}
	if g, ok := got["role"]; !ok || g.present || g.kind != nil {
		t.Errorf("SigV4 call of a role session: %+v (found %v), want an AssumedRole event without callWithBearerToken", g, ok)
	}
}
