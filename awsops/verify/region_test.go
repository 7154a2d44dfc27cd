package verify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

// regionalChecker checks keys against the emulator answering as AWS's real
// regional Bedrock endpoints (no EndpointURL: the SDK resolves the host
// for each region, as on AWS).
func regionalChecker(t *testing.T, partition string, seed *awsemu.Seed, mod func(*Options)) *Checker {
	t.Helper()
	seed.Partition = partition
	srv, err := awsemu.New(seed, awsemu.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return mustChecker(t, Options{HTTPClient: srv.RegionalClient()}, mod)
}

// The emulator refuses a long-term key outside its partition and a
// short-term key outside its region, as AWS does; verify never calls a key
// dead there. A GovCloud key is rejected by the commercial probe and found
// live in GovCloud; a short-term key is asked only in its own region; a
// China key is live where its region is named. (Against the lenient
// emulator the commercial probe said live, so Region was us-east-1.)
func TestNeverDeadFromWrongRegionOrPartition(t *testing.T) {
	ctx := context.Background()
	gov := testkeys.LongTerm("BedrockAPIKey-gov1", account, testkeys.Secret(41))
	c := regionalChecker(t, "aws-us-gov", &awsemu.Seed{Accounts: []*awsemu.Account{{ID: account, Users: []*awsemu.User{
		{Name: "BedrockAPIKey-gov1", ServiceCredentials: []*awsemu.ServiceCred{{Secret: gov}}}}}}}, nil)
	if r := c.Check(ctx, gov); r.Status != Live || r.Region != "us-gov-west-1" {
		t.Errorf("GovCloud key: %+v, want live in us-gov-west-1", r)
	}

	akia := testkeys.AccessKeyID("AKIA", account, 42)
	short := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: akia, SecretKey: "x", Region: "ap-southeast-2", Issued: now.Add(-time.Minute), Expires: 900})
	c = regionalChecker(t, "aws", &awsemu.Seed{Accounts: []*awsemu.Account{{ID: account, Users: []*awsemu.User{
		{Name: "dev", AccessKeys: []*awsemu.AccessKey{{ID: akia}}}}}}}, func(o *Options) { o.LongTermRegion = "eu-west-1" })
	if r := c.Check(ctx, short); r.Status != Live || r.Region != "ap-southeast-2" {
		t.Errorf("short-term key: %+v, want live in its own region, whatever --region says", r)
	}

	cn := testkeys.LongTerm("BedrockAPIKey-cn01", account, testkeys.Secret(43))
	seed := func() *awsemu.Seed {
		return &awsemu.Seed{Accounts: []*awsemu.Account{{ID: account, Users: []*awsemu.User{
			{Name: "BedrockAPIKey-cn01", ServiceCredentials: []*awsemu.ServiceCred{{Secret: cn}}}}}}}
	}
	c = regionalChecker(t, "aws-cn", seed(), func(o *Options) { o.LongTermRegion = "cn-north-1" })
	if r := c.Check(ctx, cn); r.Status != Live {
		t.Errorf("China key with its region named: %+v", r)
	}
	// Without a region, every partition asked rejects it: the reason says
	// which were asked and that its region must be named.
	c = regionalChecker(t, "aws-cn", seed(), nil)
	if r := c.Check(ctx, cn); !strings.Contains(r.Reason, "rejected in aws (us-east-1), aws-us-gov (us-gov-west-1)") || !strings.Contains(r.Reason, "needs its region named") {
		t.Errorf("China key without a region: %+v", r)
	}
}
