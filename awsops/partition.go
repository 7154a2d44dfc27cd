package awsops

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/bks-dev/bks/detectors"
)

// partitionProbes are the regions where bks asks STS whether credentials
// the commercial partition refused belong to another partition: IAM
// credentials work only in their own partition, and with no region
// configured the SDK and bks use us-east-1 (aws).
var partitionProbes = []string{"us-gov-west-1", "cn-north-1"}

// RefusedCredentials reports the STS error codes that mean "these
// credentials are not valid here".
func RefusedCredentials(err error) bool {
	switch ErrorCode(err) {
	case "InvalidClientTokenId", "ExpiredToken", "SignatureDoesNotMatch":
		return true
	}
	return false
}

// FindPartition asks STS in each other partition whether it accepts the
// credentials of cfg, which cfg's region (of the aws partition) refused,
// and returns the region that did and the identity. ok is false when none
// does (they are then simply invalid or expired).
func FindPartition(ctx context.Context, cfg aws.Config) (region string, id Identity, ok bool) {
	if detectors.PartitionForRegion(cfg.Region) != detectors.DefaultPartition {
		return "", Identity{}, false
	}
	for _, r := range partitionProbes {
		c := cfg.Copy()
		c.Region = r
		id, err := WhoAmI(ctx, sts.NewFromConfig(c))
		if err == nil {
			return r, id, true
		}
		if ctx.Err() != nil {
			return "", Identity{}, false
		}
	}
	return "", Identity{}, false
}
