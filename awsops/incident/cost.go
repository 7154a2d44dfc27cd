package incident

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/costexplorer"
	cetypes "github.com/aws/aws-sdk-go-v2/service/costexplorer/types"

	"github.com/bks-dev/bks/awsops"
)

// Bedrock model spend is billed under more than one Cost Explorer SERVICE:
// Amazon's own models under "Amazon Bedrock", third-party models (Anthropic
// and others) through AWS Marketplace under "<model> (Amazon Bedrock
// Edition)", e.g. "Claude 3.5 Sonnet (Amazon Bedrock Edition)". Filtering
// on "Amazon Bedrock" alone shows an LLMjacking incident on Claude as
// near-zero cost.
const (
	bedrockService       = "Amazon Bedrock"
	marketplaceSuffix    = "(Amazon Bedrock Edition)"
	bedrockServiceSearch = "Bedrock" // GetDimensionValues SearchString
	costMetric           = "UnblendedCost"
	costScope            = "account-wide cost of Amazon Bedrock and of the Marketplace models billed as \"<model> " + marketplaceSuffix + "\", per day and service: Cost Explorer does not split it by key or user"
)

// IsBedrockService reports whether a Cost Explorer SERVICE value carries
// Bedrock model spend.
func IsBedrockService(s string) bool {
	return s == bedrockService || strings.HasSuffix(s, marketplaceSuffix)
}

// bedrockCost reads the daily cost of every service carrying Bedrock model
// spend from now-days to the end of today. It first lists the SERVICE
// values with usage in the window that name Bedrock (GetDimensionValues,
// https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetDimensionValues.html),
// then asks GetCostAndUsage for those, grouped by SERVICE per day
// (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetCostAndUsage.html).
// When ce:GetDimensionValues is denied it groups every service by SERVICE
// and keeps the Bedrock ones itself, so ce:GetCostAndUsage alone suffices.
func bedrockCost(ctx context.Context, api CostAPI, now time.Time, days int) ([]DailyCost, error) {
	period := &cetypes.DateInterval{
		Start: aws.String(now.AddDate(0, 0, -days).Format("2006-01-02")),
		End:   aws.String(now.AddDate(0, 0, 1).Format("2006-01-02")),
	}
	in := &costexplorer.GetCostAndUsageInput{
		TimePeriod:  period,
		Granularity: cetypes.GranularityDaily,
		Metrics:     []string{costMetric},
		GroupBy:     []cetypes.GroupDefinition{{Type: cetypes.GroupDefinitionTypeDimension, Key: aws.String(string(cetypes.DimensionService))}},
	}
	services, err := bedrockServices(ctx, api, period)
	switch {
	case err != nil && !awsops.IsAccessDenied(err):
		return nil, fmt.Errorf("list Bedrock billing services: %w", err)
	case err == nil && len(services) == 0:
		return nil, nil // no Bedrock usage in the window
	case err == nil:
		in.Filter = &cetypes.Expression{Dimensions: &cetypes.DimensionValues{
			Key: cetypes.DimensionService, Values: services,
		}}
	}
	var out []DailyCost
	for range 1000 {
		page, err := api.GetCostAndUsage(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, r := range page.ResultsByTime {
			out = append(out, dailyCosts(r)...)
		}
		if aws.ToString(page.NextPageToken) == "" {
			break
		}
		in.NextPageToken = page.NextPageToken
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Date != out[j].Date {
			return out[i].Date < out[j].Date
		}
		return out[i].Service < out[j].Service
	})
	return out, nil
}

// dailyCosts is one day's Bedrock groups of a GetCostAndUsage answer.
func dailyCosts(r cetypes.ResultByTime) []DailyCost {
	var date string
	if r.TimePeriod != nil {
		date = aws.ToString(r.TimePeriod.Start)
	}
	var out []DailyCost
	for _, g := range r.Groups {
		if len(g.Keys) == 0 || !IsBedrockService(g.Keys[0]) {
			continue
		}
		m := g.Metrics[costMetric]
		out = append(out, DailyCost{Date: date, Service: g.Keys[0], Amount: aws.ToString(m.Amount), Unit: aws.ToString(m.Unit)})
	}
	return out
}

// bedrockServices lists the SERVICE values with cost in period that carry
// Bedrock model spend.
func bedrockServices(ctx context.Context, api CostAPI, period *cetypes.DateInterval) ([]string, error) {
	in := &costexplorer.GetDimensionValuesInput{
		TimePeriod:   period,
		Dimension:    cetypes.DimensionService,
		Context:      cetypes.ContextCostAndUsage,
		SearchString: aws.String(bedrockServiceSearch),
	}
	var out []string
	for range 1000 {
		page, err := api.GetDimensionValues(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, v := range page.DimensionValues {
			if s := aws.ToString(v.Value); IsBedrockService(s) {
				out = append(out, s)
			}
		}
		if aws.ToString(page.NextPageToken) == "" {
			break
		}
		in.NextPageToken = page.NextPageToken
	}
	sort.Strings(out)
	return out, nil
}
