package awsemu_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/bks-dev/bks/internal/awsemu"
)

// TagUser and ListUserTags as AWS documents them: an existing key is
// overwritten, the list is sorted by key and paginated, one bad tag or
// more than 50 tags on the user fails the whole request.
func TestUserTags(t *testing.T) {
	s := start(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Users: []*awsemu.User{{Name: "alice", Tags: map[string]string{"team": "ml"}}}}}})
	ctx := context.Background()
	c := iam.NewFromConfig(s.AWSConfig("us-east-1"))
	tag := func(kv ...string) error {
		var tags []iamtypes.Tag
		for i := 0; i < len(kv); i += 2 {
			tags = append(tags, iamtypes.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		_, err := c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("alice"), Tags: tags})
		return err
	}
	list := func(max int32) (string, bool) {
		in := &iam.ListUserTagsInput{UserName: aws.String("alice")}
		if max > 0 {
			in.MaxItems = aws.Int32(max)
		}
		out, err := c.ListUserTags(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var kv []string
		for _, tg := range out.Tags {
			kv = append(kv, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
		}
		return strings.Join(kv, " "), out.IsTruncated
	}
	if err := tag("team", "security", "bks:leaked", "0123"); err != nil {
		t.Fatal(err)
	}
	if got, _ := list(0); got != "bks:leaked=0123 team=security" {
		t.Errorf("tags %q", got)
	}
	if got, more := list(1); got != "bks:leaked=0123" || !more {
		t.Errorf("first page %q truncated=%v", got, more)
	}
	var many []string
	for i := range 49 {
		many = append(many, fmt.Sprintf("k%02d", i), "v")
	}
	if err := tag(many...); code(err) != "LimitExceeded" {
		t.Errorf("51 tags: %v", err)
	}
	if err := tag("ok", "v", strings.Repeat("k", 129), "v"); code(err) != "ValidationError" { // a length constraint, as IAM checks them
		t.Errorf("a 129-character key: %v", err)
	}
	if err := tag("ok", "v", "bad*key", "v"); code(err) != "ValidationError" { // API_Tag's key pattern has no '*'
		t.Errorf("a key outside the pattern: %v", err)
	}
	if err := tag("ok", "v", "k", "a\tb"); code(err) != "ValidationError" {
		t.Errorf("a value outside the pattern: %v", err)
	}
	if err := tag("AWS:owner", "me"); code(err) != "InvalidInput" { // the aws: prefix is reserved, in any case
		t.Errorf("a reserved aws: key: %v", err)
	}
	if got, _ := list(0); got != "bks:leaked=0123 team=security" {
		t.Errorf("a failed TagUser changed the tags: %q", got)
	}
	if _, err := c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("bob"), Tags: []iamtypes.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}); code(err) != "NoSuchEntity" {
		t.Errorf("no such user: %v", err)
	}
}
