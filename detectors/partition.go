package detectors

import (
	"regexp"
	"slices"
	"sync"
)

// Partition is an AWS partition: the regions it holds and the DNS suffix
// of its endpoints. Everything in bks that maps a region to a partition,
// or a partition to its endpoints, reads the partitions table.
type Partition struct {
	ID string
	// RegionRegex matches the partition's region names, Regions lists
	// those the SDK names explicitly (with its "-global" pseudo-regions).
	RegionRegex          string
	Regions              []string
	DNSSuffix            string // e.g. amazonaws.com: bedrock.<region>.<suffix>
	DualStackDNSSuffix   string
	ImplicitGlobalRegion string // where the partition's global services live
}

// sdkVersion is the AWS SDK for Go v2 release the table is copied from.
const sdkVersion = "v1.47.7"

// partitions is copied from the AWS SDK for Go v2 (github.com/aws/aws-sdk-go-v2
// v1.47.7), internal/endpoints/awsrulesfn/partitions.json: each partition's
// id, regionRegex, regions and outputs.dnsSuffix, dualStackDnsSuffix and
// implicitGlobalRegion, in the file's order. TestPartitionsMatchSDK checks
// the copy against the module cache; update both with the SDK.
var partitions = []Partition{
	{ID: "aws", RegionRegex: `^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$`, DNSSuffix: "amazonaws.com", DualStackDNSSuffix: "api.aws", ImplicitGlobalRegion: "us-east-1",
		Regions: []string{"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "aws-global", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2"}},
	{ID: "aws-cn", RegionRegex: `^cn\-\w+\-\d+$`, DNSSuffix: "amazonaws.com.cn", DualStackDNSSuffix: "api.amazonwebservices.com.cn", ImplicitGlobalRegion: "cn-northwest-1",
		Regions: []string{"aws-cn-global", "cn-north-1", "cn-northwest-1"}},
	{ID: "aws-eusc", RegionRegex: `^eusc\-(de)\-\w+\-\d+$`, DNSSuffix: "amazonaws.eu", DualStackDNSSuffix: "api.amazonwebservices.eu", ImplicitGlobalRegion: "eusc-de-east-1",
		Regions: []string{"eusc-de-east-1"}},
	{ID: "aws-iso", RegionRegex: `^us\-iso\-\w+\-\d+$`, DNSSuffix: "c2s.ic.gov", DualStackDNSSuffix: "api.aws.ic.gov", ImplicitGlobalRegion: "us-iso-east-1",
		Regions: []string{"aws-iso-global", "us-iso-east-1", "us-iso-west-1"}},
	{ID: "aws-iso-b", RegionRegex: `^us\-isob\-\w+\-\d+$`, DNSSuffix: "sc2s.sgov.gov", DualStackDNSSuffix: "api.aws.scloud", ImplicitGlobalRegion: "us-isob-east-1",
		Regions: []string{"aws-iso-b-global", "us-isob-east-1", "us-isob-west-1"}},
	{ID: "aws-iso-e", RegionRegex: `^eu\-isoe\-\w+\-\d+$`, DNSSuffix: "cloud.adc-e.uk", DualStackDNSSuffix: "api.cloud-aws.adc-e.uk", ImplicitGlobalRegion: "eu-isoe-west-1",
		Regions: []string{"aws-iso-e-global", "eu-isoe-west-1"}},
	{ID: "aws-iso-f", RegionRegex: `^us\-isof\-\w+\-\d+$`, DNSSuffix: "csp.hci.ic.gov", DualStackDNSSuffix: "api.aws.hci.ic.gov", ImplicitGlobalRegion: "us-isof-south-1",
		Regions: []string{"aws-iso-f-global", "us-isof-east-1", "us-isof-south-1"}},
	{ID: "aws-us-gov", RegionRegex: `^us\-gov\-\w+\-\d+$`, DNSSuffix: "amazonaws.com", DualStackDNSSuffix: "api.aws", ImplicitGlobalRegion: "us-gov-west-1",
		Regions: []string{"aws-us-gov-global", "us-gov-east-1", "us-gov-west-1"}},
}

// DefaultPartition is the partition of a region no partition claims, as
// in the SDK.
const DefaultPartition = "aws"

var partitionREs = sync.OnceValue(func() []*regexp.Regexp {
	res := make([]*regexp.Regexp, len(partitions))
	for i, p := range partitions {
		res[i] = regexp.MustCompile(p.RegionRegex)
	}
	return res
})

// partitionFor returns region's partition the way the SDK resolves it: a
// partition that lists the region, else the first whose regionRegex
// matches it, else DefaultPartition (and known false).
func partitionFor(region string) (p *Partition, known bool) {
	for i := range partitions {
		if slices.Contains(partitions[i].Regions, region) {
			return &partitions[i], true
		}
	}
	for i, re := range partitionREs() {
		if re.MatchString(region) {
			return &partitions[i], true
		}
	}
	for i := range partitions {
		if partitions[i].ID == DefaultPartition {
			return &partitions[i], false
		}
	}
	panic("detectors: no " + DefaultPartition + " partition in the table")
}

// PartitionForRegion returns the id of the AWS partition region belongs to.
func PartitionForRegion(region string) string {
	p, _ := partitionFor(region)
	return p.ID
}

// KnownRegion reports whether a partition claims region (lists it or
// matches it with its regionRegex).
func KnownRegion(region string) bool {
	_, known := partitionFor(region)
	return known
}

// DNSSuffix returns the DNS suffix of region's endpoints: amazonaws.com,
// amazonaws.com.cn, amazonaws.eu, …
func DNSSuffix(region string) string {
	p, _ := partitionFor(region)
	return p.DNSSuffix
}

// LookupPartition returns the partition with id.
func LookupPartition(id string) (Partition, bool) {
	for _, p := range partitions {
		if p.ID == id {
			return p, true
		}
	}
	return Partition{}, false
}

// Partitions returns the ids of every partition, in the table's order.
func Partitions() []string {
	ids := make([]string, len(partitions))
	for i, p := range partitions {
		ids[i] = p.ID
	}
	return ids
}
