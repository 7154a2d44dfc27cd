package awsemu_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/bks-dev/bks/internal/awsemu"
)

// LookupEvents is limited to two calls per second per account per region
// (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html):
// a burst beyond it is refused with ThrottlingException, and another
// region has its own quota. The lenient emulator answered every call.
func TestLookupEventsThrottled(t *testing.T) {
	s := start(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct}}})
	cfg := s.AWSConfig("us-east-1")
	cfg.Retryer = awsemu.NoBackoffRetryer(1) // see every refusal
	ctx := context.Background()
	lookup := func(region string) error {
		_, err := cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.Region = region }).LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
		return err
	}
	refused := 0
	for range 6 {
		if err := lookup("us-east-1"); err != nil {
			if code(err) != "ThrottlingException" {
				t.Fatalf("refusal %v, want ThrottlingException", err)
			}
			refused++
		}
	}
	if refused < 3 {
		t.Errorf("%d of 6 back-to-back calls refused, want at least 3 (2 per second)", refused)
	}
	if err := lookup("eu-west-1"); err != nil {
		t.Errorf("another region's quota: %v", err)
	}
	if n := s.CountCode("ThrottlingException"); n != refused {
		t.Errorf("call log counts %d refusals, want %d", n, refused)
	}
}
