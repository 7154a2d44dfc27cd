package awsops

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/account"
	accounttypes "github.com/aws/aws-sdk-go-v2/service/account/types"
)

// AccountAPI is the part of the AWS Account Management client bks uses.
type AccountAPI interface {
	ListRegions(context.Context, *account.ListRegionsInput, ...func(*account.Options)) (*account.ListRegionsOutput, error)
}

var _ AccountAPI = (*account.Client)(nil)

// EnabledRegions lists the regions enabled in the caller's account, opt-in
// regions the account enabled included, with account:ListRegions
// (https://docs.aws.amazon.com/accounts/latest/reference/API_ListRegions.html).
// Callers fall back to the partition's default regions when it fails
// (often: not allowed).
func EnabledRegions(ctx context.Context, api AccountAPI) ([]string, error) {
	in := &account.ListRegionsInput{
		MaxResults:              aws.Int32(50),
		RegionOptStatusContains: []accounttypes.RegionOptStatus{accounttypes.RegionOptStatusEnabled, accounttypes.RegionOptStatusEnabledByDefault},
	}
	var out []string
	for range 100 {
		page, err := api.ListRegions(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Regions {
			if n := aws.ToString(r.RegionName); n != "" && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		if aws.ToString(page.NextToken) == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	slices.Sort(out)
	return out, nil
}

// RegionFirst returns regions with first at the front (added when
// missing): a short-term key's own region is searched first, and even when
// it is an opt-in region outside the list.
func RegionFirst(first string, regions []string) []string {
	if first == "" {
		return regions
	}
	out := []string{first}
	for _, r := range regions {
		if r != first {
			out = append(out, r)
		}
	}
	return out
}
