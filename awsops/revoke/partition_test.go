package revoke

import (
	"slices"
	"testing"
)

// TestDefaultRegionsPerPartition: each partition searches its own regions,
// never the commercial ones (an aws-eusc key's issuer is not in us-east-1).
func TestDefaultRegionsPerPartition(t *testing.T) {
	for partition, want := range map[string][]string{
		"aws-us-gov": {"us-gov-east-1", "us-gov-west-1"},
		"aws-cn":     {"cn-north-1", "cn-northwest-1"},
		"aws-eusc":   {"eusc-de-east-1"},
		"aws-iso-e":  {"eu-isoe-west-1"},
	} {
		if got := DefaultRegions(partition); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
			t.Errorf("DefaultRegions(%s) = %v, want %v", partition, got, want)
		}
	}
	if got := DefaultRegions("aws"); !slices.Contains(got, "us-east-1") || slices.Contains(got, "me-south-1") {
		t.Errorf("DefaultRegions(aws) = %v: want the regions enabled by default", got)
	}
}
