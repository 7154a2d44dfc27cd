package revoke

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/detectors"
)

// DefaultRegions are the regions searched when none are given: those
// enabled by default in each partition. Outside aws that is every region
// of the partition table (detectors/partition.go), its "-global"
// pseudo-regions left out; in aws, the opt-in regions are left out too.
func DefaultRegions(partition string) []string {
	if p, ok := detectors.LookupPartition(partition); ok && p.ID != detectors.DefaultPartition {
		var regions []string
		for _, r := range p.Regions {
			if !strings.HasSuffix(r, "-global") {
				regions = append(regions, r)
			}
		}
		return regions
	}
	return []string{
		"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
		"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
		"ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
		"ap-southeast-1", "ap-southeast-2", "sa-east-1",
	}
}

type issuer struct {
	kind string // role or user
	name string
	root bool
}

// findIssuer looks the key's access key id up in CloudTrail, the key's
// region first, then the others, and reads the session's issuer from the
// first event that names one.
func (r *Revoker) findIssuer(ctx context.Context, p *Plan) (issuer, error) {
	if r.CloudTrail == nil {
		return issuer{}, fmt.Errorf("revoke: no CloudTrail client to find the issuer of %s", p.Target.AccessKeyID)
	}
	regions := []string{}
	if p.Target.Region != "" {
		regions = append(regions, p.Target.Region)
	}
	rest := r.Regions
	if len(rest) == 0 {
		rest = DefaultRegions(p.Partition)
	}
	for _, reg := range rest {
		if !slices.Contains(regions, reg) {
			regions = append(regions, reg)
		}
	}
	var failures []string
	for _, reg := range regions {
		p.SearchedRegions = append(p.SearchedRegions, reg)
		is, ok, err := lookupIssuer(ctx, r.CloudTrail(reg), p.Target.AccessKeyID)
		if err != nil {
			if ctx.Err() != nil {
				return issuer{}, ctx.Err()
			}
			failures = append(failures, reg+": "+awsops.Describe("cloudtrail", "LookupEvents", err))
			continue
		}
		if ok {
			p.FoundInRegion = reg
			return is, nil
		}
	}
	msg := fmt.Sprintf("no CloudTrail event of %s in %s", p.Target.AccessKeyID, strings.Join(regions, ", "))
	if len(failures) > 0 {
		msg += "; lookups failed in " + strings.Join(failures, "; ")
	}
	msg += ". CloudTrail keeps 90 days of management events; if the session made none, name its issuer with --role or --user"
	return issuer{}, fmt.Errorf("revoke: %w: %s", ErrIssuerNotFound, msg)
}

func lookupIssuer(ctx context.Context, api CloudTrailAPI, akid string) (issuer, bool, error) {
	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyAccessKeyId, AttributeValue: aws.String(akid)}},
		MaxResults:       aws.Int32(10),
	}
	// A few pages at most: every event of the session names the same
	// issuer. At LookupEvents' quota (2 a second per region), a refusal
	// for it waited out.
	lim := awsops.NewLimiter(2, 1)
	for range 3 {
		var out *cloudtrail.LookupEventsOutput
		_, err := awsops.RetryThrottled(ctx, lim, func() (err error) {
			out, err = api.LookupEvents(ctx, in)
			return err
		})
		if err != nil {
			return issuer{}, false, err
		}
		for _, e := range out.Events {
			if is, ok := IssuerOf(aws.ToString(e.CloudTrailEvent)); ok {
				return is.internal(), true, nil
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	return issuer{}, false, nil
}

// Issuer is who issued the session behind an event.
type Issuer struct {
	Type string // Role, IAMUser, Root
	Name string
	ARN  string
}

func (i Issuer) internal() issuer {
	switch i.Type {
	case "Role":
		return issuer{kind: "role", name: i.Name}
	case "Root":
		return issuer{root: true}
	}
	return issuer{kind: "user", name: i.Name}
}

// IssuerOf reads the issuer of the session from a CloudTrail event
// document: userIdentity.sessionContext.sessionIssuer when present, else
// the identity's ARN (assumed-role/NAME/…, user/…).
func IssuerOf(doc string) (Issuer, bool) {
	var ev struct {
		UserIdentity struct {
			Type           string `json:"type"`
			ARN            string `json:"arn"`
			UserName       string `json:"userName"`
			SessionContext struct {
				SessionIssuer struct {
					Type     string `json:"type"`
					UserName string `json:"userName"`
					ARN      string `json:"arn"`
				} `json:"sessionIssuer"`
			} `json:"sessionContext"`
		} `json:"userIdentity"`
	}
	if err := json.Unmarshal([]byte(doc), &ev); err != nil {
		return Issuer{}, false
	}
	id := ev.UserIdentity
	if si := id.SessionContext.SessionIssuer; si.Type != "" && si.UserName != "" {
		return Issuer{Type: si.Type, Name: si.UserName, ARN: si.ARN}, true
	}
	switch id.Type {
	case "Root":
		return Issuer{Type: "Root", ARN: id.ARN}, true
	case "IAMUser":
		name := id.UserName
		if name == "" {
			name = lastSegment(id.ARN)
		}
		if name != "" {
			return Issuer{Type: "IAMUser", Name: name, ARN: id.ARN}, true
		}
	case "AssumedRole":
		if i := strings.Index(id.ARN, ":assumed-role/"); i >= 0 {
			name, _, _ := strings.Cut(id.ARN[i+len(":assumed-role/"):], "/")
			if name != "" {
				return Issuer{Type: "Role", Name: name, ARN: id.ARN}, true
			}
		}
	}
	return Issuer{}, false
}

func lastSegment(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return ""
}
