package detectors

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestPartitionForRegion(t *testing.T) {
	tests := map[string]string{
		"us-east-1":         "aws",
		"eu-west-3":         "aws",
		"mx-central-1":      "aws",
		"aws-global":        "aws",
		"cn-north-1":        "aws-cn",
		"cn-northwest-1":    "aws-cn",
		"us-gov-west-1":     "aws-us-gov",
		"aws-us-gov-global": "aws-us-gov",
		"eusc-de-east-1":    "aws-eusc",
		"eusc-de-west-9":    "aws-eusc", // by regionRegex
		"us-iso-east-1":     "aws-iso",
		"us-isob-east-1":    "aws-iso-b",
		"eu-isoe-west-1":    "aws-iso-e",
		"us-isof-south-1":   "aws-iso-f",
		"xx-nowhere-1":      "aws", // unknown: the SDK's default
		"":                  "aws",
	}
	for region, want := range tests {
		if got := PartitionForRegion(region); got != want {
			t.Errorf("PartitionForRegion(%q) = %q, want %q", region, got, want)
		}
	}
	for region, want := range map[string]string{"us-east-1": "amazonaws.com", "cn-north-1": "amazonaws.com.cn", "eusc-de-east-1": "amazonaws.eu", "us-iso-east-1": "c2s.ic.gov"} {
		if got := DNSSuffix(region); got != want {
			t.Errorf("DNSSuffix(%q) = %q, want %q", region, got, want)
		}
	}
}

// sdkPartitionsFile is where the table in partition.go was copied from,
// relative to the module cache.
const sdkPartitionsFile = "github.com/aws/aws-sdk-go-v2@" + sdkVersion + "/internal/endpoints/awsrulesfn/partitions.json"

// TestPartitionsMatchSDK reads the SDK's partitions.json from the module
// cache, when it is there, and checks the table is a faithful copy.
func TestPartitionsMatchSDK(t *testing.T) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("no go command to find the module cache: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), filepath.FromSlash(sdkPartitionsFile))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("the SDK's partitions.json is not in the module cache (%v): run `go mod download github.com/aws/aws-sdk-go-v2` to check the table", err)
	}
	var doc struct {
		Partitions []struct {
			ID          string                     `json:"id"`
			RegionRegex string                     `json:"regionRegex"`
			Regions     map[string]json.RawMessage `json:"regions"`
			Outputs     struct {
				DNSSuffix            string `json:"dnsSuffix"`
				DualStackDNSSuffix   string `json:"dualStackDnsSuffix"`
				ImplicitGlobalRegion string `json:"implicitGlobalRegion"`
			} `json:"outputs"`
		} `json:"partitions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(doc.Partitions) != len(partitions) {
		t.Errorf("%d partitions in the SDK, %d in the table", len(doc.Partitions), len(partitions))
	}
	for i, p := range doc.Partitions {
		if i >= len(partitions) {
			t.Errorf("partition %s missing from the table", p.ID)
			continue
		}
		got := partitions[i]
		var regions []string
		for r := range p.Regions {
			regions = append(regions, r)
		}
		slices.Sort(regions)
		mine := slices.Sorted(slices.Values(got.Regions))
		if got.ID != p.ID || got.RegionRegex != p.RegionRegex || got.DNSSuffix != p.Outputs.DNSSuffix ||
			got.DualStackDNSSuffix != p.Outputs.DualStackDNSSuffix || got.ImplicitGlobalRegion != p.Outputs.ImplicitGlobalRegion ||
			!slices.Equal(mine, regions) {
			t.Errorf("partition %d: table %+v, SDK %s %s %+v %v", i, got, p.ID, p.RegionRegex, p.Outputs, regions)
		}
		if _, err := regexp.Compile(p.RegionRegex); err != nil {
			t.Errorf("%s: %v", p.ID, err)
		}
	}
}
